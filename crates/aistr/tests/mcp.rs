//! `aistr mcp scan` end to end: the binary starts the test MCP server (a real child process on
//! stdio), prints what it flags, and exits 4 on findings; an unreachable server is an error (1),
//! never a clean result.

use std::path::PathBuf;
use std::process::Command;

fn test_server() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap();
    let path = dir
        .join("examples")
        .join(format!("cli_mcp_test_server{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is built with this crate's tests",
        path.display()
    );
    path
}

#[test]
fn mcp_scan_flags_the_planted_descriptions_and_exits_4() {
    let out = Command::new(env!("CARGO_BIN_EXE_aistr"))
        .args(["mcp", "scan", "--json"])
        .arg(test_server())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), aistr_test_support::mcp_server::PLANTED.len());
    for (_, clean) in aistr_test_support::mcp_server::CLEAN {
        assert!(!findings.iter().any(|f| f["item"] == *clean), "{clean} flagged");
    }
    let text = Command::new(env!("CARGO_BIN_EXE_aistr"))
        .args(["mcp", "scan"])
        .arg(test_server())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("mcp.invisible-unicode") && text.contains("get_weather"),
        "{text}"
    );
}

#[test]
fn an_unstartable_server_is_a_failure() {
    let out = Command::new(env!("CARGO_BIN_EXE_aistr"))
        .args(["mcp", "scan", "/nonexistent/server"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/server"));
}
