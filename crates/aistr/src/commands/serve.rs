//! `aistr serve` (the team server: API and dashboard over a shared journal) and `aistr token`
//! (issue, list and revoke its API tokens). Both are flags and printing only; the server is
//! `aistr-server`, the tokens live in the journal.

use crate::exit::{self, CliError, CmdResult};
use aistr_server::{AppState, Role};
use aistr_store::Journal;
use anyhow::{Context, anyhow};
use clap::{Args, Subcommand};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// `aistr serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The journal: a `postgres://` URL (a team's) or an SQLite file.
    #[arg(long, value_name = "URL")]
    pub db: PathBuf,
    /// Address to listen on. Keep it on loopback unless a TLS proxy is in front: tokens travel
    /// in headers and cookies.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8787")]
    pub listen: SocketAddr,
}

/// `aistr token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub command: TokenCommand,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue a token; its secret is printed once on stdout and only its hash is stored.
    Create {
        /// The journal `aistr serve` uses.
        #[arg(long, value_name = "URL")]
        db: PathBuf,
        /// Who holds it (shown in the audit log); unique.
        #[arg(long)]
        name: String,
        /// viewer (reads), reviewer (also labels verdicts) or admin (also submits and cancels
        /// runs, issues tokens, reads the audit log).
        #[arg(long)]
        role: String,
    },
    /// List tokens (names, roles, dates; never a secret).
    List {
        /// The journal.
        #[arg(long, value_name = "URL")]
        db: PathBuf,
    },
    /// Revoke a token by name.
    Revoke {
        /// The journal.
        #[arg(long, value_name = "URL")]
        db: PathBuf,
        /// The token's name.
        #[arg(long)]
        name: String,
    },
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?)
}

async fn open(db: &Path) -> Result<Journal, CliError> {
    Journal::open(db).await.map_err(|e| CliError::usage(anyhow!(e)))
}

/// `aistr serve`.
pub fn run_serve(args: &ServeArgs) -> CmdResult {
    runtime()?.block_on(async {
        let journal = open(&args.db).await?;
        if journal.tokens().await.map_err(|e| anyhow!(e))?.iter().all(|t| t.revoked_at.is_some()) {
            eprintln!(
                "aistr serve: warning: no live API token; every call will be refused until you run \
                 `aistr token create --db … --name NAME --role admin`"
            );
        }
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| CliError::usage(anyhow!("cannot listen on {}: {e}", args.listen)))?;
        let addr = listener.local_addr().context("listener address")?;
        eprintln!(
            "aistr serve: http://{addr}/ (journal {}); Ctrl-C or SIGTERM stops it",
            aistr_store::redact_url(&args.db.display().to_string())
        );
        let shutdown = async {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                () = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
            }
            eprintln!("aistr serve: stopping (requests in flight finish)");
        };
        aistr_server::serve(listener, AppState::new(Arc::new(journal)), shutdown)
            .await
            .context("server failed")?;
        Ok(exit::OK)
    })
}

/// `aistr token`.
pub fn run_token(args: &TokenArgs) -> CmdResult {
    runtime()?.block_on(async {
        match &args.command {
            TokenCommand::Create { db, name, role } => {
                let role = Role::parse(role).ok_or_else(|| {
                    CliError::usage(anyhow!("--role `{role}`: use viewer, reviewer or admin"))
                })?;
                if name.trim().is_empty() {
                    return Err(CliError::usage(anyhow!("--name must not be empty")));
                }
                let journal = open(db).await?;
                if journal
                    .tokens()
                    .await
                    .map_err(|e| anyhow!(e))?
                    .iter()
                    .any(|t| &t.name == name)
                {
                    return Err(CliError::usage(anyhow!(
                        "a token named `{name}` exists (revoke it first)"
                    )));
                }
                let secret = aistr_server::issue_token(&journal, name, role)
                    .await
                    .map_err(|e| anyhow!(e))?;
                let _ = writeln!(std::io::stdout().lock(), "{secret}");
                eprintln!(
                    "aistr token: issued `{name}` ({}); the secret above is not stored and is shown only now",
                    role.as_str()
                );
            }
            TokenCommand::List { db } => {
                let journal = open(db).await?;
                let mut out = std::io::stdout().lock();
                for t in journal.tokens().await.map_err(|e| anyhow!(e))? {
                    let _ = writeln!(
                        out,
                        "{}\t{}\t{}\t{}",
                        t.name,
                        t.role,
                        t.created_at,
                        t.revoked_at
                            .map_or_else(|| "live".to_owned(), |r| format!("revoked {r}"))
                    );
                }
            }
            TokenCommand::Revoke { db, name } => {
                let journal = open(db).await?;
                if !journal.revoke_token(name).await.map_err(|e| anyhow!(e))? {
                    return Err(CliError::usage(anyhow!("no live token named `{name}`")));
                }
                eprintln!("aistr token: revoked `{name}`");
            }
        }
        Ok(exit::OK)
    })
}
