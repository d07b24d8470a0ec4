//! One loaded model serving many concurrent callers, with continuous batching.
//!
//! A scan sends several attempts at once; behind a mutex they queued, one whole reply after
//! another, and each decode step streamed every weight from memory for one token. A
//! [`BatchedModel`] owns the [`LocalModel`] on a thread of its own: every step it admits waiting
//! conversations (up to `max_batch` in flight), prefills the newcomers and decodes one token for
//! every running one in the same pass ([`LocalModel::step`]), and hands each reply back as soon as
//! it ends, so sequences join and leave between steps. Each conversation keeps its own cache and
//! seeded sampler, so its tokens do not depend on what it was batched with.
//!
//! Work that needs the model itself (scoring continuations, tokenizing) runs on the same thread
//! between steps ([`BatchedModel::with_model`]); it uses the model's own cache, not the
//! sequences'. Architectures that cannot batch serve one conversation at a time.

use std::collections::VecDeque;
use std::sync::mpsc;

use aistr_core::Message;

use crate::{Generation, LocalModel, LocalModelError, Sequence};

type Reply<T> = mpsc::Sender<Result<T, LocalModelError>>;

enum Job {
    Chat {
        messages: Vec<Message>,
        max_tokens: u32,
        temperature: f32,
        seed: u64,
        reply: Reply<Generation>,
    },
    Run(Box<dyn FnOnce(&mut LocalModel) + Send>),
}

/// A handle to a model served by its own batching thread; cheap to clone, usable from any thread.
/// The thread ends when the last handle is dropped.
#[derive(Clone)]
pub struct BatchedModel {
    jobs: mpsc::Sender<Job>,
    max_batch: usize,
}

impl std::fmt::Debug for BatchedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchedModel")
            .field("max_batch", &self.max_batch)
            .finish_non_exhaustive()
    }
}

impl BatchedModel {
    /// Moves `model` onto a serving thread that runs up to `max_batch` conversations per step
    /// (1 for an architecture that cannot batch, whatever is asked).
    #[must_use]
    pub fn spawn(model: LocalModel, max_batch: usize) -> BatchedModel {
        let max_batch = if model.can_batch() { max_batch.max(1) } else { 1 };
        let (jobs, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("aistr-local-model".into())
            .spawn(move || serve(model, &queue, max_batch))
            .unwrap_or_else(|e| panic!("cannot start the local model thread: {e}"));
        BatchedModel { jobs, max_batch }
    }

    /// How many conversations share a step; what a caller's concurrency should be.
    #[must_use]
    pub fn max_batch(&self) -> usize {
        self.max_batch
    }

    /// [`LocalModel::chat`], batched with whatever else is running; blocks until the reply is
    /// complete.
    pub fn chat(
        &self,
        messages: &[Message],
        max_tokens: u32,
        temperature: f32,
        seed: u64,
    ) -> Result<Generation, LocalModelError> {
        let (reply, answer) = mpsc::channel();
        self.send(Job::Chat {
            messages: messages.to_vec(),
            max_tokens,
            temperature,
            seed,
            reply,
        })?;
        answer.recv().map_err(|_| gone())?
    }

    /// Runs `f` on the model between two steps (scoring, tokenizing); blocks until it returns.
    pub fn with_model<T, F>(&self, f: F) -> Result<T, LocalModelError>
    where
        T: Send + 'static,
        F: FnOnce(&mut LocalModel) -> Result<T, LocalModelError> + Send + 'static,
    {
        let (reply, answer) = mpsc::channel();
        self.send(Job::Run(Box::new(move |model| {
            // The caller may have gone away; then nobody wants the result.
            let _ = reply.send(f(model));
        })))?;
        answer.recv().map_err(|_| gone())?
    }

    fn send(&self, job: Job) -> Result<(), LocalModelError> {
        self.jobs.send(job).map_err(|_| gone())
    }
}

fn gone() -> LocalModelError {
    LocalModelError::Serving("the model's serving thread has stopped".into())
}

/// The serving loop: admit, step, reply, until every handle is dropped and nothing is left.
fn serve(mut model: LocalModel, queue: &mpsc::Receiver<Job>, max_batch: usize) {
    let mut waiting: VecDeque<Job> = VecDeque::new();
    let mut running: Vec<(Sequence, Reply<Generation>)> = Vec::new();
    loop {
        if running.is_empty() && waiting.is_empty() {
            match queue.recv() {
                Ok(job) => waiting.push_back(job),
                Err(_) => return,
            }
        }
        waiting.extend(queue.try_iter());
        // Arrival order: model work runs at once, conversations join while there is room.
        while running.len() < max_batch || matches!(waiting.front(), Some(Job::Run(_))) {
            let Some(job) = waiting.pop_front() else { break };
            match job {
                Job::Run(f) => f(&mut model),
                Job::Chat {
                    messages,
                    max_tokens,
                    temperature,
                    seed,
                    reply,
                } => {
                    if !model.can_batch() {
                        let _ = reply.send(model.chat(&messages, max_tokens, temperature, seed));
                        continue;
                    }
                    match model.begin(&messages, max_tokens, temperature, seed) {
                        Ok(seq) if seq.is_finished() => {
                            let _ = reply.send(model.finish(seq));
                        }
                        Ok(seq) => running.push((seq, reply)),
                        Err(e) => {
                            let _ = reply.send(Err(e));
                        }
                    }
                }
            }
        }
        if running.is_empty() {
            continue;
        }
        let mut batch: Vec<&mut Sequence> = running.iter_mut().map(|(s, _)| s).collect();
        // A panic inside candle fails this batch's replies, not the thread every caller shares.
        let stepped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| model.step(&mut batch)))
            .unwrap_or_else(|_| Err(LocalModelError::Serving("the forward pass panicked".into())));
        if let Err(e) = stepped {
            let message = e.to_string();
            for (_, reply) in running.drain(..) {
                let _ = reply.send(Err(LocalModelError::Serving(format!(
                    "a batched step failed: {message}"
                ))));
            }
            continue;
        }
        let mut i = 0;
        while i < running.len() {
            if running[i].0.is_finished() {
                let (seq, reply) = running.remove(i);
                let _ = reply.send(model.finish(seq));
            } else {
                i += 1;
            }
        }
    }
}
