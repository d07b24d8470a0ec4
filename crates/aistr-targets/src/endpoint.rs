//! One description of "a model endpoint" for every role a model plays in a scan: the target under
//! test, the L3 attacker and the LLM judge. A front end fills an [`EndpointSpec`] (from flags, a
//! config file, a web form), the scan stores it, and [`EndpointSpec::build`] is the one place a
//! [`Target`] is made from it, with one set of defaults:
//!
//! | setting | default |
//! |---|---|
//! | `timeout_secs` | [`DEFAULT_TIMEOUT_SECS`] (120 s for one whole try) |
//! | `max_retries` | [`DEFAULT_MAX_RETRIES`] (4 retries after the first try, exponential backoff honouring `Retry-After`) |
//! | `concurrency` | [`DEFAULT_CONCURRENCY`] (8 requests in flight; for the local model, the conversations batched per step, also 8) |
//! | `rpm` | none (no requests-per-minute limit) |
//! | `stream` | false |
//! | local `model` | the installed SmolLM2 GGUF (`aistr_local_model::default_model_path`) |
//! | anthropic `base_url` | [`crate::ANTHROPIC_BASE_URL`] (`https://api.anthropic.com/v1`) |
//!
//! An `http` endpoint (a deployed application, not a model API) is described by its `http` table
//! ([`HttpAppSpec`], `[target.http]` in a config file); `base_url`, `model`, `api_key_env` and
//! `stream` do not apply to it.
//!
//! A spec never holds a secret: only the *name* of the variable with the API key, read when the
//! target is built.

use crate::{
    AnthropicConfig, AnthropicTarget, HttpAppConfig, HttpAppSpec, HttpAppTarget, OpenAiConfig, OpenAiTarget,
    RetryPolicy, Target, TargetError, TargetErrorKind,
};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Default timeout of one try, in seconds.
pub const DEFAULT_TIMEOUT_SECS: f64 = 120.0;
/// Default retries after the first try.
pub const DEFAULT_MAX_RETRIES: u32 = 4;
/// Default requests in flight against an HTTP endpoint.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// Which kind of model answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EndpointKind {
    /// Any OpenAI-compatible chat-completions endpoint.
    Openai,
    /// The embedded SmolLM2-135M-Instruct model, on the CPU.
    Local,
    /// Anthropic's Messages API.
    Anthropic,
    /// A generic HTTP application, described by an [`HttpAppSpec`].
    Http,
}

impl EndpointKind {
    /// `openai` or `local`, as stored and printed.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointKind::Openai => "openai",
            EndpointKind::Local => "local",
            EndpointKind::Anthropic => "anthropic",
            EndpointKind::Http => "http",
        }
    }
}

/// A model endpoint as configured (also the `[target]` and `[attacker]` tables of a config file,
/// hence unknown keys are errors).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointSpec {
    /// Which kind of model.
    pub kind: EndpointKind,
    /// Base URL up to `/v1` (openai).
    #[serde(default)]
    pub base_url: Option<String>,
    /// Model name (openai) or GGUF path (local; None = the installed default).
    #[serde(default)]
    pub model: Option<String>,
    /// Name of the environment variable holding the API key (never the key).
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Use server-sent events.
    #[serde(default)]
    pub stream: bool,
    /// Timeout of one try, in seconds.
    #[serde(default = "default_timeout")]
    pub timeout_secs: f64,
    /// Retries after the first try.
    #[serde(default = "default_retries")]
    pub max_retries: u32,
    /// Requests in flight (None = [`DEFAULT_CONCURRENCY`]).
    #[serde(default)]
    pub concurrency: Option<usize>,
    /// Requests per minute at most.
    #[serde(default)]
    pub rpm: Option<u32>,
    /// The application an `http` endpoint talks to (`[target.http]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpAppSpec>,
}

fn default_timeout() -> f64 {
    DEFAULT_TIMEOUT_SECS
}

fn default_retries() -> u32 {
    DEFAULT_MAX_RETRIES
}

impl Default for EndpointSpec {
    /// The embedded local model with the default settings.
    fn default() -> Self {
        Self::of_kind(EndpointKind::Local)
    }
}

/// Why a spec cannot describe a usable endpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// An openai endpoint without a base URL.
    #[error("an openai endpoint needs a base URL")]
    MissingBaseUrl,
    /// An openai endpoint without a model name.
    #[error("an openai endpoint needs a model name")]
    MissingModel,
    /// A timeout that is not a positive number of seconds.
    #[error("timeout_secs must be a positive number of seconds")]
    BadTimeout,
    /// An anthropic endpoint without a model name.
    #[error("an anthropic endpoint needs a model name")]
    MissingAnthropicModel,
    /// An http endpoint without its `[target.http]` table.
    #[error("an http endpoint needs its [target.http] table (method, url, body, response, session)")]
    MissingHttpApp,
    /// A bad `[target.http]` table, naming the key.
    #[error(transparent)]
    BadHttpApp(#[from] crate::HttpSpecError),
}

impl EndpointSpec {
    /// A spec of this kind with every setting at its default.
    #[must_use]
    pub fn of_kind(kind: EndpointKind) -> Self {
        Self {
            kind,
            base_url: None,
            model: None,
            api_key_env: None,
            stream: false,
            timeout_secs: DEFAULT_TIMEOUT_SECS,
            max_retries: DEFAULT_MAX_RETRIES,
            concurrency: None,
            rpm: None,
            http: None,
        }
    }

    /// An Anthropic Messages API endpoint (the public API unless `base_url` is set later).
    #[must_use]
    pub fn anthropic(model: impl Into<String>) -> Self {
        Self {
            model: Some(model.into()),
            ..Self::of_kind(EndpointKind::Anthropic)
        }
    }

    /// An HTTP application endpoint.
    #[must_use]
    pub fn http_app(app: HttpAppSpec) -> Self {
        Self {
            http: Some(app),
            ..Self::of_kind(EndpointKind::Http)
        }
    }

    /// An OpenAI-compatible endpoint with the default settings.
    #[must_use]
    pub fn openai(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base_url: Some(base_url.into()),
            model: Some(model.into()),
            ..Self::of_kind(EndpointKind::Openai)
        }
    }

    /// Checks what can be checked without building: an openai endpoint needs a base URL and a
    /// model, an anthropic one a model, an http one a well-formed `[target.http]` table (its
    /// `${VAR}`s are checked when it is built); the timeout must be positive.
    ///
    /// # Errors
    /// The first problem found.
    pub fn validate(&self) -> Result<(), EndpointError> {
        match self.kind {
            EndpointKind::Openai => {
                if self.base_url.is_none() {
                    return Err(EndpointError::MissingBaseUrl);
                }
                if self.model.is_none() {
                    return Err(EndpointError::MissingModel);
                }
            }
            EndpointKind::Anthropic if self.model.is_none() => {
                return Err(EndpointError::MissingAnthropicModel);
            }
            EndpointKind::Http => {
                // Variables are not the point here: any name passes, so a spec validates anywhere.
                self.http
                    .as_ref()
                    .ok_or(EndpointError::MissingHttpApp)?
                    .check(&|_| Some(String::new()))?;
            }
            EndpointKind::Anthropic | EndpointKind::Local => {}
        }
        if !(self.timeout_secs.is_finite() && self.timeout_secs > 0.0) {
            return Err(EndpointError::BadTimeout);
        }
        Ok(())
    }

    /// The GGUF a local endpoint loads: its `model`, else the installed default.
    #[must_use]
    pub fn local_model_path(&self) -> PathBuf {
        self.model
            .as_ref()
            .map_or_else(default_local_model_path, PathBuf::from)
    }

    /// When this endpoint is the default local model and that resolves to a fallback file (the
    /// slower Q4_1 because Q8_0 is missing), why: a front end shows it on stderr and in the
    /// report's warnings, so a degraded install is never silent.
    #[must_use]
    pub fn fallback_warning(&self) -> Option<String> {
        if self.kind != EndpointKind::Local || self.model.is_some() {
            return None;
        }
        local_model_fallback()
    }

    /// Who this endpoint is, for journals and reports (never a secret): kind and model, plus the
    /// base URL and streaming for HTTP endpoints; a local model is named by its file path.
    #[must_use]
    pub fn identity(&self) -> serde_json::Value {
        match self.kind {
            EndpointKind::Openai => serde_json::json!({
                "kind": "openai", "model": self.model, "base_url": self.base_url, "stream": self.stream
            }),
            EndpointKind::Local => serde_json::json!({
                "kind": "local", "model": self.local_model_path().display().to_string()
            }),
            EndpointKind::Anthropic => serde_json::json!({
                "kind": "anthropic", "model": self.model, "base_url": self.anthropic_base_url(), "stream": self.stream
            }),
            // The URL template as written: `${VAR}`s are not expanded, so no secret is recorded.
            EndpointKind::Http => serde_json::json!({
                "kind": "http",
                "method": self.http.as_ref().map(|h| h.method.clone()),
                "url": self.http.as_ref().map(|h| h.url.clone()),
            }),
        }
    }

    /// The client settings of an openai endpoint.
    #[must_use]
    pub fn openai_config(&self) -> OpenAiConfig {
        let mut c = OpenAiConfig::new(
            self.base_url.clone().unwrap_or_default(),
            self.model.clone().unwrap_or_default(),
        );
        c.api_key_env.clone_from(&self.api_key_env);
        c.stream = self.stream;
        c.timeout = Duration::from_secs_f64(self.timeout_secs);
        c.retry = RetryPolicy {
            max_retries: self.max_retries,
            ..RetryPolicy::default()
        };
        c.concurrency = self.concurrency.unwrap_or(DEFAULT_CONCURRENCY);
        c.rpm = self.rpm;
        c
    }

    fn anthropic_base_url(&self) -> String {
        self.base_url
            .clone()
            .unwrap_or_else(|| crate::ANTHROPIC_BASE_URL.to_owned())
    }

    /// The client settings of an anthropic endpoint (same defaults as openai's).
    #[must_use]
    pub fn anthropic_config(&self) -> AnthropicConfig {
        let o = self.openai_config();
        AnthropicConfig {
            base_url: self.anthropic_base_url(),
            model: o.model,
            api_key_env: o.api_key_env,
            stream: o.stream,
            timeout: o.timeout,
            retry: o.retry,
            concurrency: o.concurrency,
            rpm: o.rpm,
            pacer: o.pacer,
            max_response_bytes: o.max_response_bytes,
        }
    }

    /// The settings of an http endpoint (same transport defaults as openai's), if it has its table.
    #[must_use]
    pub fn http_config(&self) -> Option<HttpAppConfig> {
        let o = self.openai_config();
        self.http.clone().map(|app| HttpAppConfig {
            app,
            timeout: o.timeout,
            retry: o.retry,
            concurrency: o.concurrency,
            rpm: o.rpm,
            pacer: o.pacer,
            max_response_bytes: o.max_response_bytes,
        })
    }

    /// Builds the endpoint: an HTTP client (the API key variable is read now, so a missing key fails
    /// before any request) or the loaded local model.
    ///
    /// # Errors
    /// A config error: a bad URL, a missing key variable, a model file that cannot be loaded, or a
    /// local endpoint in a build without the `local` feature.
    pub fn build(&self) -> Result<Arc<dyn Target>, TargetError> {
        self.build_paced(&crate::Pacer::default())
    }

    /// [`build`](Self::build), with every request of an HTTP endpoint also waiting for its turn
    /// under `pacer` (a rate shared with other processes; the local model is not paced).
    pub fn build_paced(&self, pacer: &crate::Pacer) -> Result<Arc<dyn Target>, TargetError> {
        self.validate()
            .map_err(|e| TargetError::new(TargetErrorKind::Config, e.to_string()))?;
        match self.kind {
            EndpointKind::Openai => {
                let mut config = self.openai_config();
                config.pacer = pacer.clone();
                Ok(Arc::new(OpenAiTarget::new(config)?))
            }
            EndpointKind::Anthropic => {
                let mut config = self.anthropic_config();
                config.pacer = pacer.clone();
                Ok(Arc::new(AnthropicTarget::new(config)?))
            }
            EndpointKind::Http => {
                let mut config = self.http_config().ok_or_else(|| {
                    TargetError::new(TargetErrorKind::Config, EndpointError::MissingHttpApp.to_string())
                })?;
                config.pacer = pacer.clone();
                Ok(Arc::new(HttpAppTarget::new(config)?))
            }
            EndpointKind::Local => self.build_local(),
        }
    }

    #[cfg(feature = "local")]
    fn build_local(&self) -> Result<Arc<dyn Target>, TargetError> {
        Ok(Arc::new(crate::LocalTarget::load(&crate::LocalConfig {
            model_path: self.local_model_path(),
            max_batch: self.concurrency.unwrap_or(crate::local::DEFAULT_MAX_BATCH),
        })?))
    }

    #[cfg(not(feature = "local"))]
    fn build_local(&self) -> Result<Arc<dyn Target>, TargetError> {
        Err(TargetError::new(
            TargetErrorKind::Config,
            "this aistr was built without the `local` feature; use an openai endpoint",
        ))
    }

    /// True when both specs load the same local model file, so one loaded copy can serve both.
    #[must_use]
    pub fn same_local_model(&self, other: &EndpointSpec) -> bool {
        self.kind == EndpointKind::Local && other.kind == EndpointKind::Local && self.model == other.model
    }
}

#[cfg(feature = "local")]
fn default_local_model_path() -> PathBuf {
    aistr_local_model::default_model_path()
}

#[cfg(feature = "local")]
fn local_model_fallback() -> Option<String> {
    aistr_local_model::default_model_fallback()
}

#[cfg(not(feature = "local"))]
fn local_model_fallback() -> Option<String> {
    None
}

#[cfg(not(feature = "local"))]
fn default_local_model_path() -> PathBuf {
    aistr_core::models_dir::default_models_dir().join("SmolLM2-135M-Instruct.Q8_0.gguf")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_specs_fill_defaults_and_roundtrip() {
        let s: EndpointSpec =
            serde_json::from_str(r#"{"kind":"openai","base_url":"http://h/v1","model":"m"}"#)
                .expect("minimal spec");
        assert_eq!(s, EndpointSpec::openai("http://h/v1", "m"));
        assert_eq!((s.timeout_secs, s.max_retries, s.concurrency), (120.0, 4, None));
        let back: EndpointSpec = serde_json::from_value(serde_json::to_value(&s).expect("ser")).expect("de");
        assert_eq!(back, s);
        assert_eq!(EndpointSpec::default().kind, EndpointKind::Local);
    }

    #[test]
    fn one_set_of_defaults_reaches_the_client() {
        let c = EndpointSpec::openai("http://h/v1", "m").openai_config();
        assert_eq!(c.concurrency, DEFAULT_CONCURRENCY);
        assert_eq!(c.timeout, Duration::from_secs(120));
        assert_eq!(c.retry.max_retries, DEFAULT_MAX_RETRIES);
        assert_eq!(c.rpm, None);
        let tuned = EndpointSpec {
            concurrency: Some(2),
            timeout_secs: 5.0,
            max_retries: 0,
            rpm: Some(60),
            stream: true,
            api_key_env: Some("K".into()),
            ..EndpointSpec::openai("http://h/v1", "m")
        }
        .openai_config();
        assert_eq!(
            (
                tuned.concurrency,
                tuned.timeout,
                tuned.retry.max_retries,
                tuned.rpm,
                tuned.stream
            ),
            (2, Duration::from_secs(5), 0, Some(60), true)
        );
        assert_eq!(tuned.api_key_env.as_deref(), Some("K"));
    }

    #[test]
    fn invalid_specs_are_refused_before_building() {
        let no_url = EndpointSpec {
            base_url: None,
            ..EndpointSpec::openai("x", "m")
        };
        assert_eq!(no_url.validate(), Err(EndpointError::MissingBaseUrl));
        assert!(no_url.build().is_err());
        let no_model = EndpointSpec {
            model: None,
            ..EndpointSpec::openai("http://h/v1", "m")
        };
        assert_eq!(no_model.validate(), Err(EndpointError::MissingModel));
        let bad_timeout = EndpointSpec {
            timeout_secs: 0.0,
            ..EndpointSpec::openai("http://h/v1", "m")
        };
        assert_eq!(bad_timeout.validate(), Err(EndpointError::BadTimeout));
        let bad_url = EndpointSpec::openai("ftp://h", "m");
        assert!(bad_url.build().is_err());
    }

    #[test]
    fn identities_never_hold_a_secret() {
        let s = EndpointSpec {
            api_key_env: Some("SECRET_VAR".into()),
            ..EndpointSpec::openai("http://h/v1", "m")
        };
        let id = s.identity().to_string();
        assert!(
            id.contains("\"base_url\":\"http://h/v1\"") && !id.contains("SECRET_VAR"),
            "{id}"
        );
        let local = EndpointSpec {
            model: Some("/m/x.gguf".into()),
            ..EndpointSpec::default()
        };
        assert_eq!(
            local.identity(),
            serde_json::json!({"kind": "local", "model": "/m/x.gguf"})
        );
        assert!(local.same_local_model(&local.clone()));
        assert!(!local.same_local_model(&EndpointSpec::default()));
    }
}
