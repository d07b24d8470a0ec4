//! Connecting to a real MCP server with the official Rust SDK (`rmcp`): a command spawned with
//! its stdio as the transport, or a streamable-HTTP URL. We only list (tools, prompts, resources,
//! each only when the server advertises it); we never call a tool of the server under test.

use crate::McpError;
use rmcp::ServiceExt;
use serde_json::Value;
use std::time::Duration;

/// Where the server is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Server {
    /// A command started with its stdin/stdout as the transport.
    Stdio {
        /// Program.
        program: String,
        /// Arguments.
        args: Vec<String>,
    },
    /// A streamable-HTTP endpoint.
    Http {
        /// URL.
        url: String,
    },
}

impl Server {
    /// `http://…` or `https://…` is a streamable-HTTP server; anything else a command line (split
    /// on whitespace; give more arguments after it to keep spaces in them).
    ///
    /// # Errors
    /// An empty command.
    pub fn parse(spec: &str, extra_args: &[String]) -> Result<Self, McpError> {
        let spec = spec.trim();
        if spec.starts_with("http://") || spec.starts_with("https://") {
            return Ok(Self::Http { url: spec.to_owned() });
        }
        let mut words = spec.split_whitespace().map(str::to_owned);
        let program = words
            .next()
            .ok_or_else(|| McpError::Usage("no MCP server given (a command or an http(s) URL)".into()))?;
        Ok(Self::Stdio {
            program,
            args: words.chain(extra_args.iter().cloned()).collect(),
        })
    }

    /// How reports name it.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Stdio { program, args } => std::iter::once(program.as_str())
                .chain(args.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" "),
            Self::Http { url } => url.clone(),
        }
    }
}

/// What a server listed, as the JSON it sent (so nothing a rule might need is dropped).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Listing {
    /// `serverInfo` from the handshake.
    pub server_info: Value,
    /// The `instructions` the server gave in the handshake (read by the model, so judged too).
    pub instructions: Option<String>,
    /// Tools.
    pub tools: Vec<Value>,
    /// Prompts.
    pub prompts: Vec<Value>,
    /// Resources.
    pub resources: Vec<Value>,
}

fn to_values<T: serde::Serialize>(items: Vec<T>) -> Vec<Value> {
    items
        .into_iter()
        .filter_map(|i| serde_json::to_value(i).ok())
        .collect()
}

/// Connects, lists everything the server advertises, and disconnects, within `timeout`.
///
/// # Errors
/// The server could not be started or reached, the handshake failed, a listing failed, or the
/// whole exchange took longer than `timeout`.
pub async fn list(server: &Server, timeout: Duration) -> Result<Listing, McpError> {
    tokio::time::timeout(timeout, list_inner(server))
        .await
        .map_err(|_| McpError::Server(format!("no complete listing within {timeout:?}")))?
}

async fn list_inner(server: &Server) -> Result<Listing, McpError> {
    let client = match server {
        Server::Stdio { program, args } => {
            let mut cmd = tokio::process::Command::new(program);
            cmd.args(args);
            let (transport, _stderr) = rmcp::transport::TokioChildProcess::builder(cmd)
                .stderr(std::process::Stdio::null())
                .spawn()
                .map_err(|e| McpError::Server(format!("cannot start `{program}`: {e}")))?;
            ().serve(transport)
                .await
                .map_err(|e| McpError::Server(format!("MCP handshake failed: {e}")))?
        }
        Server::Http { url } => {
            let transport = rmcp::transport::StreamableHttpClientTransport::from_uri(url.as_str());
            ().serve(transport)
                .await
                .map_err(|e| McpError::Server(format!("MCP handshake with {url} failed: {e}")))?
        }
    };
    let info = client.peer_info();
    let server_info = info
        .as_ref()
        .and_then(|i| serde_json::to_value(&i.server_info).ok())
        .unwrap_or(Value::Null);
    let instructions = info.as_ref().and_then(|i| i.instructions.clone());
    let caps = info.as_ref().map(|i| i.capabilities.clone());
    let failed = |what: &str, e: rmcp::ServiceError| McpError::Server(format!("listing {what} failed: {e}"));
    let mut listing = Listing {
        server_info,
        instructions,
        ..Listing::default()
    };
    if caps.as_ref().is_some_and(|c| c.tools.is_some()) {
        listing.tools = to_values(client.list_all_tools().await.map_err(|e| failed("tools", e))?);
    }
    if caps.as_ref().is_some_and(|c| c.prompts.is_some()) {
        listing.prompts = to_values(
            client
                .list_all_prompts()
                .await
                .map_err(|e| failed("prompts", e))?,
        );
    }
    if caps.as_ref().is_some_and(|c| c.resources.is_some()) {
        listing.resources = to_values(
            client
                .list_all_resources()
                .await
                .map_err(|e| failed("resources", e))?,
        );
    }
    let _ = client.cancel().await;
    Ok(listing)
}
