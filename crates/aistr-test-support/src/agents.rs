//! aistr-agents' scripted agents behind the loopback OpenAI server: the server reads the episode's
//! conversation from each chat-completions request (tools, messages, tool results) and answers with
//! the scripted agent's next step as native `tool_calls`, so a scan of an agent suite over real HTTP
//! gives figures that the same agent played in-process implies.

use crate::{Reply, Script, ScriptedCall, SeenRequest};
use aistr_agents::harness::{Agent, AgentStep, Conversation, Turn};
use aistr_agents::scripted::{Mode, ScriptedAgent};
use aistr_agents::suite::{Environment, Suite};
use aistr_core::{ToolCall, ToolSpec};
use serde_json::Value;
use std::sync::Arc;

/// The conversation an OpenAI chat-completions request carries, as aistr-agents sees it.
pub fn conversation_of(body: &Value) -> Conversation {
    let tools = body["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| ToolSpec {
            name: t["function"]["name"].as_str().unwrap_or_default().into(),
            description: t["function"]["description"].as_str().unwrap_or_default().into(),
            parameters: t["function"]["parameters"].clone(),
        })
        .collect();
    let text = |m: &Value| m["content"].as_str().unwrap_or_default().to_owned();
    let turns = body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| match m["role"].as_str().unwrap_or_default() {
            "system" => Turn::System { content: text(m) },
            "user" => Turn::User { content: text(m) },
            "tool" => Turn::Tool {
                call_id: m["tool_call_id"].as_str().unwrap_or_default().into(),
                name: String::new(),
                content: text(m),
                is_error: false,
            },
            _ => Turn::Assistant {
                content: text(m),
                calls: m["tool_calls"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|c| ToolCall {
                        id: c["id"].as_str().unwrap_or_default().into(),
                        name: c["function"]["name"].as_str().unwrap_or_default().into(),
                        arguments: serde_json::from_str(c["function"]["arguments"].as_str().unwrap_or("{}"))
                            .unwrap_or_default(),
                    })
                    .collect(),
            },
        })
        .collect();
    Conversation { tools, turns }
}

/// A server that answers as aistr-agents' scripted agent would on `suite`; `fail_prompt`: requests
/// of episodes with this user prompt fail with a 400 once the agent has made a call (a transport
/// failure mid-way).
#[must_use]
pub fn scripted_server<E: Environment + 'static>(
    suite: fn() -> Suite<E>,
    mode: Mode,
    fail_prompt: Option<String>,
) -> Script {
    Arc::new(move |r: &SeenRequest| {
        let suite = suite();
        let conversation = conversation_of(&r.body);
        if fail_prompt.as_deref() == Some(conversation.user_prompt()) && !conversation.is_fresh() {
            return Reply::Status {
                code: 400,
                retry_after: None,
            };
        }
        let mut agent = ScriptedAgent::new(&suite, mode);
        match Agent::step(&mut agent, &conversation) {
            Ok(AgentStep::Answer(a)) => Reply::Text(a),
            Ok(AgentStep::ToolCalls { content, calls }) => Reply::ToolCalls(
                content,
                calls
                    .into_iter()
                    .enumerate()
                    .map(|(i, c)| ScriptedCall {
                        id: format!("call_{}_{i}", r.nth),
                        name: c.name,
                        arguments: c.arguments,
                    })
                    .collect(),
            ),
            Err(e) => Reply::Malformed(e.0),
        }
    })
}

/// The figures the scripted agent in `mode` gives when played in-process over the episodes `config`
/// plans on `suite`, kept to the first `users` user tasks and `injections` injection tasks (what a
/// scan with `--limit users` and `--agent-injections injections` plays): the expected report.
///
/// # Panics
/// When `config` does not plan (a test's own mistake).
#[must_use]
pub fn implied<E: Environment>(
    suite: &Suite<E>,
    config: &aistr_agents::runner::RunConfig,
    mode: Mode,
    users: usize,
    injections: usize,
) -> aistr_agents::metrics::SuiteMetrics {
    let outcomes: Vec<_> = aistr_agents::runner::plan(suite, config)
        .expect("the test's config plans")
        .into_iter()
        .filter(|p| p.user_task < users && p.injection.as_ref().is_none_or(|i| i.task < injections))
        .map(|p| {
            let (pre, episode) = p.start(suite, config.budget);
            let episode = aistr_agents::harness::play(&mut ScriptedAgent::new(suite, mode), episode);
            p.score(suite, &pre, &episode)
        })
        .collect();
    aistr_agents::metrics::summarize("scripted", &outcomes).remove(0)
}
