//! The HTTP machinery every HTTP target shares (`openai`, `anthropic`, the generic `http` app):
//! the client, the concurrency and RPM limits, the retry loop honouring `Retry-After`, the timeout
//! of one try, status-to-failure mapping and the capped body reader. A target only says how to make
//! one try; how often and how politely it is tried lives here, once.

use crate::limits::{Limits, RetryPolicy};
use crate::{TargetError, TargetErrorKind};
use futures::StreamExt;
use std::future::Future;
use std::time::Duration;

/// A failed try, with the server's `Retry-After` when it sent one.
pub(crate) struct Failure {
    pub(crate) error: TargetError,
    pub(crate) retry_after: Option<Duration>,
}

impl From<TargetError> for Failure {
    fn from(error: TargetError) -> Self {
        Self {
            error,
            retry_after: None,
        }
    }
}

impl Failure {
    pub(crate) fn from_reqwest(e: &reqwest::Error) -> Self {
        let kind = if e.is_timeout() {
            TargetErrorKind::Timeout
        } else {
            TargetErrorKind::Transport
        };
        // reqwest errors carry the URL, never headers, so no secret can leak here.
        Self {
            error: TargetError::new(kind, e.to_string()),
            retry_after: None,
        }
    }
}

/// Client, limits and policy of one HTTP target.
#[derive(Debug)]
pub(crate) struct Transport {
    pub(crate) client: reqwest::Client,
    pub(crate) limits: Limits,
    pub(crate) timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) max_response_bytes: usize,
}

impl Transport {
    pub(crate) fn new(
        concurrency: usize,
        rpm: Option<u32>,
        timeout: Duration,
        retry: RetryPolicy,
        max_response_bytes: usize,
    ) -> Result<Self, TargetError> {
        Self::with_builder(
            reqwest::Client::builder(),
            concurrency,
            rpm,
            timeout,
            retry,
            max_response_bytes,
        )
    }

    /// These settings, with every request also paced by `pacer` (a rate shared across processes).
    pub(crate) fn paced(mut self, pacer: crate::Pacer) -> Self {
        self.limits = self.limits.with_pacer(pacer);
        self
    }

    /// Like [`Transport::new`] from a client builder a target has configured further (a cookie jar).
    pub(crate) fn with_builder(
        builder: reqwest::ClientBuilder,
        concurrency: usize,
        rpm: Option<u32>,
        timeout: Duration,
        retry: RetryPolicy,
        max_response_bytes: usize,
    ) -> Result<Self, TargetError> {
        let client = builder
            .connect_timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(concurrency.max(1))
            .build()
            .map_err(|e| TargetError::new(TargetErrorKind::Config, format!("HTTP client: {e}")))?;
        Ok(Self {
            client,
            limits: Limits::new(concurrency, rpm),
            timeout,
            retry,
            max_response_bytes,
        })
    }

    /// Runs `once` under the limits and the timeout until it succeeds, fails with a kind that a retry
    /// cannot help, or the retries are spent. The result carries the number of tries made.
    pub(crate) async fn run<T, F, Fut>(&self, once: F) -> Result<(T, u32), TargetError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let mut tries = 0u32;
        loop {
            tries += 1;
            let outcome = {
                let _permit = self.limits.acquire().await;
                match tokio::time::timeout(self.timeout, once()).await {
                    Ok(r) => r,
                    Err(_) => Err(TargetError::new(
                        TargetErrorKind::Timeout,
                        format!("no complete answer within {:?}", self.timeout),
                    )
                    .into()),
                }
            };
            match outcome {
                Ok(value) => return Ok((value, tries)),
                Err(Failure {
                    mut error,
                    retry_after,
                }) => {
                    error.tries = tries;
                    if !error.kind.retryable() || tries > self.retry.max_retries {
                        return Err(error);
                    }
                    let delay = self.retry.delay(tries, retry_after);
                    tracing::debug!(kind = error.kind.as_str(), ?delay, tries, "retrying");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// Sends a request; a non-success status becomes a failure of the matching kind (429: rate
    /// limited; 5xx incl. Anthropic's 529 overloaded: server; other 4xx: client) with its body.
    pub(crate) async fn send(&self, builder: reqwest::RequestBuilder) -> Result<reqwest::Response, Failure> {
        let response = builder.send().await.map_err(|e| Failure::from_reqwest(&e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64);
        let raw = read_capped(response, self.max_response_bytes)
            .await
            .unwrap_or_default();
        let kind = if status.as_u16() == 429 {
            TargetErrorKind::RateLimited
        } else if status.is_server_error() {
            TargetErrorKind::Server
        } else {
            TargetErrorKind::Client
        };
        Err(Failure {
            error: TargetError::new(kind, format!("HTTP {status}")).with_raw(raw),
            retry_after,
        })
    }
}

/// Reads a whole body, failing once it exceeds `cap` bytes (a hostile server cannot exhaust memory);
/// a connection that breaks mid-body is a cut stream.
pub(crate) async fn read_capped(response: reqwest::Response, cap: usize) -> Result<String, Failure> {
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            let mut f = Failure::from_reqwest(&e);
            if f.error.kind == TargetErrorKind::Transport {
                f.error.kind = TargetErrorKind::CutStream;
            }
            f.error.raw = Some(String::from_utf8_lossy(&body).into_owned());
            f
        })?;
        if body.len() + chunk.len() > cap {
            return Err(TargetError::new(
                TargetErrorKind::TooLarge,
                format!("response body exceeds {cap} bytes"),
            )
            .into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// Reads the API key variable a config names, so a missing key fails before any request.
pub(crate) fn read_key(
    var: Option<&String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<String>, TargetError> {
    var.map(|var| {
        env(var).ok_or_else(|| {
            TargetError::new(
                TargetErrorKind::Config,
                format!("environment variable `{var}` (the API key) is not set"),
            )
        })
    })
    .transpose()
}

/// A base URL must be http(s); returned without its trailing slash.
pub(crate) fn check_base_url(base_url: &str) -> Result<&str, TargetError> {
    let base = base_url.trim_end_matches('/');
    if base.starts_with("http://") || base.starts_with("https://") {
        Ok(base)
    } else {
        Err(TargetError::new(
            TargetErrorKind::Config,
            format!("base URL `{base}` must start with http:// or https://"),
        ))
    }
}
