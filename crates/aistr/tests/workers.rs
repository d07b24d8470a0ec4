//! Team mode: `aistr scan --detach` plans a 2,000-attempt run in a real PostgreSQL (a throwaway
//! cluster), three `aistr worker` processes execute it against the loopback server, and two of them
//! are SIGKILLed mid-run. Every planned attempt must end recorded exactly once (counted in SQL), and
//! the report must equal a single-process SQLite scan of the same spec and seed.

mod common;
use aistr_test_support::{MockServer, PgCluster};
use common::{aistr, complies_when_asked_to_write, read_json, report_figures, run, stderr};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// jbb-harmful and jbb-benign (200 probes) x (plain + 9 attacks) = 2,000 attempts.
const ATTACKS: [&str; 9] = [
    "hijack.ignore_previous",
    "hijack.goal",
    "roleplay.persona",
    "roleplay.fiction",
    "distortion.false_premise",
    "masking.base64",
    "masking.rot13",
    "interference.forced_consent",
    "interference.distractor",
];

fn spec_args(db: &str) -> Vec<String> {
    let mut a: Vec<String> = [
        "scan",
        "--target",
        "openai",
        "--model",
        "mock",
        "--dataset",
        "jbb-harmful",
        "--dataset",
        "jbb-benign",
        "--seed",
        "11",
        "--judge",
        "rules",
        "--run-id",
        "team",
        "--no-progress",
        "--db",
        db,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    for at in ATTACKS {
        a.extend(["--attacks".to_owned(), at.to_owned()]);
    }
    a
}

fn worker(url: &str, log: &std::path::Path) -> Child {
    let mut c = aistr();
    c.args([
        "worker",
        "--db",
        url,
        "--batch",
        "40",
        "--lease-secs",
        "2",
        "--poll-secs",
        "0.2",
        "--exit-when-idle",
    ])
    .stdout(Stdio::null())
    .stderr(std::fs::File::create(log).unwrap());
    c.spawn().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn three_workers_two_killed_record_every_attempt_once_and_match_a_single_process_run() {
    let Some(pg) = PgCluster::start_or_skip() else {
        return;
    };
    let server = MockServer::start(complies_when_asked_to_write(Duration::from_millis(5))).await;
    let dir = tempfile::tempdir().unwrap();
    let url = pg.create_database("team");

    // Plan only: the run id on stdout, nothing sent.
    let mut detach = aistr();
    detach
        .args(spec_args(&url))
        .args(["--base-url", &server.base_url(), "--detach"])
        .arg("--out")
        .arg(dir.path().join("detached"));
    let out = run(detach).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "team");
    assert!(server.requests().is_empty(), "--detach sends nothing");

    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let count = |sql: &'static str| {
        let pool = pool.clone();
        async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(&pool).await.unwrap() }
    };
    assert_eq!(
        count("SELECT COUNT(*) FROM attempts WHERE run_id = 'team'").await,
        2000
    );
    let done = || count("SELECT COUNT(*) FROM attempts WHERE status = 'done'");

    let logs: Vec<_> = (0..3)
        .map(|i| dir.path().join(format!("worker{i}.log")))
        .collect();
    let mut workers: Vec<Child> = logs.iter().map(|l| worker(&url, l)).collect();
    let started = Instant::now();
    let mut killed = 0;
    for (i, at) in [(0usize, 300i64), (1, 1000)] {
        while done().await < at {
            assert!(
                started.elapsed() < Duration::from_secs(240),
                "stuck at {}",
                done().await
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        workers[i].kill().unwrap(); // SIGKILL, mid-batch
        workers[i].wait().unwrap();
        killed += 1;
    }
    assert_eq!(killed, 2);
    let last = workers.pop().unwrap();
    let status = tokio::task::spawn_blocking(move || {
        let mut last = last;
        last.wait()
    })
    .await
    .unwrap()
    .unwrap();
    assert!(
        status.success(),
        "{}",
        std::fs::read_to_string(&logs[2]).unwrap_or_default()
    );

    let (total, done_n, distinct): (i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), SUM(CASE WHEN status = 'done' THEN 1 ELSE 0 END), COUNT(DISTINCT seq)
         FROM attempts WHERE run_id = 'team'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((total, done_n, distinct), (2000, 2000, 2000));
    let status: String = sqlx::query_scalar("SELECT status FROM runs WHERE id = 'team'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(status, "finished");
    // The killed workers' leases were taken over: more claims than batches of 40 would need.
    let reclaimed = count("SELECT COUNT(*) FROM attempts WHERE lease_token > 1").await;
    assert!(
        reclaimed > 0,
        "a killed worker's claimed attempts were claimed again"
    );

    // The same spec and seed in one process into SQLite gives the same report.
    let lite = dir.path().join("lite.db");
    let mut single = aistr();
    single
        .args(spec_args(lite.to_str().unwrap()))
        .args(["--base-url", &server.base_url(), "--concurrency", "8"])
        .arg("--out")
        .arg(dir.path().join("lite"));
    let out = run(single).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let mut report = aistr();
    report
        .args(["report", "team", "--format", "json", "--db", &url])
        .arg("--out")
        .arg(dir.path().join("team"));
    let out = run(report).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let team = read_json(&dir.path().join("team/report.json"));
    let lite = read_json(&dir.path().join("lite/report.json"));
    assert!(team["overall"]["risky"].as_u64().unwrap() > 0);
    assert_eq!(report_figures(&team), report_figures(&lite));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_runs_rate_limit_holds_across_three_workers() {
    let Some(pg) = PgCluster::start_or_skip() else {
        return;
    };
    // The loopback server notes when each request arrives.
    let arrivals = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Instant>::new()));
    let noted = std::sync::Arc::clone(&arrivals);
    let server = MockServer::start(std::sync::Arc::new(move |_| {
        noted.lock().unwrap().push(Instant::now());
        aistr_test_support::Reply::Text("I'm sorry, but I can't help with that.".into())
    }))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let url = pg.create_database("paced");
    let mut detach = aistr();
    detach
        .args([
            "scan",
            "--target",
            "openai",
            "--model",
            "mock",
            "--dataset",
            "jbb-harmful",
            "--judge",
            "rules",
            "--rpm",
            "1200",
            "--concurrency",
            "8",
            "--run-id",
            "paced",
            "--no-progress",
            "--detach",
            "--db",
            &url,
            "--base-url",
            &server.base_url(),
        ])
        .arg("--out")
        .arg(dir.path());
    let out = run(detach).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let logs: Vec<_> = (0..3).map(|i| dir.path().join(format!("w{i}.log"))).collect();
    let workers: Vec<Child> = logs.iter().map(|l| worker(&url, l)).collect();
    for (mut w, log) in workers.into_iter().zip(&logs) {
        let status = tokio::task::spawn_blocking(move || w.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(
            status.success(),
            "{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
    }
    let mut at = arrivals.lock().unwrap().clone();
    at.sort();
    assert_eq!(at.len(), 100, "one request per attempt");
    // 1200 per minute = one request per 50 ms for the run, whatever the number of workers (each
    // alone would allow 20 a second, three together 60). Tolerance: 10% on the whole run, and at
    // most 5 requests above the rate in any one-second window: slots are 50 ms apart, but a
    // worker woken late (up to 250 ms while CI runs ~580 tests on 2 cores; 23 seen once) sends
    // its request late, bunched with the next ones that go on time. Without the shared slots
    // the same run sends all 100 requests within one second.
    let span = at[99].duration_since(at[0]);
    assert!(span >= Duration::from_millis(99 * 45), "100 requests in {span:?}");
    let most_in_a_second = (0..at.len())
        .map(|i| {
            at[i..]
                .iter()
                .take_while(|t| t.duration_since(at[i]) < Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap();
    assert!(
        most_in_a_second <= 25,
        "{most_in_a_second} requests within one second"
    );
}
