//! The test MCP server (`aistr_test_support::mcp_server`) on stdio, built with this crate's tests
//! so `tests/mcp.rs` can run `aistr mcp scan` against a real server process.

fn main() -> std::io::Result<()> {
    aistr_test_support::mcp_server::serve_stdio()
}
