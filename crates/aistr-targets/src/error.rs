//! Typed target failures. The kind decides whether a retry may help, and every failure that survives
//! the retries ends as an *unscored* attempt with this message as its reason.

/// What went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetErrorKind {
    /// Connection refused, reset, DNS.
    Transport,
    /// No complete answer within the timeout.
    Timeout,
    /// HTTP 429.
    RateLimited,
    /// HTTP 5xx.
    Server,
    /// HTTP 4xx other than 429: retrying will not help.
    Client,
    /// The body was not the JSON we expected.
    Malformed,
    /// A streamed answer ended before its end marker.
    CutStream,
    /// The body exceeded the size cap.
    TooLarge,
    /// Misconfiguration (missing key variable, bad URL, missing model file).
    Config,
    /// The local model failed.
    Model,
}

impl TargetErrorKind {
    /// Whether another try may succeed.
    #[must_use]
    pub fn retryable(self) -> bool {
        matches!(
            self,
            Self::Transport
                | Self::Timeout
                | Self::RateLimited
                | Self::Server
                | Self::Malformed
                | Self::CutStream
        )
    }

    /// Short name for reasons and logs.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Transport => "transport",
            Self::Timeout => "timeout",
            Self::RateLimited => "rate_limited",
            Self::Server => "server_error",
            Self::Client => "client_error",
            Self::Malformed => "malformed",
            Self::CutStream => "cut_stream",
            Self::TooLarge => "too_large",
            Self::Config => "config",
            Self::Model => "model",
        }
    }
}

/// A failed request, after any retries.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{} after {tries} tries: {message}", kind.as_str())]
pub struct TargetError {
    /// What kind of failure.
    pub kind: TargetErrorKind,
    /// Detail (never contains a secret).
    pub message: String,
    /// The raw body received with the last failure, if any.
    pub raw: Option<String>,
    /// HTTP tries made.
    pub tries: u32,
}

impl TargetError {
    /// A failure of one try.
    pub fn new(kind: TargetErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            raw: None,
            tries: 1,
        }
    }

    /// Attaches the raw body.
    #[must_use]
    pub fn with_raw(mut self, raw: impl Into<String>) -> Self {
        self.raw = Some(raw.into());
        self
    }
}
