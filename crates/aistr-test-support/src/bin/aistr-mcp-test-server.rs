//! The test MCP server of `aistr_test_support::mcp_server` on stdio, for trying `aistr mcp scan` by
//! hand: `aistr mcp scan target/debug/aistr-mcp-test-server`.

fn main() -> std::io::Result<()> {
    aistr_test_support::mcp_server::serve_stdio()
}
