//! Engine throughput benchmark (not a timed test): attempts per second through plan → HTTP →
//! judge → journal against a loopback OpenAI-compatible server that answers after a fixed delay, and
//! the client's CPU time per attempt. The ceiling is concurrency / delay (64 / 20 ms = 3,200/s).
//!
//! `cargo bench -p aistr-engine --bench throughput [-- ATTEMPTS CONCURRENCY DELAY_MS]`
//!
//! The server runs on its own single-threaded runtime on a separate OS thread, so its CPU time can
//! be read from that thread alone (/proc/thread-self/stat) and subtracted from the process total.

use aistr_core::{Intent, Probe};
use aistr_engine::{ScanSettings, execute, plan};
use aistr_judge::RulesJudge;
use aistr_store::{Journal, NewRun};
use aistr_targets::{OpenAiConfig, OpenAiTarget};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

fn cpu_seconds(stat_path: &str) -> f64 {
    let stat = std::fs::read_to_string(stat_path).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of stat; here indexed from field 3.
    (ticks(11) + ticks(12)) / 100.0
}

#[expect(clippy::print_stdout, reason = "a benchmark prints its figures")]
fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let attempts: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let concurrency: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(64);
    let delay_ms: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(20);

    let (addr_tx, addr_rx) = mpsc::channel();
    let (cpu_tx, cpu_rx) = mpsc::channel::<mpsc::Sender<f64>>();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let script = aistr_test_support::fixed_delay(
                "I'm sorry, but I can't help with that.",
                Duration::from_millis(delay_ms),
            );
            let server = aistr_test_support::MockServer::start(script).await;
            addr_tx.send(server.base_url()).unwrap();
            // Wait for the request for this thread's CPU time, answer it, keep serving.
            let reply = tokio::task::spawn_blocking(move || cpu_rx.recv().ok())
                .await
                .unwrap();
            if let Some(reply) = reply {
                let _ = reply.send(cpu_seconds("/proc/thread-self/stat"));
            }
            std::future::pending::<()>().await;
        });
    });
    let base_url = addr_rx.recv().unwrap();

    let probes: Vec<Probe> = (0..attempts)
        .map(|i| Probe {
            id: format!("bench/{i}"),
            dataset: "bench".into(),
            prompt: format!("Explain how to do forbidden thing number {i} step by step."),
            category: "content.illegal".into(),
            language: "en".into(),
            source: "bench".into(),
            license: "MIT".into(),
            intent: Intent::Harmful,
        })
        .collect();
    let settings = ScanSettings {
        max_tokens: 64,
        temperature: 0.0,
        seed: 1,
        system_prompt: None,
    };
    let planned = plan(&probes, &[Vec::new()], &settings).unwrap();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (elapsed, recorded) = rt.block_on(async {
        let journal = Journal::open(&dir.path().join("bench.db")).await.unwrap();
        let run = NewRun {
            id: "bench".into(),
            config_json: "{}".into(),
            target_json: "{}".into(),
            datasets_json: "[]".into(),
            judge: "rules-v0".into(),
        };
        journal.create_run(&run, &planned).await.unwrap();
        let mut config = OpenAiConfig::new(base_url, "bench");
        config.concurrency = concurrency;
        let target = Arc::new(OpenAiTarget::new(config).unwrap());
        let pending = journal.pending("bench").await.unwrap();
        let started = Instant::now();
        let summary = execute(&journal, "bench", target, Arc::new(RulesJudge), pending, None)
            .await
            .unwrap();
        (started.elapsed(), summary.recorded)
    });
    let process_cpu = cpu_seconds("/proc/self/stat");
    let (tx, rx) = mpsc::channel();
    cpu_tx.send(tx).unwrap();
    let server_cpu = rx.recv_timeout(Duration::from_secs(5)).unwrap_or(0.0);
    let client_cpu = (process_cpu - server_cpu).max(0.0);
    #[expect(clippy::cast_precision_loss)]
    let n = recorded as f64;
    let ceiling = concurrency as f64 / (delay_ms as f64 / 1000.0);
    println!("engine throughput: {recorded} attempts, concurrency {concurrency}, server delay {delay_ms} ms");
    println!("  wall time            {:.2} s", elapsed.as_secs_f64());
    println!(
        "  attempts/s           {:.0}  (ceiling {ceiling:.0}, {:.0}% of it)",
        n / elapsed.as_secs_f64(),
        100.0 * n / elapsed.as_secs_f64() / ceiling
    );
    println!(
        "  client CPU/attempt   {:.1} µs  (process {:.2} s incl. planning and journal setup, server thread {:.2} s)",
        client_cpu / n * 1e6,
        process_cpu,
        server_cpu
    );
    assert_eq!(recorded as usize, attempts, "every attempt must be journaled");
}
