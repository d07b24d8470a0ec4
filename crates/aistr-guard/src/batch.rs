//! Micro-batching for the classifier tier. MiniLM costs about 30 ms for one short prompt but about
//! 10 ms per prompt in a batch of eight (measured with `aistr-embed`'s `embed_batch` example), so the
//! guard's screenings that arrive together share one forward pass: a fixed set of worker threads
//! each takes every waiting text (up to `max_batch`) and scores them at once. Callers block on
//! their own answer; nothing is queued without bound because the server admits at most
//! `Limits::classifier_queue` requests into the tier.

use std::collections::VecDeque;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

/// Scores a batch of texts: one score per text, in order, or why the batch failed.
pub type ScoreBatch = dyn Fn(&[&str]) -> Result<Vec<f32>, String> + Send + Sync;

struct Job {
    text: String,
    reply: SyncSender<Result<f32, String>>,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    closed: bool,
}

struct Inner {
    queue: Mutex<Queue>,
    ready: Condvar,
    max_batch: usize,
}

/// The batching front of a scorer; dropping it stops its threads once the queue is empty.
pub struct Batcher {
    inner: Arc<Inner>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Batcher {
    /// Starts `workers` threads (at least one) that score up to `max_batch` texts at a time.
    #[must_use]
    pub fn start(score: Arc<ScoreBatch>, workers: usize, max_batch: usize) -> Self {
        let inner = Arc::new(Inner {
            queue: Mutex::new(Queue::default()),
            ready: Condvar::new(),
            max_batch: max_batch.max(1),
        });
        let threads = (0..workers.max(1))
            .map(|i| {
                let inner = Arc::clone(&inner);
                let score = Arc::clone(&score);
                std::thread::Builder::new()
                    .name(format!("aistr-classifier-{i}"))
                    .spawn(move || work(&inner, &*score))
                    .expect("spawning a classifier thread")
            })
            .collect();
        Self { inner, threads }
    }

    /// Scores one text, batched with whatever else is waiting. Blocks until it is scored.
    pub fn score(&self, text: &str) -> Result<f32, String> {
        let (reply, answer) = sync_channel(1);
        {
            let mut q = self.inner.queue.lock().unwrap_or_else(PoisonError::into_inner);
            if q.closed {
                return Err("the classifier is shutting down".into());
            }
            q.jobs.push_back(Job {
                text: text.to_owned(),
                reply,
            });
        }
        self.inner.ready.notify_one();
        answer
            .recv()
            .unwrap_or_else(|_| Err("the classifier thread stopped".into()))
    }
}

impl Drop for Batcher {
    fn drop(&mut self) {
        self.inner
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .closed = true;
        self.inner.ready.notify_all();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn work(inner: &Inner, score: &ScoreBatch) {
    loop {
        let batch: Vec<Job> = {
            let mut q = inner.queue.lock().unwrap_or_else(PoisonError::into_inner);
            while q.jobs.is_empty() && !q.closed {
                q = inner.ready.wait(q).unwrap_or_else(PoisonError::into_inner);
            }
            if q.jobs.is_empty() {
                return; // closed and drained
            }
            let n = q.jobs.len().min(inner.max_batch);
            q.jobs.drain(..n).collect()
        };
        let texts: Vec<&str> = batch.iter().map(|j| j.text.as_str()).collect();
        // A panicking scorer must not leave callers waiting forever: it becomes an error for them.
        let scored = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| score(&texts)))
            .unwrap_or_else(|_| Err("the classifier panicked".into()));
        match scored {
            Ok(scores) if scores.len() == batch.len() => {
                for (job, s) in batch.into_iter().zip(scores) {
                    let _ = job.reply.send(Ok(s));
                }
            }
            Ok(scores) => {
                let e = format!(
                    "the classifier returned {} scores for {} texts",
                    scores.len(),
                    batch.len()
                );
                for job in batch {
                    let _ = job.reply.send(Err(e.clone()));
                }
            }
            Err(e) => {
                for job in batch {
                    let _ = job.reply.send(Err(e.clone()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A scorer that sleeps per batch and records the batch sizes; score = text length.
    fn recording(sizes: Arc<Mutex<Vec<usize>>>, per_batch: Duration) -> Arc<ScoreBatch> {
        Arc::new(move |texts: &[&str]| {
            sizes.lock().unwrap().push(texts.len());
            std::thread::sleep(per_batch);
            Ok(texts.iter().map(|t| t.len() as f32).collect())
        })
    }

    #[test]
    fn texts_that_wait_together_share_a_batch_and_each_gets_its_own_score() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let b = Arc::new(Batcher::start(
            recording(Arc::clone(&sizes), Duration::from_millis(150)),
            1,
            16,
        ));
        let handles: Vec<_> = (0..9)
            .map(|i| {
                let b = Arc::clone(&b);
                std::thread::spawn(move || b.score(&"x".repeat(i + 1)))
            })
            .collect();
        let scores: Vec<f32> = handles.into_iter().map(|h| h.join().unwrap().unwrap()).collect();
        assert_eq!(scores, (1..=9).map(|n| n as f32).collect::<Vec<_>>());
        let sizes = sizes.lock().unwrap().clone();
        assert_eq!(sizes.iter().sum::<usize>(), 9, "{sizes:?}");
        // One worker, 150 ms per batch: the texts that arrived during the first batch go together.
        assert!(sizes.len() < 9 && sizes.iter().any(|&n| n > 1), "{sizes:?}");
    }

    #[test]
    fn a_batch_is_never_larger_than_max_batch() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let b = Arc::new(Batcher::start(
            recording(Arc::clone(&sizes), Duration::from_millis(50)),
            1,
            3,
        ));
        let handles: Vec<_> = (0..10)
            .map(|_| {
                let b = Arc::clone(&b);
                std::thread::spawn(move || b.score("t"))
            })
            .collect();
        for h in handles {
            h.join().unwrap().unwrap();
        }
        assert!(sizes.lock().unwrap().iter().all(|&n| (1..=3).contains(&n)));
    }

    #[test]
    fn a_failing_or_panicking_scorer_is_an_error_for_every_caller_in_the_batch() {
        let failing: Arc<ScoreBatch> = Arc::new(|_: &[&str]| Err("model error".into()));
        let b = Batcher::start(failing, 1, 8);
        assert_eq!(b.score("a").unwrap_err(), "model error");
        let panicking: Arc<ScoreBatch> = Arc::new(|_: &[&str]| panic!("boom"));
        let b = Batcher::start(panicking, 1, 8);
        assert!(b.score("a").unwrap_err().contains("panicked"));
        // The thread survives the panic and serves the next text.
        assert!(b.score("b").is_err());
        let short: Arc<ScoreBatch> = Arc::new(|_: &[&str]| Ok(Vec::new()));
        let b = Batcher::start(short, 1, 8);
        assert!(b.score("a").unwrap_err().contains("0 scores for 1"));
    }
}
