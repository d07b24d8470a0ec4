//! Benchmark (not a test) of the guard's added latency, throughput, CPU and memory.
//!
//! ```text
//! cargo build -p aistr && cargo run -p aistr-guard --example guard_bench -- \
//!     --aistr target/debug/aistr --tier rules --rate 500 --secs 30 [--soak-secs 600]
//! ```
//!
//! It starts the scripted upstream (`aistr-test-support`) answering every request in 20 ms, runs
//! `aistr guard` as a child process in front of it with a rules-only policy (`--tier rules`), the
//! built-in policy whose classifier tier is `prompt-learned-v1` (`--tier classifier`), or that
//! policy with the MiniLM jailguard head on too (`--tier jailguard`), and sends requests open-loop at a fixed rate
//! (varied benign prompts, so nothing can be cached), first straight to the upstream, then through
//! the guard. It reports, for each: end-to-end p50/p95/p99; the guard's own added latency from its
//! audit log (`added_ms`: time in the guard minus time waiting on the upstream); the guard
//! process's CPU time per request (`/proc/PID/stat`); its RSS at start and end; and how many
//! requests were answered, rejected with a status, or lost (no status at all).

use aistr_test_support::{MockServer, fixed_delay};
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Args {
    aistr: String,
    tier: String,
    rate: f64,
    secs: f64,
    soak_secs: f64,
    minilm_dir: Option<String>,
}

fn args() -> Args {
    let mut a = Args {
        aistr: "target/debug/aistr".into(),
        tier: "rules".into(),
        rate: 500.0,
        secs: 30.0,
        soak_secs: 0.0,
        minilm_dir: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_default();
        match k.as_str() {
            "--aistr" => a.aistr = v,
            "--tier" => a.tier = v,
            "--rate" => a.rate = v.parse().expect("--rate N"),
            "--secs" => a.secs = v.parse().expect("--secs N"),
            "--soak-secs" => a.soak_secs = v.parse().expect("--soak-secs N"),
            "--minilm-dir" => a.minilm_dir = Some(v),
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn proc_cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    ticks / 100.0
}

fn proc_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

#[derive(Default)]
struct Load {
    latencies_ms: Vec<f64>,
    answered: usize,
    rejected: usize,
    lost: usize,
    sent: usize,
    wall: f64,
}

const TOPICS: &[&str] = &[
    "the history of",
    "good restaurants in",
    "the weather in",
    "public transport in",
    "museums in",
    "the population of",
    "the main industries of",
    "a weekend itinerary for",
];
const PLACES: &[&str] = &[
    "Lisbon",
    "Osaka",
    "Nairobi",
    "Quito",
    "Tallinn",
    "Hobart",
    "Windhoek",
    "Reykjavik",
    "Chengdu",
    "Cusco",
];

fn prompt(i: usize) -> String {
    format!(
        "Question {i}: could you tell me about {} {}?",
        TOPICS[i % TOPICS.len()],
        PLACES[(i / TOPICS.len()) % PLACES.len()]
    )
}

async fn load(url: String, key: Option<String>, rate: f64, secs: f64) -> Load {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let period = Duration::from_secs_f64(1.0 / rate);
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let start = Instant::now();
    let mut tasks = Vec::new();
    let mut i = 0usize;
    while start.elapsed().as_secs_f64() < secs {
        tick.tick().await;
        let client = client.clone();
        let url = url.clone();
        let key = key.clone();
        let body = json!({"model": "m", "messages": [{"role": "user", "content": prompt(i)}]});
        i += 1;
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let mut req = client.post(url).json(&body);
            if let Some(k) = key {
                req = req.bearer_auth(k);
            }
            match req.send().await {
                Ok(r) => {
                    let ok = r.status().is_success();
                    let _ = r.bytes().await;
                    (Some(ok), t.elapsed().as_secs_f64() * 1e3)
                }
                Err(_) => (None, t.elapsed().as_secs_f64() * 1e3),
            }
        }));
    }
    let mut out = Load {
        sent: tasks.len(),
        ..Load::default()
    };
    for t in tasks {
        match t.await.expect("task") {
            (Some(true), ms) => {
                out.answered += 1;
                out.latencies_ms.push(ms);
            }
            (Some(false), _) => out.rejected += 1, // a status: 401, 503 (shed), ...
            (None, _) => out.lost += 1,
        }
    }
    out.wall = start.elapsed().as_secs_f64();
    out.latencies_ms.sort_by(f64::total_cmp);
    out
}

fn summary(name: &str, l: &Load) -> serde_json::Value {
    let s = &l.latencies_ms;
    #[expect(clippy::cast_precision_loss)]
    let throughput = l.answered as f64 / l.wall;
    json!({"run": name, "sent": l.sent, "answered": l.answered, "rejected": l.rejected, "lost": l.lost,
           "throughput_rps": throughput, "p50_ms": pct(s, 0.5), "p95_ms": pct(s, 0.95), "p99_ms": pct(s, 0.99)})
}

fn main() {
    let a = args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let upstream = MockServer::start(fixed_delay(
            "Here is a short overview with a few facts and suggestions for your visit.",
            Duration::from_millis(20),
        ))
        .await;
        let dir = tempfile::tempdir().expect("tmp");
        let keys = dir.path().join("keys.toml");
        let key = aistr_guard::keys::add(&keys, "bench").expect("key");
        let policy = dir.path().join("policy.toml");
        // `rules`: the classifier tier off; `classifier`: the built-in policy (prompt-learned-v1);
        // `jailguard`: the built-in policy with the MiniLM jailguard head switched on as well.
        let classifier = a.tier != "rules";
        let mut text = aistr_guard::policy::DEFAULT_POLICY_TOML.replace(
            "classifier = true",
            if classifier { "classifier = true" } else { "classifier = false" },
        );
        if a.tier == "jailguard" {
            text = text.replace("[input.jailguard]\nenabled = false", "[input.jailguard]\nenabled = true");
            assert!(text.contains("[input.jailguard]\nenabled = true"), "the built-in policy's jailguard section moved");
        }
        std::fs::write(&policy, text).expect("policy");
        let audit = dir.path().join("audit.jsonl");
        let mut cmd = Command::new(&a.aistr);
        cmd.args(["guard", "--upstream", &upstream.base_url(), "--listen", "127.0.0.1:0", "--keys"])
            .arg(&keys)
            .arg("--policy")
            .arg(&policy)
            .arg("--audit-log")
            .arg(&audit)
            .stdout(Stdio::piped());
        if let Some(d) = &a.minilm_dir {
            cmd.args(["--minilm-dir", d]);
        }
        let mut child = cmd.spawn().expect("spawn aistr guard");
        let pid = child.id();
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read");
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .expect("listening line")
            .to_owned();
        let guard_url = format!("http://{addr}/v1/chat/completions");
        let direct_url = format!("{}/chat/completions", upstream.base_url());
        // Warm up both paths (connections, lazy statics, the classifier's first run).
        let _ = load(guard_url.clone(), Some(key.clone()), 50.0, 1.0).await;
        let _ = load(direct_url.clone(), None, 50.0, 1.0).await;
        let skip = std::fs::read_to_string(&audit).map_or(0, |t| t.lines().count());

        let direct = load(direct_url, None, a.rate, a.secs).await;
        let rss0 = proc_rss_kib(pid);
        let cpu0 = proc_cpu_secs(pid);
        let through = load(guard_url.clone(), Some(key.clone()), a.rate, a.secs).await;
        let cpu1 = proc_cpu_secs(pid);
        let rss1 = proc_rss_kib(pid);
        let mut added: Vec<f64> = std::fs::read_to_string(&audit)
            .expect("audit")
            .lines()
            .skip(skip)
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()?["added_ms"].as_f64())
            .collect();
        added.sort_by(f64::total_cmp);
        #[expect(clippy::cast_precision_loss)]
        let cpu_per_req_ms = (cpu1 - cpu0) * 1e3 / through.sent.max(1) as f64;
        let mut report = json!({
            "tier": a.tier, "rate": a.rate, "secs": a.secs,
            "direct": summary("direct", &direct),
            "guard": summary("guard", &through),
            "added_ms_guard_measured": {"n": added.len(), "p50": pct(&added, 0.5), "p95": pct(&added, 0.95), "p99": pct(&added, 0.99)},
            "added_ms_end_to_end": {
                "p50": pct(&through.latencies_ms, 0.5) - pct(&direct.latencies_ms, 0.5),
                "p99": pct(&through.latencies_ms, 0.99) - pct(&direct.latencies_ms, 0.99)},
            "guard_cpu_ms_per_request": cpu_per_req_ms,
            "guard_rss_kib": {"start": rss0, "end": rss1},
        });
        if a.soak_secs > 0.0 {
            let rss_s0 = proc_rss_kib(pid);
            // RSS sampled ten times over the soak: flat means the later samples stop growing.
            let every = Duration::from_secs_f64(a.soak_secs / 10.0);
            let sampler = tokio::spawn(async move {
                let mut series = Vec::new();
                for _ in 0..10 {
                    tokio::time::sleep(every).await;
                    series.push(proc_rss_kib(pid));
                }
                series
            });
            let soak = load(guard_url, Some(key), a.rate, a.soak_secs).await;
            let rss_s1 = proc_rss_kib(pid);
            let series = sampler.await.unwrap_or_default();
            report["soak"] = json!({"secs": a.soak_secs, "rate": a.rate, "result": summary("soak", &soak),
                                    "rss_kib": {"start": rss_s0, "end": rss_s1, "every_tenth": series}});
        }
        #[expect(clippy::print_stdout, reason = "the benchmark's report")]
        {
            println!("{}", serde_json::to_string_pretty(&report).expect("json"));
        }
        // SIGTERM: the guard finishes what is in flight and exits.
        let _ = Command::new("kill").arg(pid.to_string()).status();
        let _ = child.wait();
        drop(Arc::new(upstream));
    });
}
