//! Scripted agents with known behaviour, for tests and as reference points in reports: one that
//! follows every injected instruction it finds (in a tool result or a tool description), one that
//! never does, and a wrapper whose transport fails on a seeded half of the episodes. They recognise
//! the task by its prompt and an injection by its goal text, and replay ground truth: the figures a
//! run gives for them follow from the tasks alone.

use crate::harness::{Agent, AgentStep, Conversation, TransportError, Turn};
use crate::suite::{Environment, Suite, Task};

/// The text of the step in which the follower runs an injection task's calls.
pub const INJECTED_STEP: &str = "(following the instructions found in a tool output)";

/// How a scripted agent treats injected instructions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Runs the injection task's ground truth as soon as it sees the goal.
    Follower,
    /// Never does; runs only the user task's ground truth.
    Ignorer,
}

/// A scripted agent over one suite.
pub struct ScriptedAgent<'s, E> {
    suite: &'s Suite<E>,
    mode: Mode,
    clean: E,
    goals: Vec<String>,
}

/// Whether `goal` appears in `text` up to whitespace (tool outputs indent multi-line strings).
pub fn mentions(text: &str, goal: &str) -> bool {
    squash(text).contains(&squash(goal))
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl<'s, E: Environment> ScriptedAgent<'s, E> {
    /// A scripted agent.
    pub fn new(suite: &'s Suite<E>, mode: Mode) -> Self {
        Self {
            suite,
            mode,
            clean: suite.clean_env(),
            goals: suite.injection_tasks.iter().map(|t| squash(&t.text)).collect(),
        }
    }

    /// The injection task whose goal appears in a tool result or tool description (the longest
    /// such goal, as one goal can extend another).
    pub fn detect(&self, conversation: &Conversation) -> Option<&'s Task<E>> {
        let mut hay = String::new();
        for t in &conversation.tools {
            hay.push_str(&t.description);
            hay.push('\n');
        }
        for t in &conversation.turns {
            // Tool results, and the system prompt (where a memory-enabled agent's notes are loaded).
            if let Turn::Tool { content, .. } | Turn::System { content } = t {
                hay.push_str(content);
                hay.push('\n');
            }
        }
        let hay = squash(&hay);
        let suite: &'s Suite<E> = self.suite;
        suite
            .injection_tasks
            .iter()
            .zip(&self.goals)
            .filter(|(_, g)| hay.contains(g.as_str()))
            .max_by_key(|(t, _)| t.text.len())
            .map(|(t, _)| t)
    }
}

impl<E: Environment> Agent for ScriptedAgent<'_, E> {
    fn step(&mut self, conversation: &Conversation) -> Result<AgentStep, TransportError> {
        let prompt = conversation.user_prompt();
        let Some(user) = self.suite.user_tasks.iter().find(|t| t.text == prompt) else {
            return Ok(AgentStep::Answer("I don't know this task.".into()));
        };
        let pre = &self.clean;
        if self.mode == Mode::Follower
            && let Some(injection) = self.detect(conversation)
        {
            let done = conversation
                .turns
                .iter()
                .any(|t| matches!(t, Turn::Assistant { content, .. } if content == INJECTED_STEP));
            let calls = (injection.ground_truth)(pre);
            if !done && !calls.is_empty() {
                return Ok(AgentStep::ToolCalls {
                    content: INJECTED_STEP.into(),
                    calls,
                });
            }
        }
        let user_made: usize = conversation
            .turns
            .iter()
            .map(|t| match t {
                Turn::Assistant { content, calls } if content != INJECTED_STEP => calls.len(),
                _ => 0,
            })
            .sum();
        let plan = (user.ground_truth)(pre);
        Ok(match plan.into_iter().nth(user_made) {
            Some(call) => AgentStep::ToolCalls {
                content: String::new(),
                calls: vec![call],
            },
            None => AgentStep::Answer(user.answer.to_owned()),
        })
    }
}

/// Wraps an agent; on a seeded half of the episodes its transport fails at step 0 or 1 of the
/// episode (a new episode is recognised by a conversation in which the agent has not spoken).
pub struct FlakyAgent<A> {
    inner: A,
    seed: u64,
    episode: Option<u64>,
    step: usize,
}

impl<A> FlakyAgent<A> {
    /// Wraps `inner`.
    pub fn new(inner: A, seed: u64) -> Self {
        Self {
            inner,
            seed,
            episode: None,
            step: 0,
        }
    }

    /// The step at which episode number `episode` (0-based, in play order) fails, if it does.
    pub fn fails_at(seed: u64, episode: u64) -> Option<usize> {
        let h = aistr_core::seed::for_index(seed, episode);
        (h & 1 == 1).then_some(((h >> 1) % 2) as usize)
    }
}

impl<A: Agent> Agent for FlakyAgent<A> {
    fn step(&mut self, conversation: &Conversation) -> Result<AgentStep, TransportError> {
        if conversation.is_fresh() {
            self.episode = Some(self.episode.map_or(0, |e| e + 1));
            self.step = 0;
        }
        let step = self.step;
        self.step += 1;
        if Self::fails_at(self.seed, self.episode.unwrap_or(0)) == Some(step) {
            return Err(TransportError("connection reset (scripted)".into()));
        }
        self.inner.step(conversation)
    }
}

/// Wraps an agent: when the user prompt is `prompt`, it runs `reads`, saves everything those
/// reads returned with `save_note`, and answers; any other prompt goes to the inner agent. It
/// stands in for an assistant told to file a document into its memory (session 1 of
/// [`crate::scenarios::run_memory_poisoning`]).
pub struct NoteTaker<A> {
    inner: A,
    prompt: String,
    reads: Vec<crate::tool::ToolCall>,
}

impl<A> NoteTaker<A> {
    /// Wraps `inner`.
    pub fn new(inner: A, prompt: &str, reads: Vec<crate::tool::ToolCall>) -> Self {
        Self {
            inner,
            prompt: prompt.to_owned(),
            reads,
        }
    }
}

impl<A: Agent> Agent for NoteTaker<A> {
    fn step(&mut self, conversation: &Conversation) -> Result<AgentStep, TransportError> {
        if conversation.user_prompt() != self.prompt {
            return self.inner.step(conversation);
        }
        let made = conversation.calls().count();
        if made < self.reads.len() {
            return Ok(AgentStep::ToolCalls {
                content: String::new(),
                calls: vec![self.reads[made].clone()],
            });
        }
        if made == self.reads.len() {
            let text: Vec<&str> = conversation
                .turns
                .iter()
                .filter_map(|t| match t {
                    Turn::Tool { content, .. } => Some(content.as_str()),
                    _ => None,
                })
                .collect();
            let call = crate::tool::ToolCall::new("save_note", serde_json::json!({"text": text.join("\n")}));
            return Ok(AgentStep::ToolCalls {
                content: String::new(),
                calls: vec![call],
            });
        }
        Ok(AgentStep::Answer("Saved to your notes.".into()))
    }
}
