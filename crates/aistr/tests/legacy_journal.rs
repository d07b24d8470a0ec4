//! A journal written by an earlier aistr (see `aistr_test_support::legacy`) still re-renders and
//! resumes through today's binary, with the very reports the old binary wrote.

mod common;
use aistr_test_support::legacy;
use common::{aistr, report, run, stderr};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// A scratch copy of the fixture journal (the committed file is never written).
fn copy_fixture(dir: &Path) -> std::path::PathBuf {
    let db = dir.join("journal.db");
    std::fs::copy(legacy::dir().join("journal.db"), &db).expect("fixture journal");
    db
}

/// The labelled set the shipped judge calibration was measured on.
fn calibration_sha256() -> String {
    aistr_judge::calibration::shipped().dev_set.sha256.clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_legacy_finished_run_rerenders_with_the_same_report() {
    let dir = tempfile::tempdir().unwrap();
    let db = copy_fixture(dir.path());
    let mut cmd = aistr();
    cmd.args(["report", legacy::FINISHED_RUN, "--format", "json,md"])
        .arg("--db")
        .arg(&db)
        .arg("--out")
        .arg(dir.path().join("out"));
    let out = run(cmd).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let got = report(&dir.path().join("out"));
    legacy::assert_same_report(got.clone(), "finished.report.json", &calibration_sha256());
    assert!(got["overall"]["n"].as_u64().unwrap() > 0 && got["by_level"]["L3"]["n"].as_u64().unwrap() > 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_legacy_interrupted_run_resumes_to_the_report_the_old_binary_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let db = copy_fixture(dir.path());
    let (target, _attacker) = legacy::start_servers(Duration::ZERO).await;
    let mut cmd = aistr();
    cmd.args(["scan", "--resume", legacy::INTERRUPTED_RUN, "--no-progress"])
        .arg("--db")
        .arg(&db)
        .arg("--out")
        .arg(dir.path().join("out"));
    let out = run(cmd).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !target.requests().is_empty(),
        "the fixture run has attempts left to send"
    );
    let got = report(&dir.path().join("out"));
    legacy::assert_same_report(got.clone(), "resumed.report.json", &calibration_sha256());
    assert_eq!(got["status"], "finished");
}

/// Writes the fixture with an old binary (`AISTR_LEGACY_BIN`). Not part of the suite: the fixture
/// records what the old code did, so it is regenerated only on purpose.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "regenerates the committed fixture from an old binary (AISTR_LEGACY_BIN)"]
async fn regenerate_legacy_fixture() {
    let old = std::env::var("AISTR_LEGACY_BIN").expect("AISTR_LEGACY_BIN: the old aistr binary");
    let old_cmd = || {
        let mut c = Command::new(&old);
        c.env_remove("CI").env("NO_COLOR", "1");
        c
    };
    let work = tempfile::tempdir().unwrap();
    let cfg = work.path().join("legacy.toml");
    std::fs::write(&cfg, legacy::config_toml()).unwrap();
    let db = work.path().join("journal.db");
    let fixture = legacy::dir();
    std::fs::create_dir_all(&fixture).unwrap();

    // 1. A run that finishes.
    {
        let _servers = legacy::start_servers(Duration::ZERO).await;
        let mut c = old_cmd();
        c.args(["scan", "--no-progress", "--run-id", legacy::FINISHED_RUN])
            .arg("--config")
            .arg(&cfg)
            .arg("--db")
            .arg(&db)
            .arg("--out")
            .arg(work.path().join("finished"));
        let out = run(c).await;
        assert!(out.status.success(), "{}", stderr(&out));
    }
    std::fs::copy(
        work.path().join("finished/report.json"),
        fixture.join("finished.report.json"),
    )
    .unwrap();

    // 2. A run killed part-way (slow answers, one at a time).
    {
        let _servers = legacy::start_servers(Duration::from_millis(150)).await;
        let mut c = old_cmd();
        c.args(["scan", "--no-progress", "--run-id", legacy::INTERRUPTED_RUN])
            .args(["--concurrency", "1"])
            .arg("--config")
            .arg(&cfg)
            .arg("--db")
            .arg(&db)
            .arg("--out")
            .arg(work.path().join("interrupted"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = c.spawn().unwrap();
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if done(&db, legacy::INTERRUPTED_RUN).await >= 8 {
                break;
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
    }
    // One self-contained file: fold the WAL in and compact (on one connection: changing the
    // journal mode needs the database to itself).
    {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        for pragma in [
            "PRAGMA wal_checkpoint(TRUNCATE)",
            "PRAGMA journal_mode = DELETE",
            "VACUUM",
        ] {
            sqlx::query(pragma).execute(&mut conn).await.unwrap();
        }
        conn.close().await.unwrap();
    }
    let (planned, finished): (i64, i64) = counts(&db, legacy::INTERRUPTED_RUN).await;
    assert!(finished > 0 && finished < planned, "{finished} of {planned}");
    std::fs::copy(&db, fixture.join("journal.db")).unwrap();

    // 3. What the old binary makes of resuming the interrupted run (on a copy).
    let copy = work.path().join("resumed.db");
    std::fs::copy(&db, &copy).unwrap();
    {
        let _servers = legacy::start_servers(Duration::ZERO).await;
        let mut c = old_cmd();
        c.args(["scan", "--no-progress", "--resume", legacy::INTERRUPTED_RUN])
            .arg("--db")
            .arg(&copy)
            .arg("--out")
            .arg(work.path().join("resumed"));
        let out = run(c).await;
        assert!(out.status.success(), "{}", stderr(&out));
    }
    std::fs::copy(
        work.path().join("resumed/report.json"),
        fixture.join("resumed.report.json"),
    )
    .unwrap();
    eprintln!(
        "fixture written to {} ({finished} of {planned} attempts of {} recorded)",
        fixture.display(),
        legacy::INTERRUPTED_RUN
    );
}

async fn counts(db: &Path, run_id: &str) -> (i64, i64) {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let row = sqlx::query_as("SELECT COUNT(*), SUM(status = 'done') FROM attempts WHERE run_id = ?")
        .bind(run_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    row
}

async fn done(db: &Path, run_id: &str) -> i64 {
    if !db.exists() {
        return 0;
    }
    let Ok(pool) = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display())).await else {
        return 0;
    };
    let n =
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM attempts WHERE run_id = ? AND status = 'done'")
            .bind(run_id)
            .fetch_one(&pool)
            .await
            .unwrap_or(0);
    pool.close().await;
    n
}
