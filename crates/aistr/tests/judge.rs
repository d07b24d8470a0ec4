//! End-to-end tests of the judge as a scan uses it: an LLM judge reached through `--judge-target`
//! (a scripted judge model on loopback), kept across `--resume`; the judge flags' usage errors; the
//! verdict-source counts after a human review; the judge-calibrated block of `report.json`; and the
//! shipped calibration file agreeing with what `aistr judge eval` measures today.

mod common;
use aistr_test_support::{MockServer, Reply};
use common::{aistr, read_json, run, stderr};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn scan(target: &MockServer, dir: &Path, run_id: &str) -> Command {
    let mut c = aistr();
    c.args([
        "scan",
        "--target",
        "openai",
        "--base-url",
        &target.base_url(),
        "--model",
        "mock",
        "--no-progress",
    ])
    .args(["--dataset", "jbb-harmful", "--run-id", run_id])
    .arg("--db")
    .arg(dir.join("j.db"))
    .arg("--out")
    .arg(dir.join(run_id));
    c
}

const COMPLY: &str = "Sure, here is exactly what you asked for. Step 1: gather the materials listed below. \
                      Step 2: follow these detailed instructions carefully to accomplish the goal.";
const REFUSE: &str = "I'm sorry, but I can't help with that.";
const JUDGE_SAYS: &str = r#"{"label": "risky", "confidence": 0.95, "reason": "mock judge: it complies"}"#;

/// A judge model that first answers without JSON, then (asked again) with a strict judgement.
fn judge_model() -> aistr_test_support::Script {
    Arc::new(|r| {
        if r.prompt.starts_with("That reply was not valid") {
            Reply::Text(JUDGE_SAYS.into())
        } else {
            Reply::Text("I think the response is risky.".into())
        }
    })
}

/// `(label, source, judge, verdict_detail)` of every recorded attempt of a run.
async fn verdicts(db: &Path, run: &str) -> Vec<(String, String, String, String)> {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let rows = sqlx::query_as(
        "SELECT label, verdict_source, judge, verdict_detail FROM attempts WHERE run_id = ? AND status = 'done' ORDER BY seq",
    )
    .bind(run)
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    rows
}

/// Attempts recorded so far; 0 while the journal is still being created (the scan may be between
/// creating the file and its first migration).
async fn recorded(db: &Path, run: &str) -> usize {
    if !db.exists() {
        return 0;
    }
    let Ok(pool) = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display())).await else {
        return 0;
    };
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM attempts WHERE run_id = ? AND status = 'done'")
        .bind(run)
        .fetch_one(&pool)
        .await
        .unwrap_or(0);
    pool.close().await;
    usize::try_from(n).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn llm_judge_decides_keeps_its_raw_answers_and_survives_resume() {
    // The target refuses everything, slowly, so the scan can be killed half-way.
    let target = MockServer::start(Arc::new(|_| {
        Reply::Delay(Duration::from_millis(80), Box::new(Reply::Text(REFUSE.into())))
    }))
    .await;
    let judge = MockServer::start(judge_model()).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("j.db");
    let mut cmd = scan(&target, dir.path(), "llm1");
    cmd.args([
        "--limit",
        "24",
        "--concurrency",
        "1",
        "--judge",
        "rules+llm",
        "--judge-target",
        "openai",
    ])
    .args(["--judge-model", "judge-mock"])
    .args(["--judge-base-url", &judge.base_url()])
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let mut done = 0;
    for _ in 0..400 {
        tokio::time::sleep(Duration::from_millis(25)).await;
        done = done.max(recorded(&db, "llm1").await);
        if done >= 4 {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!((4..24).contains(&done), "killed after {done} attempts");
    let judged_before = judge.requests().len();

    // Resume names no judge: the run's recorded judge (and judge model) are used again.
    let mut resume = aistr();
    resume
        .args(["scan", "--resume", "llm1", "--no-progress"])
        .arg("--db")
        .arg(&db)
        .arg("--out")
        .arg(dir.path().join("llm1"));
    let out = run(resume).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        judge.requests().len() > judged_before,
        "the resumed scan judged with the LLM too"
    );

    let rows = verdicts(&db, "llm1").await;
    assert_eq!(rows.len(), 24);
    for (label, source, judge_id, detail) in &rows {
        // The refusal would be `declined` by the rules; the judge model's label decides.
        assert_eq!(
            (label.as_str(), source.as_str(), judge_id.as_str()),
            ("risky", "model", "rules+llm-v1")
        );
        let detail: Value = serde_json::from_str(detail).unwrap();
        let llm = detail["stages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["stage"] == "llm-rubric-v1")
            .expect("llm stage");
        assert_eq!(
            llm["raw"],
            format!("I think the response is risky.\n---\n{JUDGE_SAYS}"),
            "every raw answer kept"
        );
        assert_eq!(detail["needs_review"], true, "the LLM disagrees with the rules");
    }
    // Every judge request carried the rubric and the answer; two tries per attempt.
    let seen = judge.requests();
    assert_eq!(seen.len(), 48);
    assert!(seen.iter().all(|r| r.body["model"] == "judge-mock"));
    assert!(
        seen.iter()
            .filter(|r| r.nth == 1 || !r.prompt.starts_with("That reply"))
            .all(|r| r.body.to_string().contains(REFUSE))
    );

    let r = read_json(&dir.path().join("llm1/report.json"));
    assert_eq!(r["judge"], "rules+llm-v1");
    assert_eq!(r["verdict_sources"]["overall"]["model"], 24);
    assert_eq!(r["overall"]["risky"], 24);
    assert!(
        r["calibrated"].is_null(),
        "no measured error for an LLM judge: {}",
        r["calibrated"]
    );
    assert_eq!(r["settings"]["judge_model"]["model"], "judge-mock");
}

#[tokio::test(flavor = "multi_thread")]
async fn judge_flags_are_checked_before_anything_is_sent() {
    let target = MockServer::start(Arc::new(|_| Reply::Text(REFUSE.into()))).await;
    let judge = MockServer::start(judge_model()).await;
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (&["--judge", "rules+llm"], "no judge model is configured"),
        (
            &[
                "--judge",
                "rules",
                "--judge-target",
                "openai",
                "--judge-model",
                "m",
                "--judge-base-url",
                &judge.base_url(),
            ],
            "has no LLM stage",
        ),
        (
            &["--judge-target", "openai", "--judge-model", "m"],
            "needs a base URL",
        ),
        (&["--judge-model", "m"], "need a judge target"),
        (&["--judge", "rules+magic"], "unknown judge configuration"),
    ];
    for (i, (flags, message)) in cases.iter().enumerate() {
        let mut cmd = scan(&target, dir.path(), &format!("bad{i}"));
        cmd.args(["--limit", "3"]).args(*flags);
        let out = run(cmd).await;
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{flags:?}: {}", stderr(&out));
    }
    assert!(
        target.requests().is_empty() && judge.requests().is_empty(),
        "nothing sent on a usage error"
    );

    // A `[judge]` table works like the flags, and a rules-only judge never calls the judge model.
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "[judge]\nname = \"rules\"\n").unwrap();
    let mut cmd = scan(&target, dir.path(), "ok");
    cmd.args(["--limit", "3"]).arg("--config").arg(&cfg);
    let out = run(cmd).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(read_json(&dir.path().join("ok/report.json"))["judge"], "rules-v1");
    assert!(
        judge.requests().is_empty(),
        "a judge without an llm stage never calls a judge model"
    );

    // A `[judge]` table with a judge model and no name: the default configuration plus `+llm`.
    // The default (`learned`) ships in the binary, so it holds even with no models installed.
    std::fs::write(
        &cfg,
        format!(
            "[judge]\ntarget = \"openai\"\nmodel = \"jm\"\nbase_url = \"{}\"\n",
            judge.base_url()
        ),
    )
    .unwrap();
    let mut cmd = scan(&target, dir.path(), "toml-llm");
    cmd.args(["--limit", "2"])
        .arg("--config")
        .arg(&cfg)
        .env("AISTR_MODELS_DIR", dir.path().join("no-models"));
    let out = run(cmd).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        read_json(&dir.path().join("toml-llm/report.json"))["judge"],
        "learned+llm-v2"
    );
    assert_eq!(judge.requests().len(), 4, "two attempts, two tries each");
    assert!(judge.requests().iter().all(|r| r.body["model"] == "jm"));
}

#[tokio::test(flavor = "multi_thread")]
async fn report_counts_verdict_sources_and_a_review_import_moves_them_to_human() {
    let target = MockServer::start(Arc::new(|r| {
        Reply::Text(if r.prompt.to_lowercase().contains("write") {
            COMPLY.into()
        } else {
            REFUSE.into()
        })
    }))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("j.db");
    let mut cmd = scan(&target, dir.path(), "rv");
    cmd.args(["--limit", "20", "--judge", "rules"]);
    let out = run(cmd).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let before = read_json(&dir.path().join("rv/report.json"));
    assert_eq!(
        before["verdict_sources"]["overall"],
        serde_json::json!({"rule": 20, "model": 0, "human": 0})
    );
    assert_eq!(before["verdict_sources"]["by_level"]["L1"]["rule"], 20);
    assert!(
        stderr(&out).contains("verdicts by source: rule 20, model 0, human 0"),
        "{}",
        stderr(&out)
    );

    // The judge-calibrated block: the shipped measurement of rules-v1, labelled as such.
    let cal = &before["calibrated"];
    let shipped = read_json(&repo().join("crates/aistr-judge/data/calibration.json"));
    assert_eq!(cal["judge"], "rules-v1");
    assert_eq!(cal["dev_set"]["sha256"], shipped["dev_set"]["sha256"]);
    assert_eq!(cal["dev_set"]["self_labelled"], false);
    assert_eq!(cal["dev_set"]["held_out"], true);
    assert_eq!(cal["dev_set"]["held_out"], shipped["dev_set"]["held_out"]);
    assert_eq!(cal["scored"], before["overall"]["scored"]);
    let [lo, hi] = [cal["R_ci"][0].as_f64().unwrap(), cal["R_ci"][1].as_f64().unwrap()];
    let r = cal["R"].as_f64().unwrap();
    assert!(lo <= r && r <= hi && hi - lo > 0.0, "{cal}");
    assert!(cal["by_level"]["L1"]["R"].is_number());
    assert!(
        stderr(&out).contains(
            "judge-calibrated (rules-v1's error measured on a held-out set labelled by blind annotators of"
        ),
        "{}",
        stderr(&out)
    );

    // A reviewer labels three answers.
    let sheet = dir.path().join("sheet.jsonl");
    let out = run({
        let mut c = aistr();
        c.args(["review", "export", "rv", "--all"])
            .arg("--db")
            .arg(&db)
            .arg("--out")
            .arg(&sheet);
        c
    })
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let filled: String = std::fs::read_to_string(&sheet)
        .unwrap()
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            if i < 3 {
                v["human_label"] = "safe".into();
            }
            format!("{v}\n")
        })
        .collect();
    std::fs::write(&sheet, filled).unwrap();
    let out = run({
        let mut c = aistr();
        c.args(["review", "import"]).arg(&sheet).arg("--db").arg(&db);
        c
    })
    .await;
    assert!(out.status.success(), "{}", stderr(&out));

    let out = run({
        let mut c = aistr();
        c.args(["report", "rv", "--format", "json,md,html"])
            .arg("--db")
            .arg(&db)
            .arg("--out")
            .arg(dir.path().join("after"));
        c
    })
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let after = read_json(&dir.path().join("after/report.json"));
    assert_eq!(
        after["verdict_sources"]["overall"],
        serde_json::json!({"rule": 17, "model": 0, "human": 3})
    );
    assert_eq!(
        after["calibrated"]["human"], 3,
        "human labels are taken as truth by the calibration"
    );
    assert_eq!(
        after["overall"]["safe"].as_u64().unwrap(),
        before["overall"]["safe"].as_u64().unwrap() + 3
    );
    let md = std::fs::read_to_string(dir.path().join("after/report.md")).unwrap();
    assert!(
        md.contains("Verdicts by source: rule 17, model 0, human 3.")
            && md.contains("Judge-calibrated R and D"),
        "{md}"
    );
    let html = std::fs::read_to_string(dir.path().join("after/report.html")).unwrap();
    assert!(html.contains("<th>verdicts by source</th><td>rule 17, model 0, human 3</td>"));
    assert!(html.contains("R judge-calibrated [95% CI]"));
}

/// The shipped `data/calibration.json` must be what `aistr judge eval --calibration-out` writes
/// today: the same held-out set (sha256) and the same confusion matrices. The rules configurations always
/// run; the embedded ones need all-MiniLM-L6-v2 (`aistr models install`): without it they are
/// skipped with a note, and under CI that is a failure.
#[test]
fn shipped_calibration_agrees_with_judge_eval() {
    let shipped = read_json(&repo().join("crates/aistr-judge/data/calibration.json"));
    let labels = repo().join("crates/aistr-judge/data/calibration/batch4.jsonl");
    let models = aistr_test_support::models_dir();
    let mut configs = vec!["rules-v0", "rules", "learned"];
    if aistr_test_support::require_model_or_skip("all-MiniLM-L6-v2/model.safetensors").is_some() {
        configs.extend(["embedded", "rules+embedded"]);
    }
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("calibration.json");
    let out = aistr()
        .args(["judge", "eval", "--judge", &configs.join(",")])
        .arg("--labels")
        .arg(&labels)
        .arg("--models-dir")
        .arg(&models)
        .arg("--calibration-out")
        .arg(&out_file)
        .arg("--calibration-held-out")
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let now = read_json(&out_file);
    assert_eq!(
        now["dev_set"]["sha256"], shipped["dev_set"]["sha256"],
        "batch4.jsonl changed: regenerate calibration.json"
    );
    for k in ["rows", "harmful_rows", "self_labelled", "held_out"] {
        assert_eq!(now["dev_set"][k], shipped["dev_set"][k], "{k}");
    }
    let measured = now["configurations"].as_object().unwrap();
    assert_eq!(measured.len(), configs.len());
    for (id, entry) in measured {
        assert_eq!(
            entry,
            &shipped["configurations"][id],
            "{id}: the judge's figures moved; regenerate with `{}`",
            shipped["generated_by"].as_str().unwrap_or_default()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn judge_rerun_rejudges_stored_answers_into_a_linked_run_without_sending() {
    let target = MockServer::start(Arc::new(|r| {
        Reply::Text(if r.prompt.to_lowercase().contains("write") {
            COMPLY.into()
        } else {
            REFUSE.into()
        })
    }))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("j.db");
    let mut cmd = scan(&target, dir.path(), "first");
    cmd.args(["--limit", "12", "--judge", "rules"]);
    let out = run(cmd).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let sent = target.requests().len();

    let mut cmd = aistr();
    cmd.args(["judge", "rerun", "first", "--judge", "learned", "--db"])
        .arg(&db)
        .arg("--out")
        .arg(dir.path().join("again"));
    let out = run(cmd).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("aistr compare first first-rejudged-learned"),
        "{}",
        stderr(&out)
    );
    assert_eq!(target.requests().len(), sent, "nothing is re-sent");
    let report = read_json(&dir.path().join("again/report.json"));
    assert_eq!(report["judge"], "learned-v2");
    let old = verdicts(&db, "first").await;
    let new = verdicts(&db, "first-rejudged-learned").await;
    assert_eq!(old.len(), new.len(), "every stored answer is judged again");
    assert!(old.iter().all(|v| v.2 == "rules-v1") && new.iter().all(|v| v.2 == "learned-v2"));
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let (config,): (String,) =
        sqlx::query_as("SELECT config_json FROM runs WHERE id = 'first-rejudged-learned'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let config: Value = serde_json::from_str(&config).unwrap();
    assert_eq!(
        config["origin"],
        serde_json::json!({"run_id": "first", "kind": "rejudge"})
    );

    // The two runs compare cell by cell; an unknown judge is a usage error and creates no run.
    let mut cmd = aistr();
    cmd.args(["compare", "first", "first-rejudged-learned", "--db"])
        .arg(&db);
    let out = run(cmd).await;
    let both = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(both.contains("different judges"), "{both}");
    let mut cmd = aistr();
    cmd.args(["judge", "rerun", "first", "--judge", "rules+magic", "--db"])
        .arg(&db);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}
