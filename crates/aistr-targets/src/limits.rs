//! Per-target politeness: a concurrency cap, a requests-per-minute limiter, and the retry policy
//! with exponential backoff that honours `Retry-After`.

use governor::{DefaultDirectRateLimiter, Quota};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Retry policy for one target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first try (0 = no retry).
    pub max_retries: u32,
    /// First backoff delay.
    pub initial_backoff: Duration,
    /// Longest backoff delay, and the cap on any `Retry-After` we honour.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 4,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Delay before retry number `retry` (1-based): the server's `Retry-After` when given (capped),
    /// else exponential backoff with up to 25% jitter.
    #[must_use]
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(ra) = retry_after {
            return ra.min(self.max_backoff);
        }
        let exp = self
            .initial_backoff
            .saturating_mul(1u32 << retry.saturating_sub(1).min(16));
        let base = exp.min(self.max_backoff);
        let jitter = base.mul_f64(rand::random::<f64>() * 0.25);
        (base + jitter).min(self.max_backoff)
    }
}

/// A request rate shared with other processes (the workers of one run in a shared journal): each
/// request waits for its turn, which the implementation coordinates (aistr-session's is a slot
/// reserved in the journal's database).
#[async_trait::async_trait]
pub trait SharedPacer: Send + Sync {
    /// Waits until this request may be sent.
    async fn wait_turn(&self);
}

/// An optional [`SharedPacer`] carried by a target's settings. It is runtime wiring, not part of
/// what a target is: it never serialises and compares equal to any other.
#[derive(Clone, Default)]
pub struct Pacer(pub Option<Arc<dyn SharedPacer>>);

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Pacer(shared)"
        } else {
            "Pacer(none)"
        })
    }
}

impl PartialEq for Pacer {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// Concurrency and rate limits shared by every request to one target.
#[derive(Clone)]
pub struct Limits {
    concurrency: usize,
    semaphore: Arc<Semaphore>,
    rate: Option<Arc<DefaultDirectRateLimiter>>,
    pacer: Pacer,
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits")
            .field("concurrency", &self.concurrency)
            .field("rate_limited", &self.rate.is_some())
            .field("pacer", &self.pacer)
            .finish()
    }
}

impl Limits {
    /// `concurrency` requests in flight at most; `rpm` requests per minute at most (None = unlimited).
    #[must_use]
    pub fn new(concurrency: usize, rpm: Option<u32>) -> Self {
        let concurrency = concurrency.max(1);
        let rate = rpm.and_then(NonZeroU32::new).map(|rpm| {
            // Allow a burst of up to a second's worth so short runs aren't throttled to a crawl.
            let burst = NonZeroU32::new((rpm.get() / 60).max(1)).unwrap_or(NonZeroU32::MIN);
            Arc::new(governor::RateLimiter::direct(
                Quota::per_minute(rpm).allow_burst(burst),
            ))
        });
        Self {
            concurrency,
            semaphore: Arc::new(Semaphore::new(concurrency)),
            rate,
            pacer: Pacer::default(),
        }
    }

    /// These limits, with every request also waiting for its turn under `pacer`.
    #[must_use]
    pub fn with_pacer(mut self, pacer: Pacer) -> Self {
        self.pacer = pacer;
        self
    }

    /// The concurrency cap.
    #[must_use]
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// Waits for a concurrency slot and a rate-limit token. Hold the permit for the request's life.
    pub async fn acquire(&self) -> tokio::sync::OwnedSemaphorePermit {
        let permit = self
            .semaphore
            .clone()
            .acquire_owned()
            .await
            .expect("semaphore is never closed");
        if let Some(rate) = &self.rate {
            rate.until_ready().await;
        }
        if let Some(pacer) = &self.pacer.0 {
            pacer.wait_turn().await;
        }
        permit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_wins_and_is_capped() {
        let p = RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        };
        assert_eq!(p.delay(1, Some(Duration::from_secs(2))), Duration::from_secs(2));
        assert_eq!(p.delay(1, Some(Duration::from_secs(500))), Duration::from_secs(5));
        let d3 = p.delay(3, None);
        assert!(
            d3 >= Duration::from_millis(400) && d3 <= Duration::from_millis(500),
            "{d3:?}"
        );
    }
}
