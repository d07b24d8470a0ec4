//! End-to-end tests of `aistr scan` as a user runs it: the real binary, a real HTTP server on
//! loopback with scripted answers, a real SQLite journal and the report it writes.

mod common;
use aistr_test_support::{MockServer, Reply};
use common::{aistr, report, run};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

fn openai_scan(server: &MockServer, dir: &Path) -> Command {
    let mut c = aistr();
    c.args([
        "scan",
        "--target",
        "openai",
        "--base-url",
        &server.base_url(),
        "--model",
        "mock",
    ])
    .arg("--db")
    .arg(dir.join("j.db"))
    .arg("--out")
    .arg(dir);
    c
}

const COMPLY: &str = "Sure, here is exactly what you asked for. Step 1: gather the materials listed below. \
                      Step 2: follow these detailed instructions carefully to accomplish the goal.";

/// Answers by prompt: refusal for prompts containing a vowel-heavy marker, compliance, failures.
fn scripted() -> aistr_test_support::Script {
    Arc::new(|r| {
        let p = r.prompt.to_lowercase();
        if p.contains("write") {
            Reply::Text(COMPLY.into())
        } else if p.contains("explain") {
            Reply::Status {
                code: 500,
                retry_after: None,
            }
        } else {
            Reply::Text("I'm sorry, but I can't help with that.".into())
        }
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn verdicts_follow_the_scripted_answers_and_failures_are_unscored() {
    let server = MockServer::start(scripted()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = openai_scan(&server, dir.path());
    cmd.args([
        "--dataset",
        "jbb-harmful",
        "--dataset",
        "jbb-benign",
        "--run-id",
        "r1",
        "--concurrency",
        "4",
    ]);
    // The scan's plumbing is under test, not the judge: `rules` calls the scripted step outline
    // risky, where the learned judge (rightly, by the labelling rubric) finds it delivers nothing.
    cmd.args(["--judge", "rules"]);
    // A tiny retry budget keeps the 500s quick.
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        "[target]\nkind = \"openai\"\nmax_retries = 1\ntimeout_secs = 5\n",
    )
    .unwrap();
    cmd.arg("--config").arg(&cfg);
    let out = run(cmd).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r = report(dir.path());

    let harmful: Vec<String> = aistr_datasets::load("jbb-harmful")
        .unwrap()
        .probes
        .into_iter()
        .map(|p| p.prompt.to_lowercase())
        .collect();
    let expect_risky = harmful.iter().filter(|p| p.contains("write")).count() as u64;
    let expect_unscored = harmful
        .iter()
        .filter(|p| !p.contains("write") && p.contains("explain"))
        .count() as u64;
    let o = &r["overall"];
    assert_eq!(o["n"], 100);
    assert_eq!(o["risky"].as_u64().unwrap(), expect_risky);
    assert_eq!(o["unscored"].as_u64().unwrap(), expect_unscored);
    assert_eq!(
        o["declined"].as_u64().unwrap(),
        100 - expect_risky - expect_unscored
    );
    assert_eq!(o["safe"], 0);
    let scored = 100 - expect_unscored;
    assert!((o["R"].as_f64().unwrap() - expect_risky as f64 / scored as f64).abs() < 1e-9);
    assert!((o["R_max"].as_f64().unwrap() - (expect_risky + expect_unscored) as f64 / 100.0).abs() < 1e-9);
    assert_eq!(o["R_ci"].as_array().unwrap().len(), 2);
    for key in ["by_level", "by_category", "by_method", "by_language"] {
        for (_, cell) in r[key].as_object().unwrap() {
            for f in [
                "n", "risky", "declined", "safe", "unscored", "R", "D", "R_max", "R_ci", "D_ci",
            ] {
                assert!(cell.get(f).is_some(), "{key} lacks {f}");
            }
        }
    }
    assert!(r["over_refusal"]["n"].as_u64().unwrap() == 100);
    assert_eq!(
        r["attempts"]["transport_failures"].as_u64().unwrap(),
        expect_unscored + r["over_refusal"]["unscored"].as_u64().unwrap()
    );
    // 500s were retried once: two requests per failing prompt.
    let tries = server
        .requests()
        .iter()
        .filter(|q| q.prompt.to_lowercase().contains("explain") && !q.prompt.to_lowercase().contains("write"))
        .count();
    assert_eq!(
        tries as u64,
        2 * (expect_unscored + r["over_refusal"]["unscored"].as_u64().unwrap())
    );

    // The report validates against the committed schema.
    let schema: Value = serde_json::from_str(include_str!("../../../schemas/report.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&r).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn api_key_never_reaches_journal_report_or_logs() {
    let key = "sk-live-TOPSECRET-4242";
    let server = MockServer::start(Arc::new(|_| Reply::Text("I'm sorry, I cannot do that.".into()))).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = openai_scan(&server, dir.path());
    cmd.args([
        "--dataset",
        "jbb-harmful",
        "--limit",
        "5",
        "--api-key-env",
        "AISTR_TEST_SECRET",
        "--stream",
    ])
    .env("AISTR_TEST_SECRET", key)
    .env("AISTR_LOG", "trace");
    let out = run(cmd).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.authorization.as_deref() == Some(&format!("Bearer {key}")))
    );
    let logs = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!logs.contains(key), "key in logs");
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(
            !bytes.windows(key.len()).any(|w| w == key.as_bytes()),
            "key found in an output file"
        );
    }
    // The variable's name is recorded (so resume can re-read it), never its value.
    // (The row may still sit in the write-ahead log rather than the main file.)
    let mut db = std::fs::read(dir.path().join("j.db")).unwrap();
    db.extend(std::fs::read(dir.path().join("j.db-wal")).unwrap_or_default());
    assert!(db.windows(17).any(|w| w == b"AISTR_TEST_SECRET"));
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_mid_scan_then_resume_records_every_attempt_exactly_once() {
    let server = MockServer::start(Arc::new(|_| {
        Reply::Delay(
            Duration::from_millis(60),
            Box::new(Reply::Text("I'm sorry, but I can't help with that.".into())),
        )
    }))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("j.db");
    let mut cmd = openai_scan(&server, dir.path());
    cmd.args([
        "--dataset",
        "jbb-harmful",
        "--dataset",
        "jbb-benign",
        "--run-id",
        "k1",
        "--concurrency",
        "2",
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    // Wait until part of the run is journaled, then kill -9.
    let mut recorded_before = 0;
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        recorded_before = count_done(&db).await;
        if recorded_before >= 20 {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    let recorded_before = count_done(&db).await.max(recorded_before);
    assert!(
        (20..200).contains(&recorded_before),
        "killed at {recorded_before}"
    );
    let prompts_done = done_prompts(&db).await;
    let seen_before = server.requests().len();

    let mut resume = aistr();
    resume
        .args(["scan", "--resume", "k1"])
        .arg("--db")
        .arg(&db)
        .arg("--out")
        .arg(dir.path());
    let out = run(resume).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // Nothing already recorded was sent again.
    let resent: Vec<_> = server.requests()[seen_before..]
        .iter()
        .filter(|r| prompts_done.contains(&r.prompt))
        .map(|r| r.prompt.clone())
        .collect();
    assert!(resent.is_empty(), "re-sent after resume: {resent:?}");
    // Every planned attempt ends recorded exactly once.
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let (total, done, distinct): (i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), SUM(status = 'done'), COUNT(DISTINCT seq) FROM attempts WHERE run_id = 'k1'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((total, done, distinct), (200, 200, 200));
    let r = report(dir.path());
    assert_eq!(r["attempts"]["done"], 200);
    assert_eq!(
        r["overall"]["n"].as_u64().unwrap() + r["over_refusal"]["n"].as_u64().unwrap(),
        200
    );
    assert_eq!(r["status"], "finished");
}

async fn count_done(db: &Path) -> i64 {
    if !db.exists() {
        return 0;
    }
    let Ok(pool) = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display())).await else {
        return 0;
    };
    let n = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM attempts WHERE status = 'done'")
        .fetch_one(&pool)
        .await
        .unwrap_or(0);
    pool.close().await;
    n
}

async fn done_prompts(db: &Path) -> std::collections::HashSet<String> {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let rows: Vec<String> = sqlx::query_scalar("SELECT request_json FROM attempts WHERE status = 'done'")
        .fetch_all(&pool)
        .await
        .unwrap();
    rows.iter()
        .map(|j| {
            let v: Value = serde_json::from_str(j).unwrap();
            v["messages"].as_array().unwrap().last().unwrap()["content"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[test]
fn malformed_config_and_dataset_errors_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "[scan]\nseed = \"seven\"\n").unwrap();
    let out = aistr().args(["scan", "--config"]).arg(&cfg).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:2:8:"), "{err}");

    let ds = dir.path().join("set.jsonl");
    std::fs::write(&ds, "{\"prompt\": \"fine\"}\n{\"prompt\": \"broken\"\n").unwrap();
    let out = aistr()
        .args([
            "scan",
            "--target",
            "openai",
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--model",
            "m",
            "--dataset",
        ])
        .arg(&ds)
        .arg("--db")
        .arg(dir.path().join("j.db"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}:2: invalid probe row", ds.display())),
        "{err}"
    );
}

#[test]
fn report_schema_is_committed_and_current() {
    let committed = include_str!("../../../schemas/report.schema.json");
    let current = serde_json::to_string_pretty(&aistr_report::report_schema()).unwrap() + "\n";
    if committed != current {
        if std::env::var_os("AISTR_UPDATE_SCHEMAS").is_some() {
            std::fs::write(
                concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas/report.schema.json"),
                &current,
            )
            .unwrap();
        } else {
            panic!("schemas/report.schema.json is stale: rerun with AISTR_UPDATE_SCHEMAS=1");
        }
    }
}

#[test]
fn list_attacks_json_has_the_contract_fields() {
    let out = aistr().args(["list", "attacks", "--json"]).output().unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let arr = v.as_array().unwrap();
    assert!(!arr.is_empty());
    for a in arr {
        for k in ["id", "level", "family", "languages", "tags"] {
            assert!(a.get(k).is_some(), "missing {k}: {a}");
        }
    }
}
