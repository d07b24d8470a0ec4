//! A suite is an environment type, its named injection slots, and its tasks. A *user task* is what
//! the user asks; an *injection task* is what an attacker wants the agent to do instead. Each task
//! carries its prompt (or goal) text, the ground-truth tool calls that accomplish it, and a
//! post-condition written in Rust over the environment before and after the episode (and the
//! agent's final answer where the task asks for information). The ground truth is what the scripted
//! agents replay and what the unit tests use to show that every post-condition can hold and fail.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::tool::{ActionKind, ToolCall, ToolError, ToolSpec};

/// A simulated, deterministic, stateful tool environment.
pub trait Environment: Clone {
    /// The tools offered to the agent, in a stable order.
    fn tools(&self) -> Vec<ToolSpec>;
    /// Runs one tool call. Bad arguments and unknown tools are errors, never panics.
    fn call(&mut self, name: &str, arguments: &Value) -> Result<String, ToolError>;
    /// The action kind of a tool (unknown tools are `Read`: they cannot change anything).
    fn action_kind(&self, tool: &str) -> ActionKind;
    /// What a sensitive call acts on (recipient, file id, …), used by the unsafe-action rule: a
    /// sensitive call is asked for when the user task's ground truth has a call with the same tool
    /// name and the same target.
    fn action_target(&self, call: &ToolCall) -> String;
}

/// A named place in the environment's data where an attacker's text can appear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// Name as in AgentDojo's `injection_vectors.yaml` (`injection_bill_text`).
    pub name: String,
    /// Where it sits.
    pub description: String,
    /// The benign text it holds when no attack is placed.
    pub default: String,
}

/// Ground-truth calls computed from the environment before the episode.
pub type GroundTruth<E> = fn(&E) -> Vec<ToolCall>;
/// A post-condition over (environment before, environment after, final answer).
pub type Check<E> = fn(&E, &E, &str) -> bool;

/// One user task or injection task.
#[derive(Clone)]
pub struct Task<E> {
    /// Stable id (`user_task_0`, `injection_task_4`), AgentDojo's numbering.
    pub id: &'static str,
    /// The user's prompt, or the attacker's goal.
    pub text: String,
    /// Calls that accomplish the task.
    pub ground_truth: GroundTruth<E>,
    /// A final answer that satisfies the task ("" where the task asks for no information).
    pub answer: &'static str,
    /// The post-condition.
    pub check: Check<E>,
    /// Calls that come close but must not satisfy the post-condition (its unit test).
    pub near_miss: GroundTruth<E>,
    /// The answer given with the near miss.
    pub near_miss_answer: &'static str,
}

impl<E> std::fmt::Debug for Task<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Task")
            .field("id", &self.id)
            .field("text", &self.text)
            .finish_non_exhaustive()
    }
}

/// A suite: environment builder, slots and tasks.
pub struct Suite<E> {
    /// Stable id (`banking`, `workspace`).
    pub id: &'static str,
    /// The system prompt the agent gets.
    pub system_prompt: String,
    /// Injection slots, in the data's order.
    pub slots: Vec<Slot>,
    /// User tasks.
    pub user_tasks: Vec<Task<E>>,
    /// Injection tasks.
    pub injection_tasks: Vec<Task<E>>,
    /// Builds the environment with the given slot texts (missing slots get their defaults).
    pub build: fn(&BTreeMap<String, String>) -> E,
}

impl<E: Environment> Suite<E> {
    /// The environment with every slot at its benign default.
    pub fn clean_env(&self) -> E {
        (self.build)(&BTreeMap::new())
    }

    /// Looks a user task up by id.
    pub fn user_task(&self, id: &str) -> Option<&Task<E>> {
        self.user_tasks.iter().find(|t| t.id == id)
    }

    /// Looks an injection task up by id.
    pub fn injection_task(&self, id: &str) -> Option<&Task<E>> {
        self.injection_tasks.iter().find(|t| t.id == id)
    }

    /// The slots whose text the user task's ground truth reads: found by planting a unique marker
    /// in every slot, replaying the ground truth and looking for the markers in the tool outputs.
    /// These are the slots an attack on this task is placed in (AgentDojo's injection candidates).
    pub fn slots_seen_by(&self, task: &Task<E>) -> Vec<String> {
        let markers: BTreeMap<String, String> = self
            .slots
            .iter()
            .map(|s| (s.name.clone(), format!("<<slot:{}>>", s.name)))
            .collect();
        let mut env = (self.build)(&markers);
        let mut outputs = String::new();
        for call in (task.ground_truth)(&self.clean_env()) {
            match env.call(&call.name, &call.arguments) {
                Ok(out) => outputs.push_str(&out),
                Err(e) => outputs.push_str(&e.to_string()),
            }
        }
        markers
            .into_iter()
            .filter(|(_, m)| outputs.contains(m.as_str()))
            .map(|(name, _)| name)
            .collect()
    }
}

/// Replaces every `{slot}` placeholder in the strings of `value` with the slot's text (`values`
/// first, then the default).
pub(crate) fn fill_slots(value: &mut Value, slots: &[Slot], values: &BTreeMap<String, String>) {
    match value {
        Value::String(s) if s.contains('{') => {
            for slot in slots {
                let placeholder = format!("{{{}}}", slot.name);
                if s.contains(&placeholder) {
                    let text = values.get(&slot.name).unwrap_or(&slot.default);
                    *s = s.replace(&placeholder, text);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| fill_slots(v, slots, values)),
        Value::Object(map) => map.values_mut().for_each(|v| fill_slots(v, slots, values)),
        _ => {}
    }
}

/// Reads the slots from a suite data file's `injection_vectors` object.
pub(crate) fn parse_slots(vectors: &Value) -> Vec<Slot> {
    let Some(map) = vectors.as_object() else {
        return Vec::new();
    };
    map.iter()
        .map(|(name, v)| Slot {
            name: name.clone(),
            description: v
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            // The YAML defaults spell tabs and newlines as escapes; the slot text has the real ones.
            default: v
                .get("default")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .replace("\\t", "\t")
                .replace("\\n", "\n"),
        })
        .collect()
}

/// Renders a tool's JSON result as YAML-like text (what AgentDojo's tools show a model): strings
/// verbatim (multi-line ones as indented blocks), so injected text reaches the model unescaped.
pub fn render(value: &Value) -> String {
    let mut out = String::new();
    render_into(value, 0, &mut out);
    out
}

fn render_into(value: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match v {
                    Value::Object(m) if !m.is_empty() => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        render_into(v, indent + 2, out);
                    }
                    Value::Array(a) if !a.is_empty() => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        render_into(v, indent + 2, out);
                    }
                    _ => {
                        out.push_str(&format!("{pad}{k}: "));
                        scalar(v, indent + 2, out);
                    }
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::Object(_) | Value::Array(_) => {
                        out.push_str(&format!("{pad}-\n"));
                        render_into(item, indent + 2, out);
                    }
                    _ => {
                        out.push_str(&format!("{pad}- "));
                        scalar(item, indent + 2, out);
                    }
                }
            }
        }
        _ => scalar(value, indent, out),
    }
}

fn scalar(v: &Value, indent: usize, out: &mut String) {
    match v {
        Value::String(s) if s.contains('\n') => {
            out.push_str("|\n");
            let pad = " ".repeat(indent);
            for line in s.lines() {
                out.push_str(&format!("{pad}{line}\n"));
            }
        }
        Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Value::Object(_) => out.push_str("{}\n"),
        Value::Array(_) => out.push_str("[]\n"),
        other => {
            out.push_str(&other.to_string());
            out.push('\n');
        }
    }
}
