//! `aistr mcp scan` against a real MCP server over stdio: the test server of aistr-test-support,
//! started as a child process (this crate's `mcp_test_server` example, built with its tests)
//! and spoken to through rmcp. The planted poisoned descriptions must all be found, and nothing in
//! the clean ones.

use aistr_mcp::{ItemKind, Server};
use aistr_test_support::mcp_server::{CLEAN, PLANTED};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

/// `target/<profile>/examples/mcp_test_server`, next to this test binary's `deps/`.
fn test_server() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap();
    let path = dir
        .join("examples")
        .join(format!("mcp_test_server{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is built with this crate's tests (cargo test / nextest build examples)",
        path.display()
    );
    path
}

fn kind(k: ItemKind) -> &'static str {
    match k {
        ItemKind::Tool => "tool",
        ItemKind::Prompt => "prompt",
        ItemKind::Resource => "resource",
        ItemKind::Server => "server",
    }
}

#[tokio::test]
async fn finds_every_planted_pattern_and_nothing_in_the_clean_items() {
    let server = Server::parse(&test_server().display().to_string(), &[]).unwrap();
    let listing = aistr_mcp::list(&server, Duration::from_secs(30)).await.unwrap();
    assert_eq!(listing.server_info["name"], "aistr-mcp-test-server");
    let report = aistr_mcp::report(&server, &listing);
    assert_eq!((report.tools, report.prompts, report.resources), (7, 2, 3));
    let found: BTreeSet<(&str, String, &str)> = report
        .findings
        .iter()
        .map(|f| (kind(f.kind), f.item.clone(), f.rule))
        .collect();
    let planted: BTreeSet<(&str, String, &str)> = PLANTED
        .iter()
        .map(|(k, n, r)| (*k, (*n).to_owned(), *r))
        .collect();
    assert_eq!(found, planted, "findings: {:#?}", report.findings);
    for (k, name) in CLEAN {
        assert!(
            !report
                .findings
                .iter()
                .any(|f| kind(f.kind) == *k && f.item == *name),
            "clean {k} `{name}` was flagged"
        );
    }
    // The smuggled tag-character text is shown decoded, so a reviewer sees what the model reads.
    let hidden = report
        .findings
        .iter()
        .find(|f| f.item == "get_weather" && f.rule == "mcp.invisible-unicode")
        .unwrap();
    assert!(
        hidden.evidence.contains("Ignore previous instructions"),
        "{}",
        hidden.evidence
    );
    // The server's tools can be offered to a tool-using target.
    let specs = aistr_mcp::tool_specs(&listing);
    assert_eq!(specs.len(), 7);
    assert_eq!(specs[0].parameters["required"][2], "sidenote");
    let text = aistr_mcp::render_text(&report);
    assert!(text.contains("10 findings"), "{text}");
}

#[tokio::test]
async fn an_unstartable_or_silent_server_is_an_error_not_a_clean_result() {
    let missing = Server::parse("/nonexistent/mcp-server --flag", &[]).unwrap();
    let e = aistr_mcp::list(&missing, Duration::from_secs(10))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("/nonexistent/mcp-server"), "{e}");
    // `cat` never answers the handshake with a response: a timeout, not an empty listing.
    if let Some(cat) = aistr_test_support::find_program("cat") {
        let silent = Server::parse(&cat.display().to_string(), &[]).unwrap();
        assert!(aistr_mcp::list(&silent, Duration::from_secs(2)).await.is_err());
    }
    assert!(Server::parse("  ", &[]).is_err());
    assert_eq!(
        Server::parse("https://mcp.example/mcp", &[]).unwrap(),
        Server::Http {
            url: "https://mcp.example/mcp".into()
        }
    );
}
