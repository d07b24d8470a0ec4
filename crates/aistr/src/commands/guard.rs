//! `aistr guard`: runs the guardrail proxy (`aistr-guard`) in front of an upstream, and
//! `aistr guard keys add NAME --keys FILE` makes a client key. Flags and printing only.

use crate::exit::{self, CliError, CmdResult};
use anyhow::Context;
use clap::{Args, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct GuardArgs {
    #[command(subcommand)]
    pub command: Option<GuardCommand>,
    /// The upstream: an OpenAI-compatible base URL up to `/v1`, or `local` for the embedded model.
    #[arg(long, value_name = "URL")]
    pub upstream: Option<String>,
    /// Environment variable holding the upstream's API key (the key is never logged).
    #[arg(long, value_name = "VAR")]
    pub upstream_key_env: Option<String>,
    /// With `--upstream local`: the GGUF file (default: the installed SmolLM2).
    #[arg(long, value_name = "PATH")]
    pub upstream_model: Option<String>,
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8787")]
    pub listen: String,
    /// Client keys file (`aistr guard keys add`).
    #[arg(long, value_name = "FILE")]
    pub keys: Option<PathBuf>,
    /// Policy file (TOML) replacing the built-in policy.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Append-only audit log (JSONL).
    #[arg(long, value_name = "FILE", default_value = "aistr-out/guard-audit.jsonl")]
    pub audit_log: PathBuf,
    /// Also log prompts and answers in the audit log.
    #[arg(long)]
    pub log_content: bool,
    /// Largest request body in bytes.
    #[arg(long, value_name = "N", default_value_t = 1 << 20)]
    pub max_body_bytes: usize,
    /// Seconds the upstream may take (a whole answer, or each streamed chunk).
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub upstream_timeout_secs: u64,
    /// Directory of all-MiniLM-L6-v2 for the classifier tier (default: the models directory).
    #[arg(long, value_name = "DIR")]
    pub minilm_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum GuardCommand {
    /// Client keys.
    Keys(KeysArgs),
}

#[derive(Debug, Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    pub command: KeysCommand,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key: prints it once; the file stores only its SHA-256.
    Add {
        /// The key's name (recorded in the audit log as `key_id`).
        name: String,
        /// The keys file (created if missing).
        #[arg(long, value_name = "FILE")]
        keys: PathBuf,
    },
}

pub fn run(args: GuardArgs) -> CmdResult {
    if let Some(GuardCommand::Keys(KeysArgs {
        command: KeysCommand::Add { name, keys },
    })) = &args.command
    {
        let key = aistr_guard::keys::add(keys, name).map_err(|e| CliError::usage(anyhow::anyhow!(e)))?;
        writeln!(std::io::stdout().lock(), "{key}").map_err(anyhow::Error::from)?;
        eprintln!(
            "key `{name}` added to {} (only its hash is stored: this is the one time it is shown)",
            keys.display()
        );
        return Ok(exit::OK);
    }
    let usage = |m: String| CliError::usage(anyhow::anyhow!(m));
    let upstream_arg = args
        .upstream
        .clone()
        .ok_or_else(|| usage("--upstream URL is required (or `local` for the embedded model)".into()))?;
    let keys_path = args.keys.clone().ok_or_else(|| {
        usage("--keys FILE is required (create one with `aistr guard keys add NAME --keys FILE`)".into())
    })?;
    let keys = aistr_guard::keys::Keys::load(&keys_path).map_err(|e| usage(e.to_string()))?;
    if keys.is_empty() {
        return Err(usage(format!(
            "{} holds no keys: no client could call the guard",
            keys_path.display()
        )));
    }
    let policy = match &args.policy {
        None => aistr_guard::Policy::builtin(),
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| usage(format!("{}: {e}", p.display())))?;
            aistr_guard::policy::parse(&p.display().to_string(), &text).map_err(|e| usage(e.to_string()))?
        }
    };
    let listen: std::net::SocketAddr = args
        .listen
        .parse()
        .map_err(|e| usage(format!("--listen {}: {e}", args.listen)))?;
    let upstream = if upstream_arg == "local" {
        let spec = aistr_targets::EndpointSpec {
            model: args.upstream_model.clone(),
            ..aistr_targets::EndpointSpec::of_kind(aistr_targets::EndpointKind::Local)
        };
        let target = spec.build().map_err(|e| usage(e.to_string()))?;
        let model = target.info().model;
        aistr_guard::Upstream::Target { target, model }
    } else {
        if !(upstream_arg.starts_with("http://") || upstream_arg.starts_with("https://")) {
            return Err(usage(format!(
                "--upstream {upstream_arg}: not an http(s) URL or `local`"
            )));
        }
        let key = match &args.upstream_key_env {
            None => None,
            Some(var) => Some(
                std::env::var(var)
                    .map_err(|_| usage(format!("--upstream-key-env {var}: the variable is not set")))?,
            ),
        };
        aistr_guard::Upstream::Http {
            base_url: upstream_arg.clone(),
            key,
        }
    };
    let (screener, warning) = aistr_guard::build_screener(&policy, args.minilm_dir.as_deref());
    if let Some(w) = warning {
        eprintln!("warning: {w}");
    }
    let audit = aistr_guard::audit::AuditLog::open(&args.audit_log, args.log_content)
        .with_context(|| format!("cannot open the audit log {}", args.audit_log.display()))?;
    let limits = aistr_guard::Limits {
        max_body_bytes: args.max_body_bytes,
        upstream_timeout: Duration::from_secs(args.upstream_timeout_secs),
        ..aistr_guard::Limits::default()
    };
    // The classifier tier screens on tokio's blocking threads, and each such thread keeps a few MB
    // of regex caches and allocator arena for as long as it lives: a small, fixed, long-lived set
    // (sized by `screening_threads`) keeps the guard's memory flat under load.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(aistr_guard::screening_threads(&policy))
        .thread_keep_alive(Duration::from_secs(3600))
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let source = policy.source.clone();
        let guard = aistr_guard::Guard::start(
            listener,
            aistr_guard::GuardConfig {
                upstream,
                policy,
                keys,
                screener,
                audit,
                limits,
            },
        )
        .map_err(|e| anyhow::anyhow!(e))?;
        {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "aistr guard listening on http://{} (policy: {source})",
                guard.addr
            );
            let _ = out.flush();
        }
        let token = guard.cancel_token();
        tokio::spawn(async move {
            shutdown_signal().await;
            eprintln!("aistr guard: shutting down, finishing requests in flight");
            token.cancel();
        });
        guard.wait().await;
        Ok::<_, CliError>(exit::OK)
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
