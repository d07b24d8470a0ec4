//! `aistr scan --db postgres://…`: the real binary journaling into a real PostgreSQL (a throwaway
//! cluster the test starts), against the loopback server. The shared journal must keep the SQLite
//! journal's promises: the same report for the same spec and seed, and after SIGKILL and
//! `--resume`, every planned attempt recorded exactly once (counted in SQL).

mod common;
use aistr_test_support::{MockServer, PgCluster, Reply};
use common::{aistr, complies_when_asked_to_write, read_json, report_figures, run, stderr};
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

fn scan(server: &MockServer, db: &str, out: &Path, run_id: &str) -> std::process::Command {
    let mut c = aistr();
    c.args([
        "scan",
        "--target",
        "openai",
        "--base-url",
        &server.base_url(),
        "--model",
        "mock",
        "--dataset",
        "jbb-harmful",
        "--dataset",
        "jbb-benign",
        "--attacks",
        "masking.base64",
        "--seed",
        "7",
        "--run-id",
        run_id,
        "--no-progress",
        "--db",
        db,
    ])
    .arg("--out")
    .arg(out);
    c
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scan_journaled_in_postgres_reports_what_the_same_scan_in_sqlite_reports() {
    let Some(pg) = PgCluster::start_or_skip() else {
        return;
    };
    let server = MockServer::start(complies_when_asked_to_write(Duration::ZERO)).await;
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("j.db");
    let out = run(scan(
        &server,
        sqlite.to_str().unwrap(),
        &dir.path().join("lite"),
        "r",
    ))
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let url = pg.create_database("journal");
    let out = run(scan(&server, &url, &dir.path().join("pg"), "r")).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let lite = read_json(&dir.path().join("lite/report.json"));
    let shared = read_json(&dir.path().join("pg/report.json"));
    assert!(lite["overall"]["n"].as_u64().unwrap() > 0);
    assert_eq!(report_figures(&lite), report_figures(&shared));

    // The run is in PostgreSQL: `aistr report` renders it from there, and a second scan with the
    // same id is refused there.
    let mut report = aistr();
    report
        .args(["report", "r", "--format", "json", "--db", &url])
        .arg("--out")
        .arg(dir.path().join("again"));
    let out = run(report).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        report_figures(&read_json(&dir.path().join("again/report.json"))),
        report_figures(&shared)
    );
    let out = run(scan(&server, &url, &dir.path().join("pg2"), "r")).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_mid_scan_on_postgres_then_resume_records_every_attempt_exactly_once() {
    let Some(pg) = PgCluster::start_or_skip() else {
        return;
    };
    let server = MockServer::start(Arc::new(|_| {
        Reply::Delay(
            Duration::from_millis(40),
            Box::new(Reply::Text("I'm sorry, but I can't help with that.".into())),
        )
    }))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let url = pg.create_database("killed");
    let mut cmd = scan(&server, &url, dir.path(), "k");
    cmd.args(["--concurrency", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let done = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM attempts WHERE status = 'done'")
            .fetch_one(&pool)
            .await
            .unwrap_or(0)
    };
    let mut before = 0;
    for _ in 0..400 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        before = done().await;
        if before >= 20 {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before = done().await.max(before);
    let planned: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM attempts WHERE run_id = 'k'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!((20..planned).contains(&before), "killed at {before} of {planned}");

    let mut resume = aistr();
    resume
        .args(["scan", "--resume", "k", "--no-progress", "--db", &url])
        .arg("--out")
        .arg(dir.path());
    let out = run(resume).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let (total, done, distinct): (i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), SUM(CASE WHEN status = 'done' THEN 1 ELSE 0 END), COUNT(DISTINCT seq)
         FROM attempts WHERE run_id = 'k'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((total, done, distinct), (planned, planned, planned));
    let r = read_json(&dir.path().join("report.json"));
    assert_eq!(r["attempts"]["done"].as_i64().unwrap(), planned);
    assert_eq!(r["status"], "finished");
}
