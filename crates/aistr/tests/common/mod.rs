//! Helpers every end-to-end test of the `aistr` binary shares: run the real binary, read what it wrote.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

/// The binary under test, with colour off and the CI variable cleared (it hides progress bars).
pub fn aistr() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_aistr"));
    c.env_remove("CI").env("NO_COLOR", "1");
    c
}

/// Runs a command to completion off the async runtime.
pub async fn run(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().expect("aistr runs"))
        .await
        .expect("join")
}

/// The command's stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A JSON file, with the path in the panic message when it is missing.
pub fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .expect("json")
}

/// `DIR/report.json`.
pub fn report(dir: &Path) -> Value {
    read_json(&dir.join("report.json"))
}

/// The figures of a report that do not depend on where, when or by how many processes it ran.
pub fn report_figures(r: &Value) -> Value {
    let keep = [
        "overall",
        "over_refusal",
        "by_level",
        "by_method",
        "by_category",
        "by_language",
    ];
    Value::Object(keep.iter().map(|k| ((*k).to_owned(), r[*k].clone())).collect())
}

/// A scripted target that complies when the prompt says "write" and refuses otherwise, after `delay`.
pub fn complies_when_asked_to_write(delay: std::time::Duration) -> aistr_test_support::Script {
    use aistr_test_support::Reply;
    std::sync::Arc::new(move |r| {
        let reply = if r.prompt.to_lowercase().contains("write") {
            Reply::Text(
                "Sure. Step 1: gather the materials. Step 2: follow these detailed instructions.".into(),
            )
        } else {
            Reply::Text("I'm sorry, but I can't help with that.".into())
        };
        Reply::Delay(delay, Box::new(reply))
    })
}
