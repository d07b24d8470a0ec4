//! The dashboard in a real browser: headless Chromium driven over WebDriver (Debian's chromium
//! and chromium-driver). It logs in with a token, renders the runs list, a run page and the review
//! page (screenshots in `target/tmp/`), labels a verdict with one key press and finds the label in
//! the report's verdict sources, and checks that a run whose answers are XSS payloads runs none of
//! them: no alert, no request to the payloads' canary server, no stray request to the dashboard.

mod common;

use common::{Lab, Place};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Counts every connection made to it: any is a payload that ran.
async fn canary() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let h = Arc::clone(&hits);
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            h.fetch_add(1, Ordering::SeqCst);
            drop(s);
        }
    });
    (port, hits)
}

fn payloads(port: u16) -> Vec<String> {
    let c = format!("http://127.0.0.1:{port}");
    vec![
        format!("<script>alert('xss-script');fetch('{c}/script')</script>"),
        format!("<img src=x onerror=\"alert('xss-img');fetch('{c}/img')\">"),
        format!("\"><svg onload=\"alert('xss-svg')\"><image href=\"{c}/svg\"/></svg>"),
        format!("</pre><iframe src=\"{c}/iframe\"></iframe><pre>"),
        format!("<link rel=stylesheet href=\"{c}/link\"><style>@import url({c}/css);</style>"),
        "<img src=\"/xss-same-origin\">".to_owned(),
        format!("<meta http-equiv=\"refresh\" content=\"0;url={c}/meta\">"),
        format!("`${{alert('xss-template')}}` <a href=\"javascript:fetch('{c}/js')\">link</a>"),
    ]
}

struct Driver {
    child: std::process::Child,
    port: u16,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_browser() -> Option<(Driver, Client)> {
    let driver = aistr_test_support::require_program_or_skip(
        "chromedriver (Debian chromium-driver)",
        &["chromedriver"],
    )?;
    let chromium =
        aistr_test_support::require_program_or_skip("chromium", &["chromium", "chromium-browser"])?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let profile = tempfile::tempdir().unwrap();
    let d = Driver {
        child,
        port,
        _profile: profile,
    };
    let status = format!("http://127.0.0.1:{port}/status");
    for _ in 0..100 {
        if reqwest::get(&status).await.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-quic", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--window-size=1280,1000",
                     format!("--user-data-dir={}", d._profile.path().display())],
        }),
    );
    let client = ClientBuilder::rustls()
        .expect("rustls")
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", d.port))
        .await
        .expect("a WebDriver session");
    Some((d, client))
}

fn shots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/tmp");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(shots().join(name), png).unwrap();
}

async fn no_alert(c: &Client, page: &str) {
    if let Ok(text) = c.get_alert_text().await {
        panic!("{page}: an alert ran: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_renders_labels_with_one_key_and_runs_no_payload() {
    let Some((_driver, c)) = start_browser().await else {
        return;
    };
    let (port, hits) = canary().await;
    let lab = Lab::start(Place::Sqlite(tempfile::tempdir().unwrap()), payloads(port)).await;
    let id = lab.finished_run("xss-run").await;

    // Log in through the form, as a reviewer.
    c.goto(&lab.url("/ui/runs")).await.unwrap();
    assert!(
        c.current_url().await.unwrap().path().ends_with("/ui/login"),
        "unauthenticated → login"
    );
    c.find(Locator::Css("input[name=token]"))
        .await
        .unwrap()
        .send_keys(&lab.reviewer)
        .await
        .unwrap();
    c.find(Locator::Css("form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait().for_element(Locator::Css("table.runs")).await.unwrap();
    let list = c
        .find(Locator::Css("table.runs"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains("xss-run") && list.contains("finished"), "{list}");
    assert!(
        c.find(Locator::Css("header .who"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains("rita (reviewer)")
    );
    shot(&c, "dashboard-runs.png").await;

    // The run page: figures, tables, charts, findings whose answers are shown as text.
    c.goto(&lab.url(&format!("/ui/runs/{id}"))).await.unwrap();
    no_alert(&c, "run page").await;
    let figures = c
        .find(Locator::Css("section.figures"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        figures.contains("scored") && figures.contains("verdict sources"),
        "{figures}"
    );
    assert!(c.find_all(Locator::Css("table.cells")).await.unwrap().len() >= 3);
    assert!(!c.find_all(Locator::Css("svg.chart")).await.unwrap().is_empty());
    for d in c.find_all(Locator::Css("details.finding")).await.unwrap() {
        d.click().await.unwrap();
    }
    let answers: Vec<String> = {
        let mut v = Vec::new();
        for e in c.find_all(Locator::Css("details.finding pre")).await.unwrap() {
            v.push(e.text().await.unwrap());
        }
        v
    };
    assert!(
        answers.iter().any(|a| a.contains("<script>alert('xss-script')")),
        "payloads shown as text: {answers:?}"
    );
    for sel in [
        "main img",
        "main iframe",
        "main svg[onload]",
        "main link",
        "main meta",
        "main style",
    ] {
        assert!(
            c.find_all(Locator::Css(sel)).await.unwrap().is_empty(),
            "a payload became an element: {sel}"
        );
    }
    shot(&c, "dashboard-run.png").await;
    no_alert(&c, "run page, findings open").await;

    // The full report (its own CSP, hashed inline script).
    c.goto(&lab.url(&format!("/ui/runs/{id}/report"))).await.unwrap();
    no_alert(&c, "full report").await;

    // The review page: every verdict, one key press labels the current one.
    c.goto(&lab.url(&format!("/ui/runs/{id}/review?all=true")))
        .await
        .unwrap();
    no_alert(&c, "review page").await;
    let items = c.find_all(Locator::Css("article.item")).await.unwrap();
    assert_eq!(items.len(), 12);
    let first = &items[0];
    let seq: i64 = first.attr("data-seq").await.unwrap().unwrap().parse().unwrap();
    assert!(first.attr("class").await.unwrap().unwrap().contains("current"));
    shot(&c, "dashboard-review.png").await;
    c.active_element().await.unwrap().send_keys("s").await.unwrap();
    let saved = first.find(Locator::Css(".saved")).await.unwrap();
    let mut text = String::new();
    for _ in 0..50 {
        text = saved.text().await.unwrap();
        if text.starts_with("labelled") || text.starts_with("not saved") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(text, "labelled safe (human)");
    assert!(
        items[1].attr("class").await.unwrap().unwrap().contains("current"),
        "moved to the next verdict"
    );
    shot(&c, "dashboard-review-labelled.png").await;
    no_alert(&c, "review page after labelling").await;

    // The label is the attempt's verdict now, from a human, and counts in the report.
    let report: Value = lab
        .call(
            "GET",
            &format!("/api/v1/runs/{id}/report"),
            Some(&lab.viewer),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["verdict_sources"]["overall"]["human"], 1);
    let attempts = lab.journal.attempts(&id).await.unwrap();
    let labelled = attempts
        .iter()
        .find(|a| a.planned.seq == seq)
        .unwrap()
        .result
        .as_ref()
        .unwrap();
    assert_eq!(labelled.verdict.label.as_str(), "safe");
    assert_eq!(labelled.verdict.source.as_str(), "human");
    let audit = lab.journal.audit_log(10).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.actor == "rita" && a.subject == format!("{id}:{seq}") && a.status == 200)
    );

    // A viewer's key press is refused and says so.
    c.goto(&lab.url("/ui/login")).await.unwrap();
    c.find(Locator::Css("input[name=token]"))
        .await
        .unwrap()
        .send_keys(&lab.viewer)
        .await
        .unwrap();
    c.find(Locator::Css("form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait().for_element(Locator::Css("table.runs")).await.unwrap();
    c.goto(&lab.url(&format!("/ui/runs/{id}/review?all=true")))
        .await
        .unwrap();
    c.active_element().await.unwrap().send_keys("r").await.unwrap();
    let saved = c.find(Locator::Css("article.item.current .saved")).await.unwrap();
    for _ in 0..50 {
        text = saved.text().await.unwrap();
        if text.starts_with("not saved") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(text.starts_with("not saved: 403"), "{text}");

    // Nothing ran: no request reached the canary, none went to an unknown dashboard path.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(hits.load(Ordering::SeqCst), 0, "a payload made a network request");
    let metrics = lab
        .call("GET", "/metrics", Some(&lab.viewer), None)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !metrics.contains("route=\"unmatched\""),
        "a payload requested a same-origin path:\n{metrics}"
    );
    c.close().await.unwrap();
}
