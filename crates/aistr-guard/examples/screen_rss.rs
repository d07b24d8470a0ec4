//! Where the guard's memory goes: screens requests in process with the built-in policy
//! (classifier tier on) on THREADS threads, ten rounds of N/10 requests, each round on fresh
//! threads, and prints RSS after each round. Growth that follows the number of threads started,
//! not the number of requests screened, is per-thread caches, not a per-request leak.
//!
//!     cargo run -p aistr-guard --example screen_rss -- [THREADS] [N]
#![allow(clippy::print_stderr)]

use aistr_guard::Policy;

fn rss_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4)
}

/// Varied benign prompts, as the bench sends, so nothing is screened twice.
fn prompt(i: usize) -> String {
    format!(
        "Request {i}: could you summarise the history of the printing press in {} sentences, mentioning item {}?",
        i % 7 + 2,
        i * 7919 % 100_003
    )
}

fn main() {
    let mut args = std::env::args().skip(1);
    let threads: usize = args.next().map_or(1, |s| s.parse().expect("THREADS"));
    let n: usize = args.next().map_or(300_000, |s| s.parse().expect("N"));
    let policy = Policy::builtin();
    let (screener, _) = aistr_guard::build_screener(&policy, None);
    eprintln!(
        "{threads} thread(s), {n} requests; RSS KiB at start: {}",
        rss_kib()
    );
    for round in 0..10 {
        std::thread::scope(|s| {
            for t in 0..threads {
                let (screener, policy) = (&screener, &policy);
                s.spawn(move || {
                    for i in (round * n / 10 + t..(round + 1) * n / 10).step_by(threads) {
                        std::hint::black_box(screener.screen_input(policy.for_key(""), &prompt(i), true));
                    }
                });
            }
        });
        eprintln!("after round {round}: {}", rss_kib());
    }
}
