//! A deployed chatbot or agent that speaks no standard API: one request template (method, URL,
//! headers, a JSON or form body), one response extractor (a JSON Pointer or a regex) and session
//! handling, all from the `[target.http]` TOML table ([`HttpAppSpec`]).
//!
//! Templates know three placeholders: `{{prompt}}` (the last user message), `{{history}}` (the
//! messages before it) and `{{session}}` (this conversation's session id). In a JSON body a
//! placeholder inside a string literal is inserted JSON-escaped; outside one it becomes a JSON value
//! (a string, or for `{{history}}` an array of `{"role", "content"}` objects). In a form body and
//! the URL it is percent-encoded. `${VAR}` in the URL, headers and body is an environment variable,
//! read once when the target is built, never recorded.
//!
//! Sessions: the app is stateful, so a multi-turn attack must talk to one server-side session per
//! conversation. The [`Target`] trait carries no conversation id, so the target recognises a
//! conversation by its content: after answering, it remembers the conversation state (the history
//! plus its answer) under that session, and a request whose history is a state it remembers
//! continues that session; any other request starts a new one. A session is claimed while its
//! request is in flight, so two conversations with identical content still get one session each. A session is a cookie jar (every
//! `Set-Cookie` the app sends is sent back in that session only) and an id: generated fresh per
//! session, replaced by one the app hands out when `session.id_pointer` / `session.id_regex` is set.
//! A conversation that backtracks (Crescendo drops a refused turn) stays in its session: the app's
//! own memory of the dropped turn cannot be taken back. A resumed run starts with no sessions, so
//! every resumed conversation gets a new session: nothing stale is reused; the earlier turns reach
//! the app only through `{{history}}`.

use crate::limits::RetryPolicy;
use crate::transport::{Failure, Transport, read_capped};
use crate::{Target, TargetError, TargetErrorKind, TargetInfo};
use aistr_core::{ChatRequest, ChatResponse, Message, Role, Usage};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::time::Duration;

/// The `[target.http]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpAppSpec {
    /// HTTP method (default POST).
    #[serde(default = "default_method")]
    pub method: String,
    /// URL template.
    pub url: String,
    /// Header name → value template.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Body template (none: no body).
    #[serde(default)]
    pub body: Option<String>,
    /// How the body is encoded.
    #[serde(default)]
    pub format: BodyFormat,
    /// Where the answer is in the response.
    pub response: ResponseSpec,
    /// Session handling.
    #[serde(default)]
    pub session: SessionSpec,
}

fn default_method() -> String {
    "POST".into()
}

/// How a body template is encoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BodyFormat {
    /// `application/json`; placeholders JSON-escaped.
    #[default]
    Json,
    /// `application/x-www-form-urlencoded`; placeholders percent-encoded.
    Form,
}

/// `[target.http.response]`: exactly one of `pointer` and `regex`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseSpec {
    /// JSON Pointer (RFC 6901) to the answer in a JSON response.
    #[serde(default)]
    pub pointer: Option<String>,
    /// Regex over the body: the first capture group, else the whole match.
    #[serde(default)]
    pub regex: Option<String>,
}

/// `[target.http.session]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionSpec {
    /// Keep a cookie jar per conversation (default true).
    #[serde(default = "yes")]
    pub cookies: bool,
    /// Take the session id from each JSON response at this pointer.
    #[serde(default)]
    pub id_pointer: Option<String>,
    /// Take the session id from each response body by this regex (first group, else the match).
    #[serde(default)]
    pub id_regex: Option<String>,
}

fn yes() -> bool {
    true
}

impl Default for SessionSpec {
    fn default() -> Self {
        Self {
            cookies: true,
            id_pointer: None,
            id_regex: None,
        }
    }
}

/// A problem with the `[target.http]` table, naming the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("[target.http] {key}: {problem}")]
pub struct HttpSpecError {
    /// The TOML key, relative to `[target.http]` (`body`, `response.regex`, `headers.X-Api-Key`).
    pub key: String,
    /// What is wrong.
    pub problem: String,
}

fn spec_error(key: impl Into<String>, problem: impl Into<String>) -> HttpSpecError {
    HttpSpecError {
        key: key.into(),
        problem: problem.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Var {
    Prompt,
    History,
    Session,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    /// Inside a JSON string literal: escaped text, no quotes.
    JsonInString,
    /// A bare JSON value.
    JsonValue,
    /// Percent-encoded (URL, form body).
    Percent,
    /// As is (headers); CR/LF are refused by the header value check.
    Raw,
}

#[derive(Debug, Clone)]
enum Segment {
    Literal(String),
    Var(Var, Encoding),
}

/// A parsed template: literal text with `${VAR}` already expanded, and placeholders.
#[derive(Debug, Clone)]
struct Template(Vec<Segment>);

/// What a template is filled with.
struct Values<'a> {
    prompt: &'a str,
    history: &'a [Message],
    session: &'a str,
}

impl Template {
    fn parse(
        key: &str,
        text: &str,
        encoding: Encoding,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, HttpSpecError> {
        let text = expand_env(key, text, env)?;
        let mut segments = Vec::new();
        let mut literal = String::new();
        let mut rest = text.as_str();
        // JSON string state of the literal text so far (only used for JSON bodies).
        let mut in_string = false;
        let mut escaped = false;
        while let Some(start) = rest.find("{{") {
            let (before, after) = rest.split_at(start);
            for c in before.chars() {
                track_json_string(c, &mut in_string, &mut escaped);
            }
            literal.push_str(before);
            let end = after
                .find("}}")
                .ok_or_else(|| spec_error(key, "a `{{` placeholder is not closed with `}}`"))?;
            let name = after[2..end].trim();
            let var = match name {
                "prompt" => Var::Prompt,
                "history" => Var::History,
                "session" => Var::Session,
                other => {
                    return Err(spec_error(
                        key,
                        format!(
                            "unknown placeholder `{{{{{other}}}}}` (known: {{{{prompt}}}}, {{{{history}}}}, {{{{session}}}})"
                        ),
                    ));
                }
            };
            let enc = match encoding {
                Encoding::JsonValue if in_string => Encoding::JsonInString,
                other => other,
            };
            if !literal.is_empty() {
                segments.push(Segment::Literal(std::mem::take(&mut literal)));
            }
            segments.push(Segment::Var(var, enc));
            rest = &after[end + 2..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            segments.push(Segment::Literal(literal));
        }
        Ok(Self(segments))
    }

    fn uses(&self, var: Var) -> bool {
        self.0
            .iter()
            .any(|s| matches!(s, Segment::Var(v, _) if *v == var))
    }

    fn render(&self, values: &Values<'_>) -> String {
        let mut out = String::new();
        for s in &self.0 {
            match s {
                Segment::Literal(l) => out.push_str(l),
                Segment::Var(var, enc) => {
                    let value = match var {
                        Var::Prompt => json!(values.prompt),
                        Var::Session => json!(values.session),
                        Var::History if *enc == Encoding::JsonValue => Value::Array(
                            values
                                .history
                                .iter()
                                .map(|m| json!({"role": m.role.as_str(), "content": m.content}))
                                .collect(),
                        ),
                        Var::History => json!(history_text(values.history)),
                    };
                    let text = value.as_str().map(str::to_owned);
                    match enc {
                        Encoding::JsonValue => out.push_str(&value.to_string()),
                        Encoding::JsonInString => {
                            let quoted = value.to_string();
                            out.push_str(&quoted[1..quoted.len() - 1]);
                        }
                        Encoding::Percent => out.push_str(&percent_encode(&text.unwrap_or_default())),
                        Encoding::Raw => out.push_str(&text.unwrap_or_default()),
                    }
                }
            }
        }
        out
    }
}

fn track_json_string(c: char, in_string: &mut bool, escaped: &mut bool) {
    if *escaped {
        *escaped = false;
    } else if *in_string && c == '\\' {
        *escaped = true;
    } else if c == '"' {
        *in_string = !*in_string;
    }
}

/// `{{history}}` as text (inside a JSON string, a form field or a header): one `role: content` line
/// per message.
fn history_text(history: &[Message]) -> String {
    history
        .iter()
        .map(|m| format!("{}: {}", m.role.as_str(), m.content))
        .collect::<Vec<_>>()
        .join("\n")
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Expands `${VAR}`; `$$` is a literal `$`.
fn expand_env(key: &str, text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, HttpSpecError> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| spec_error(key, "a `${` variable is not closed with `}`"))?;
        let name = &after[..end];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(spec_error(key, format!("`${{{name}}}` is not a variable name")));
        }
        let value =
            env(name).ok_or_else(|| spec_error(key, format!("environment variable `{name}` is not set")))?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn check_pointer(key: &str, pointer: &str) -> Result<(), HttpSpecError> {
    if pointer.is_empty() || pointer.starts_with('/') {
        Ok(())
    } else {
        Err(spec_error(
            key,
            format!("`{pointer}` is not a JSON Pointer (it must start with `/`)"),
        ))
    }
}

fn compile_regex(key: &str, pattern: &str) -> Result<regex::Regex, HttpSpecError> {
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| spec_error(key, format!("not a valid regex: {e}")))
}

/// Where a value is found in a response.
#[derive(Debug, Clone)]
enum Extractor {
    Pointer(String),
    Regex(regex::Regex),
}

impl Extractor {
    fn from_parts(
        pointer_key: &str,
        pointer: Option<&String>,
        regex_key: &str,
        regex: Option<&String>,
    ) -> Result<Option<Self>, HttpSpecError> {
        match (pointer, regex) {
            (Some(_), Some(_)) => Err(spec_error(
                pointer_key,
                format!("give either `{pointer_key}` or `{regex_key}`, not both"),
            )),
            (Some(p), None) => {
                check_pointer(pointer_key, p)?;
                Ok(Some(Self::Pointer(p.clone())))
            }
            (None, Some(r)) => Ok(Some(Self::Regex(compile_regex(regex_key, r)?))),
            (None, None) => Ok(None),
        }
    }

    fn extract(&self, body: &str) -> Option<String> {
        match self {
            Self::Pointer(p) => {
                let v: Value = serde_json::from_str(body).ok()?;
                match v.pointer(p)? {
                    Value::String(s) => Some(s.clone()),
                    Value::Null => None,
                    other => Some(other.to_string()),
                }
            }
            Self::Regex(re) => {
                let caps = re.captures(body)?;
                caps.get(1).or_else(|| caps.get(0)).map(|m| m.as_str().to_owned())
            }
        }
    }
}

/// A checked, ready-to-send form of an [`HttpAppSpec`].
#[derive(Debug, Clone)]
struct Compiled {
    method: reqwest::Method,
    url: Template,
    headers: Vec<(reqwest::header::HeaderName, Template)>,
    body: Option<Template>,
    format: BodyFormat,
    answer: Extractor,
    session_id: Option<Extractor>,
    cookies: bool,
}

impl HttpAppSpec {
    /// Checks every template, pointer and regex (and that the `${VAR}`s are set), as a usage error
    /// naming the key.
    ///
    /// # Errors
    /// The first problem found.
    pub fn check(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<(), HttpSpecError> {
        self.compile(env).map(|_| ())
    }

    fn compile(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<Compiled, HttpSpecError> {
        let method = reqwest::Method::from_bytes(self.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| spec_error("method", format!("`{}` is not an HTTP method", self.method)))?;
        let url = Template::parse("url", &self.url, Encoding::Percent, env)?;
        let sample = Values {
            prompt: "p \"q\" \\ \n",
            history: &[Message::user("h \"1\""), Message::assistant("a")],
            session: "s",
        };
        let rendered = url.render(&sample);
        if !(rendered.starts_with("http://") || rendered.starts_with("https://")) {
            return Err(spec_error(
                "url",
                format!("`{}` must start with http:// or https://", self.url),
            ));
        }
        reqwest::Url::parse(&rendered).map_err(|e| spec_error("url", format!("not a valid URL: {e}")))?;
        let mut headers = Vec::new();
        for (name, value) in &self.headers {
            let key = format!("headers.{name}");
            let header = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| spec_error(&key, "not a valid header name"))?;
            let t = Template::parse(&key, value, Encoding::Raw, env)?;
            if t.uses(Var::Prompt) || t.uses(Var::History) {
                return Err(spec_error(&key, "headers may use {{session}} only"));
            }
            reqwest::header::HeaderValue::from_str(&t.render(&sample))
                .map_err(|_| spec_error(&key, "not a valid header value"))?;
            headers.push((header, t));
        }
        let body = match &self.body {
            None => None,
            Some(text) => {
                let enc = match self.format {
                    BodyFormat::Json => Encoding::JsonValue,
                    BodyFormat::Form => Encoding::Percent,
                };
                let t = Template::parse("body", text, enc, env)?;
                if self.format == BodyFormat::Json
                    && let Err(e) = serde_json::from_str::<Value>(&t.render(&sample))
                {
                    return Err(spec_error("body", format!("not valid JSON once filled in: {e}")));
                }
                Some(t)
            }
        };
        let answer = Extractor::from_parts(
            "response.pointer",
            self.response.pointer.as_ref(),
            "response.regex",
            self.response.regex.as_ref(),
        )?
        .ok_or_else(|| {
            spec_error(
                "response",
                "give `pointer` (a JSON Pointer) or `regex` to find the answer",
            )
        })?;
        let session_id = Extractor::from_parts(
            "session.id_pointer",
            self.session.id_pointer.as_ref(),
            "session.id_regex",
            self.session.id_regex.as_ref(),
        )?;
        Ok(Compiled {
            method,
            url,
            headers,
            body,
            format: self.format,
            answer,
            session_id,
            cookies: self.session.cookies,
        })
    }
}

/// Settings of an HTTP application target.
#[derive(Debug, Clone)]
pub struct HttpAppConfig {
    /// The app description.
    pub app: HttpAppSpec,
    /// Timeout for one whole try.
    pub timeout: Duration,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Requests in flight at most.
    pub concurrency: usize,
    /// Requests per minute at most.
    pub rpm: Option<u32>,
    /// A request rate shared with other processes (the workers of one run), if any.
    pub pacer: crate::Pacer,
    /// Largest body we accept.
    pub max_response_bytes: usize,
}

impl HttpAppConfig {
    /// Defaults around an app description.
    #[must_use]
    pub fn new(app: HttpAppSpec) -> Self {
        Self {
            app,
            timeout: Duration::from_secs(120),
            retry: RetryPolicy::default(),
            concurrency: 8,
            rpm: None,
            pacer: crate::Pacer::default(),
            max_response_bytes: 8 << 20,
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Session {
    id: String,
    cookies: BTreeMap<String, String>,
    /// The conversation state after its last answer.
    current: u64,
    /// The state its last request continued (the history it was sent with).
    parent: u64,
    /// Hash of its last request's prompt.
    last_prompt: u64,
    /// Every state it has been in.
    path: HashSet<u64>,
    /// A request of this session is in flight: no other conversation may claim it.
    busy: bool,
}

#[derive(Debug, Default)]
struct Sessions {
    all: Vec<Session>,
}

impl Sessions {
    /// Claims the session that continues `history` (state `key`) with `prompt`: one whose current
    /// state it is; else one whose last request started from it with another prompt (a conversation
    /// that dropped its last exchange and asks again: Crescendo's backtrack); else one whose last
    /// request started from it; else one that passed through it. Two conversations with the same
    /// content are interchangeable, but each claims its own session. None: a new conversation.
    fn claim(&mut self, key: u64, prompt: u64) -> Option<usize> {
        let pick = |f: &dyn Fn(&Session) -> bool| self.all.iter().position(|s| !s.busy && f(s));
        let found = pick(&|s| s.current == key)
            .or_else(|| pick(&|s| s.parent == key && s.last_prompt != prompt))
            .or_else(|| pick(&|s| s.parent == key))
            .or_else(|| pick(&|s| s.path.contains(&key)));
        if let Some(i) = found {
            self.all[i].busy = true;
        }
        found
    }
}

fn prompt_key(prompt: &str) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    prompt.hash(&mut h);
    h.finish()
}

fn state_key(messages: &[Message]) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    for m in messages {
        m.role.as_str().hash(&mut h);
        m.content.hash(&mut h);
    }
    h.finish()
}

/// A generic HTTP application target.
pub struct HttpAppTarget {
    compiled: Compiled,
    url_template: String,
    transport: Transport,
    sessions: Mutex<Sessions>,
}

impl std::fmt::Debug for HttpAppTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Header values may hold expanded secrets: never printed.
        f.debug_struct("HttpAppTarget")
            .field("url", &self.url_template)
            .finish_non_exhaustive()
    }
}

/// What one try brought back.
struct Reply {
    text: String,
    raw: String,
    set_cookies: Vec<String>,
    session_id: Option<String>,
}

impl HttpAppTarget {
    /// Builds the target, reading `${VAR}`s from the environment.
    ///
    /// # Errors
    /// A config error naming the `[target.http]` key at fault.
    pub fn new(config: HttpAppConfig) -> Result<Self, TargetError> {
        Self::with_env(config, &|name| std::env::var(name).ok())
    }

    /// Like [`HttpAppTarget::new`], reading variables through `env`.
    ///
    /// # Errors
    /// A config error naming the `[target.http]` key at fault.
    pub fn with_env(
        config: HttpAppConfig,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, TargetError> {
        let compiled = config
            .app
            .compile(env)
            .map_err(|e| TargetError::new(TargetErrorKind::Config, e.to_string()))?;
        let transport = Transport::new(
            config.concurrency,
            config.rpm,
            config.timeout,
            config.retry,
            config.max_response_bytes,
        )?
        .paced(config.pacer.clone());
        Ok(Self {
            compiled,
            url_template: config.app.url.clone(),
            transport,
            sessions: Mutex::default(),
        })
    }

    /// How many sessions this target has opened (one per conversation).
    #[must_use]
    pub fn sessions_opened(&self) -> usize {
        self.sessions.lock().map(|s| s.all.len()).unwrap_or(0)
    }

    async fn try_once(
        &self,
        values: &Values<'_>,
        cookies: &BTreeMap<String, String>,
    ) -> Result<Reply, Failure> {
        let c = &self.compiled;
        let mut builder = self
            .transport
            .client
            .request(c.method.clone(), c.url.render(values));
        for (name, t) in &c.headers {
            builder = builder.header(name, t.render(values));
        }
        if c.cookies && !cookies.is_empty() {
            let jar: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            builder = builder.header(reqwest::header::COOKIE, jar.join("; "));
        }
        if let Some(body) = &c.body {
            let content_type = match c.format {
                BodyFormat::Json => "application/json",
                BodyFormat::Form => "application/x-www-form-urlencoded",
            };
            builder = builder
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(body.render(values));
        }
        let response = self.transport.send(builder).await?;
        let set_cookies = response
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_owned)
            .collect();
        let raw = read_capped(response, self.transport.max_response_bytes).await?;
        let Some(text) = c.answer.extract(&raw) else {
            return Err(TargetError::new(
                TargetErrorKind::Malformed,
                "the response extractor ([target.http.response]) found no answer",
            )
            .with_raw(raw)
            .into());
        };
        let session_id = c.session_id.as_ref().and_then(|x| x.extract(&raw));
        Ok(Reply {
            text,
            raw,
            set_cookies,
            session_id,
        })
    }

    /// The session continuing this history (claimed for this request), or a new one.
    fn session_for(&self, history: &[Message], prompt: &str) -> (usize, Session) {
        let mut s = self
            .sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = state_key(history);
        if !history.is_empty()
            && let Some(i) = s.claim(key, prompt_key(prompt))
        {
            return (i, s.all[i].clone());
        }
        let session = Session {
            id: format!("aistr-{:016x}", rand::random::<u64>()),
            busy: true,
            ..Session::default()
        };
        s.all.push(session.clone());
        (s.all.len() - 1, session)
    }

    /// Releases a claimed session; after an answer, records its cookies, id and new state.
    fn release(&self, index: usize, answered: Option<(&[Message], &str, &Reply)>) {
        let mut s = self
            .sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let session = &mut s.all[index];
        session.busy = false;
        let Some((history, prompt, reply)) = answered else {
            return;
        };
        for header in &reply.set_cookies {
            apply_set_cookie(&mut session.cookies, header);
        }
        if let Some(id) = &reply.session_id {
            session.id.clone_from(id);
        }
        let mut state = history.to_vec();
        state.push(Message::user(prompt));
        state.push(Message::assistant(reply.text.clone()));
        session.parent = state_key(history);
        session.last_prompt = prompt_key(prompt);
        session.current = state_key(&state);
        session.path.insert(session.current);
    }
}

/// Applies one `Set-Cookie` header to a jar: `name=value` before the first `;`; `Max-Age=0` or an
/// empty value deletes. Domain, path and expiry dates are not tracked: the jar serves one app.
fn apply_set_cookie(jar: &mut BTreeMap<String, String>, header: &str) {
    let mut parts = header.split(';');
    let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else {
        return;
    };
    let (name, value) = (name.trim(), value.trim());
    if name.is_empty() {
        return;
    }
    let expired = parts.any(|a| {
        a.split_once('=').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("max-age") && v.trim().starts_with(['0', '-'])
        })
    });
    if expired || value.is_empty() {
        jar.remove(name);
    } else {
        jar.insert(name.to_owned(), value.to_owned());
    }
}

#[async_trait::async_trait]
impl Target for HttpAppTarget {
    fn info(&self) -> TargetInfo {
        TargetInfo {
            kind: "http".into(),
            model: String::new(),
            base_url: Some(self.url_template.clone()),
        }
    }

    fn concurrency(&self) -> usize {
        self.transport.limits.concurrency()
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, TargetError> {
        if !request.tools.is_empty() {
            return Err(TargetError::new(
                TargetErrorKind::Config,
                "an http app target cannot be offered tools (its tools are the app's own)",
            ));
        }
        let last_user = request
            .messages
            .iter()
            .rposition(|m| m.role == Role::User)
            .ok_or_else(|| {
                TargetError::new(TargetErrorKind::Config, "the conversation has no user message")
            })?;
        let history = &request.messages[..last_user];
        let prompt = request.messages[last_user].content.as_str();
        let (index, session) = self.session_for(history, prompt);
        let values = Values {
            prompt,
            history,
            session: &session.id,
        };
        let outcome = self
            .transport
            .run(|| self.try_once(&values, &session.cookies))
            .await;
        let (reply, tries) = match outcome {
            Ok(ok) => ok,
            Err(e) => {
                self.release(index, None);
                return Err(e);
            }
        };
        self.release(index, Some((history, prompt, &reply)));
        Ok(ChatResponse {
            text: reply.text,
            finish_reason: None,
            usage: Usage::default(),
            raw: reply.raw,
            tries,
            tool_calls: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn spec(body: &str) -> HttpAppSpec {
        HttpAppSpec {
            method: "POST".into(),
            url: "http://127.0.0.1:1/chat?s={{session}}".into(),
            headers: BTreeMap::new(),
            body: Some(body.into()),
            format: BodyFormat::Json,
            response: ResponseSpec {
                pointer: Some("/reply".into()),
                regex: None,
            },
            session: SessionSpec::default(),
        }
    }

    #[test]
    fn json_placeholders_are_escaped_in_strings_and_values_outside() {
        let t = Template::parse(
            "body",
            r#"{"q": {{prompt}}, "note": "said: {{prompt}}", "h": {{history}}, "ht": "{{history}}"}"#,
            Encoding::JsonValue,
            &no_env,
        )
        .unwrap();
        let history = [Message::user("x\"y"), Message::assistant("z")];
        let rendered = t.render(&Values {
            prompt: "a \"b\"\n\\c",
            history: &history,
            session: "s",
        });
        let v: Value = serde_json::from_str(&rendered).unwrap();
        assert_eq!(v["q"], "a \"b\"\n\\c");
        assert_eq!(v["note"], "said: a \"b\"\n\\c");
        assert_eq!(v["h"][0], json!({"role": "user", "content": "x\"y"}));
        assert_eq!(v["ht"], "user: x\"y\nassistant: z");
    }

    #[test]
    fn bad_templates_name_their_key() {
        let err = |s: HttpAppSpec| s.check(&no_env).unwrap_err();
        assert_eq!(err(spec(r#"{"q": {{prompt}"#)).key, "body");
        assert!(err(spec(r#"{"q": {{promt}}}"#)).problem.contains("promt"));
        assert!(err(spec(r#"{"q": {{prompt}} "#)).problem.contains("JSON"));
        let mut s = spec(r#"{"q": {{prompt}}}"#);
        s.headers
            .insert("Authorization".into(), "Bearer ${APP_TOKEN}".into());
        let e = err(s.clone());
        assert_eq!(e.key, "headers.Authorization");
        assert!(e.problem.contains("APP_TOKEN"));
        assert!(s.check(&|n| (n == "APP_TOKEN").then(|| "t".into())).is_ok());
        let mut s = spec("{}");
        s.response = ResponseSpec {
            pointer: None,
            regex: Some("(".into()),
        };
        assert_eq!(err(s.clone()).key, "response.regex");
        s.response = ResponseSpec::default();
        assert_eq!(err(s.clone()).key, "response");
        s.response.pointer = Some("reply".into());
        assert_eq!(err(s.clone()).key, "response.pointer");
        let mut s = spec("{}");
        s.url = "ftp://x/{{session}}".into();
        assert_eq!(err(s).key, "url");
        let mut s = spec("{}");
        s.method = "PO ST".into();
        assert_eq!(err(s).key, "method");
    }

    #[test]
    fn form_bodies_and_urls_are_percent_encoded() {
        let t = Template::parse("body", "m={{prompt}}&s={{session}}", Encoding::Percent, &no_env).unwrap();
        let out = t.render(&Values {
            prompt: "a b&c=d",
            history: &[],
            session: "x/y",
        });
        assert_eq!(out, "m=a%20b%26c%3Dd&s=x%2Fy");
    }

    #[test]
    fn extractors_and_cookies() {
        let p = Extractor::Pointer("/a/0/t".into());
        assert_eq!(p.extract(r#"{"a":[{"t":"hi"}]}"#).as_deref(), Some("hi"));
        assert_eq!(p.extract("not json"), None);
        let r = Extractor::Regex(regex::Regex::new("<p>(.*?)</p>").unwrap());
        assert_eq!(r.extract("<p>yes</p>").as_deref(), Some("yes"));
        let mut jar = BTreeMap::new();
        apply_set_cookie(&mut jar, "sid=abc; Path=/; HttpOnly");
        apply_set_cookie(&mut jar, "theme=dark");
        assert_eq!(jar.get("sid").map(String::as_str), Some("abc"));
        apply_set_cookie(&mut jar, "theme=dark; Max-Age=0");
        assert_eq!(jar.len(), 1);
    }
}
