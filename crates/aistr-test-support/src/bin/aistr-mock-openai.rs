//! A standalone loopback OpenAI-compatible server for benchmarks: answers every request with a fixed
//! text after a fixed delay, so the client's throughput can be measured against a known ceiling.
//! Usage: `aistr-mock-openai [DELAY_MS] [PORT]`; prints `listening on ADDR` once ready.

use std::time::Duration;

fn main() {
    let mut args = std::env::args().skip(1);
    let delay_ms: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let port: u16 = args.next().and_then(|a| a.parse().ok()).unwrap_or(0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind");
        let script = aistr_test_support::fixed_delay(
            "I'm sorry, but I can't help with that request.",
            Duration::from_millis(delay_ms),
        );
        let server = aistr_test_support::MockServer::serve(listener, script);
        #[expect(clippy::print_stdout, reason = "the benchmark reads the address from stdout")]
        {
            println!("listening on {}", server.addr);
        }
        std::future::pending::<()>().await;
    });
}
