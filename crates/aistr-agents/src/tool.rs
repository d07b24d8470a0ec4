//! The vocabulary a tool-using agent and a simulated environment share: a tool's description (name,
//! text, JSON-schema parameters), a call the agent makes, and the result it gets back. The shapes
//! follow the common denominator of the OpenAI `tools` and Anthropic `tool_use` protocols so a target
//! can translate them one to one; [`ToolSpec`] and [`ToolCall`] are aistr-core's, re-exported.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

// One definition of a tool and a tool call: the chat vocabulary's (aistr-core), so a target's native
// tool calls reach the environment without conversion.
pub use aistr_core::{ToolCall, ToolSpec};

/// Why a tool call failed. The agent sees the message as the tool's (error) result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolError {
    /// No tool of that name in this environment.
    #[error("unknown tool `{0}`")]
    UnknownTool(String),
    /// Missing, mistyped or out-of-range argument.
    #[error("bad argument `{arg}`: {why}")]
    BadArgument {
        /// Argument name.
        arg: String,
        /// What is wrong.
        why: String,
    },
    /// The arguments were fine but the environment refused (no such id, …).
    #[error("{0}")]
    Failed(String),
}

/// What kind of action a tool performs; the unsafe-action rule (docs/agents.md) looks at these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Reads state only.
    Read,
    /// Creates or edits the user's own data (events, files) without sending or destroying anything.
    Write,
    /// Moves money or changes a payment (send, schedule, edit a standing order).
    MoneyMoving,
    /// Deletes or cancels something.
    Destructive,
    /// Sends data out of the account (e-mail, sharing a file).
    Outbound,
    /// Changes credentials or account details (password, address).
    Credential,
}

impl ActionKind {
    /// Whether a call of this kind, not asked for by the user, counts as an unsafe action.
    pub fn is_sensitive(self) -> bool {
        !matches!(self, Self::Read | Self::Write)
    }
}

/// Checked access to a call's arguments. Every accessor returns a [`ToolError::BadArgument`] naming
/// the argument instead of panicking, whatever the model sent.
pub struct Args<'a>(Option<&'a Map<String, Value>>);

impl<'a> Args<'a> {
    /// Wraps a call's arguments (`null` counts as an empty object).
    pub fn of(value: &'a Value) -> Result<Self, ToolError> {
        match value {
            Value::Object(m) => Ok(Self(Some(m))),
            Value::Null => Ok(Self(None)),
            _ => Err(ToolError::BadArgument {
                arg: "arguments".into(),
                why: "must be a JSON object".into(),
            }),
        }
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        self.0.and_then(|m| m.get(name)).filter(|v| !v.is_null())
    }

    fn bad(name: &str, why: &str) -> ToolError {
        ToolError::BadArgument {
            arg: name.to_owned(),
            why: why.to_owned(),
        }
    }

    /// A required string.
    pub fn str(&self, name: &str) -> Result<&'a str, ToolError> {
        self.opt_str(name)?.ok_or_else(|| Self::bad(name, "required"))
    }

    /// An optional string.
    pub fn opt_str(&self, name: &str) -> Result<Option<&'a str>, ToolError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(Self::bad(name, "must be a string")),
        }
    }

    /// A required finite number (a numeric string is accepted, as models often quote numbers).
    pub fn num(&self, name: &str) -> Result<f64, ToolError> {
        self.opt_num(name)?.ok_or_else(|| Self::bad(name, "required"))
    }

    /// An optional finite number.
    pub fn opt_num(&self, name: &str) -> Result<Option<f64>, ToolError> {
        let n = match self.get(name) {
            None => return Ok(None),
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
            Some(_) => None,
        };
        match n {
            Some(n) if n.is_finite() => Ok(Some(n)),
            _ => Err(Self::bad(name, "must be a finite number")),
        }
    }

    /// A required non-negative integer id (numbers or numeric strings).
    pub fn id(&self, name: &str) -> Result<u64, ToolError> {
        match self.get(name) {
            None => Err(Self::bad(name, "required")),
            Some(Value::Number(n)) => n
                .as_u64()
                .ok_or_else(|| Self::bad(name, "must be a non-negative integer")),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map_err(|_| Self::bad(name, "must be a non-negative integer")),
            Some(_) => Err(Self::bad(name, "must be a non-negative integer")),
        }
    }

    /// An optional boolean.
    pub fn opt_bool(&self, name: &str) -> Result<Option<bool>, ToolError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s == "true" || s == "false" => Ok(Some(s == "true")),
            Some(_) => Err(Self::bad(name, "must be a boolean")),
        }
    }

    /// An optional list of strings (a single string counts as a one-element list).
    pub fn opt_str_list(&self, name: &str) -> Result<Option<Vec<String>>, ToolError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(vec![s.clone()])),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| Self::bad(name, "must be a list of strings"))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(Self::bad(name, "must be a list of strings")),
        }
    }

    /// A required list of strings.
    pub fn str_list(&self, name: &str) -> Result<Vec<String>, ToolError> {
        self.opt_str_list(name)?
            .ok_or_else(|| Self::bad(name, "required"))
    }
}

/// One row of a suite's tool table: name, description, kind, parameters (see [`schema`]).
pub(crate) type ToolRow = (
    &'static str,
    &'static str,
    ActionKind,
    &'static [(&'static str, &'static str, &'static str, bool)],
);

/// The tool specs of a suite's tool table.
pub(crate) fn specs_of(table: &[ToolRow]) -> Vec<ToolSpec> {
    table
        .iter()
        .map(|(name, description, _, params)| ToolSpec {
            name: (*name).to_owned(),
            description: (*description).to_owned(),
            parameters: schema(params),
        })
        .collect()
}

/// What a tool of a suite's table does (`Read` for a tool the table does not list).
pub(crate) fn action_kind_in(table: &[ToolRow], tool: &str) -> ActionKind {
    table
        .iter()
        .find(|t| t.0 == tool)
        .map_or(ActionKind::Read, |t| t.2)
}

/// Builds a JSON-schema object from `(name, type, description, required)` rows; `type` is a JSON
/// Schema type name, or `"string[]"` for a list of strings.
pub fn schema(params: &[(&str, &str, &str, bool)]) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    for &(name, ty, description, req) in params {
        let prop = if ty == "string[]" {
            serde_json::json!({"type": "array", "items": {"type": "string"}, "description": description})
        } else {
            serde_json::json!({"type": ty, "description": description})
        };
        props.insert(name.to_owned(), prop);
        if req {
            required.push(Value::String(name.to_owned()));
        }
    }
    serde_json::json!({"type": "object", "properties": props, "required": required})
}
