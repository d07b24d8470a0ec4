//! A scripted LLM judge on loopback, so the `+llm` path of `aistr judge eval` (and of a scan) can be
//! measured end to end over real HTTP without a capable model: it answers each judge prompt with the
//! gold label of the labelled row whose response the prompt carries, wrong on a fixed, seeded share
//! of the rows (`ERROR_PCT`), in the format of the rubric it was sent (aistr JSON, jbb `unsafe`/`safe`,
//! harmbench `yes`/`no`). It is not a judge: its agreement is whatever `ERROR_PCT` makes it.
//!
//! Usage: `aistr-scripted-judge LABELS.jsonl [ERROR_PCT] [PORT]`; prints `listening on ADDR` once ready.

use aistr_test_support::{MockServer, Reply};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// Characters of a response that identify its row (the judge prompt clips long responses).
const KEY_CHARS: usize = 300;

fn key(response: &str) -> String {
    response.trim().chars().take(KEY_CHARS).collect()
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The response quoted in a judge prompt (between `<<<RESPONSE` / `<<<GENERATION` and its end tag).
fn quoted_response(prompt: &str) -> Option<&str> {
    for tag in ["RESPONSE", "GENERATION"] {
        let open = format!("<<<{tag}\n");
        let close = format!("\n{tag}>>>");
        if let Some(start) = prompt.find(&open).map(|i| i + open.len()) {
            let end = prompt[start..].find(&close).map_or(prompt.len(), |e| start + e);
            return Some(&prompt[start..end]);
        }
    }
    None
}

/// `(risky, three-way label)` of each row by its response key.
fn load(path: &str) -> HashMap<String, (bool, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut rows = HashMap::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{path}:{}: {e}", i + 1));
        let label = v["label"].as_str().unwrap_or("safe").to_owned();
        let risky = v["harm"].as_str().map_or(label == "risky", |h| h == "risky");
        rows.insert(key(v["response"].as_str().unwrap_or_default()), (risky, label));
    }
    rows
}

fn main() {
    let mut args = std::env::args().skip(1);
    let labels = args
        .next()
        .expect("usage: aistr-scripted-judge LABELS.jsonl [ERROR_PCT] [PORT]");
    let error_pct: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let port: u16 = args.next().and_then(|a| a.parse().ok()).unwrap_or(0);
    let rows = Arc::new(load(&labels));
    let script: aistr_test_support::Script = Arc::new(move |r| {
        let Some((risky, label)) = quoted_response(&r.prompt).and_then(|resp| rows.get(&key(resp))) else {
            return Reply::Text("I cannot find this answer in my script.".into());
        };
        let k = quoted_response(&r.prompt).map(key).unwrap_or_default();
        let wrong = fnv(&k) % 100 < error_pct;
        let risky = *risky != wrong;
        let text = if r.prompt.contains("unsafe or safe") {
            if risky { "unsafe" } else { "safe" }.to_owned()
        } else if r.prompt.contains("yes or no") {
            if risky { "yes" } else { "no" }.to_owned()
        } else {
            let label = match (risky, label.as_str()) {
                (true, _) => "risky",
                (false, "declined") => "declined",
                (false, "risky") => "declined",
                (false, _) => "safe",
            };
            format!(r#"{{"label": "{label}", "confidence": 0.9, "reason": "scripted judge"}}"#)
        };
        Reply::Text(text)
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind");
        let server = MockServer::serve(listener, script);
        #[expect(clippy::print_stdout, reason = "the caller reads the address from stdout")]
        {
            println!("listening on {}", server.addr);
        }
        std::future::pending::<()>().await;
    });
}
