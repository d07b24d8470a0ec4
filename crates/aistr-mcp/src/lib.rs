//! `aistr mcp scan SERVER`: connect to a real MCP server (stdio or streamable HTTP, through the
//! official Rust SDK `rmcp`), list its tools, prompts and resources, and flag the tool-poisoning
//! patterns in what the model would read ([`rules`]). Also turns a server's tools into
//! [`aistr_core::ToolSpec`]s, so they can be offered to a tool-using target.
//!
//! Everything a server sends is untrusted: it is parsed as JSON by the SDK, judged as text, and
//! never executed; no tool of the server under test is ever called.

pub mod client;
pub mod rules;

pub use client::{Listing, Server, list};
pub use rules::{Finding, Item, ItemKind, RULES, Rule, Severity, scan_items};

use serde::Serialize;
use serde_json::Value;

/// Why a scan could not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum McpError {
    /// Bad arguments.
    #[error("{0}")]
    Usage(String),
    /// The server could not be started, reached or understood.
    #[error("{0}")]
    Server(String),
}

/// A finished scan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The server as given.
    pub server: String,
    /// Its `serverInfo`.
    pub server_info: Value,
    /// Tools listed.
    pub tools: usize,
    /// Prompts listed.
    pub prompts: usize,
    /// Resources listed.
    pub resources: usize,
    /// What was flagged.
    pub findings: Vec<Finding>,
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Every property of a JSON Schema, recursively (nested objects, array items), as
/// `(path, name, description)`. Depth-capped: a hostile schema cannot recurse us to death.
fn schema_fields(schema: &Value, path: &str, depth: usize, out: &mut Vec<(String, String, Option<String>)>) {
    if depth > 16 || out.len() > 10_000 {
        return;
    }
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (name, prop) in props {
            let p = format!("{path}.properties.{name}");
            out.push((p.clone(), name.clone(), text(prop, "description")));
            schema_fields(prop, &p, depth + 1, out);
        }
    }
    if let Some(items) = schema.get("items") {
        schema_fields(items, &format!("{path}.items"), depth + 1, out);
    }
}

/// The text the model reads of each listed item.
#[must_use]
pub fn items(listing: &Listing) -> Vec<Item> {
    let mut out = Vec::new();
    for t in &listing.tools {
        let mut texts = Vec::new();
        for key in ["description", "title"] {
            if let Some(s) = text(t, key) {
                texts.push((key.to_owned(), s));
            }
        }
        if let Some(s) = t.pointer("/annotations/title").and_then(Value::as_str) {
            texts.push(("annotations.title".into(), s.to_owned()));
        }
        let mut fields = Vec::new();
        if let Some(schema) = t.get("inputSchema") {
            let mut props = Vec::new();
            schema_fields(schema, "inputSchema", 0, &mut props);
            for (path, name, description) in props {
                if let Some(d) = description {
                    texts.push((format!("{path}.description"), d));
                }
                fields.push((path, name));
            }
        }
        out.push(Item {
            kind: ItemKind::Tool,
            name: text(t, "name").unwrap_or_default(),
            texts,
            fields,
        });
    }
    for p in &listing.prompts {
        let mut texts = Vec::new();
        for key in ["description", "title"] {
            if let Some(s) = text(p, key) {
                texts.push((key.to_owned(), s));
            }
        }
        let mut fields = Vec::new();
        for (i, a) in p
            .get("arguments")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let name = text(a, "name").unwrap_or_default();
            if let Some(d) = text(a, "description") {
                texts.push((format!("arguments[{i}].description"), d));
            }
            fields.push((format!("arguments[{i}]"), name));
        }
        out.push(Item {
            kind: ItemKind::Prompt,
            name: text(p, "name").unwrap_or_default(),
            texts,
            fields,
        });
    }
    if let Some(instructions) = &listing.instructions {
        out.push(Item {
            kind: ItemKind::Server,
            name: text(&listing.server_info, "name").unwrap_or_default(),
            texts: vec![("instructions".into(), instructions.clone())],
            fields: Vec::new(),
        });
    }
    for r in &listing.resources {
        let texts = ["description", "title", "uri"]
            .into_iter()
            .filter_map(|k| text(r, k).map(|s| (k.to_owned(), s)))
            .collect();
        out.push(Item {
            kind: ItemKind::Resource,
            name: text(r, "name").or_else(|| text(r, "uri")).unwrap_or_default(),
            texts,
            fields: Vec::new(),
        });
    }
    out
}

/// Judges a listing.
#[must_use]
pub fn report(server: &Server, listing: &Listing) -> Report {
    Report {
        server: server.describe(),
        server_info: listing.server_info.clone(),
        tools: listing.tools.len(),
        prompts: listing.prompts.len(),
        resources: listing.resources.len(),
        findings: scan_items(&items(listing)),
    }
}

/// A server's tools as tool specs a tool-using target can be offered.
#[must_use]
pub fn tool_specs(listing: &Listing) -> Vec<aistr_core::ToolSpec> {
    listing
        .tools
        .iter()
        .map(|t| aistr_core::ToolSpec {
            name: text(t, "name").unwrap_or_default(),
            description: text(t, "description").unwrap_or_default(),
            parameters: t
                .get("inputSchema")
                .cloned()
                .unwrap_or_else(|| serde_json::json!({"type": "object"})),
        })
        .collect()
}

/// The report for people.
#[must_use]
pub fn render_text(r: &Report) -> String {
    let mut out = format!(
        "MCP server {}: {} tools, {} prompts, {} resources; {} findings\n",
        r.server,
        r.tools,
        r.prompts,
        r.resources,
        r.findings.len()
    );
    for f in &r.findings {
        let severity = match f.severity {
            Severity::High => "high",
            Severity::Medium => "medium",
        };
        let kind = match f.kind {
            ItemKind::Tool => "tool",
            ItemKind::Prompt => "prompt",
            ItemKind::Resource => "resource",
            ItemKind::Server => "server",
        };
        out.push_str(&format!(
            "  [{severity}] {} {kind} `{}` {}: {}\n",
            f.rule, f.item, f.field, f.evidence
        ));
    }
    out
}
