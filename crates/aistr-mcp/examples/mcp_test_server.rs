//! The test MCP server (`aistr_test_support::mcp_server`) on stdio. Built with this crate's tests,
//! which start it as a real child process: `tests/scan.rs`.

fn main() -> std::io::Result<()> {
    aistr_test_support::mcp_server::serve_stdio()
}
