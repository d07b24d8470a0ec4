//! The journal in SQLite (the embedded default: one file, no server) or in PostgreSQL (a team's
//! shared journal, `--db postgres://…`). Both run the same statements: every query is written once,
//! with `$N` placeholders that both drivers accept, and expanded once per backend by
//! [`on_pool!`], so the exactly-once promises (a result recorded once, only over a `planned` row,
//! inside one transaction) are the same code on both. The schema is one description
//! (`migrations/*.sql`) rendered per dialect by [`postgres_dialect`].
//!
//! SQLite runs in WAL mode with `synchronous = NORMAL`, which survives a killed process (every
//! committed transaction is in the WAL file); `synchronous = FULL` would also survive power loss at
//! a large cost. PostgreSQL commits are durable when they return.

use crate::StoreError;
use aistr_core::{
    AttemptRecord, AttemptResult, Intent, Label, Level, NewRun, PlannedAttempt, Probe, RunRecord,
    StageRecord, Turn, TurnRole, Verdict, VerdictSource,
};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Row, SqlitePool};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

const SCHEMA_VERSION: i64 = 7;
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_journal.sql"),
    include_str!("../migrations/0002_verdict_detail.sql"),
    include_str!("../migrations/0003_conversations.sql"),
    include_str!("../migrations/0004_run_results.sql"),
    include_str!("../migrations/0005_leases.sql"),
    include_str!("../migrations/0006_rate_slots.sql"),
    include_str!("../migrations/0007_access.sql"),
];

/// Serialises concurrent migrations of one PostgreSQL database (several workers starting at once).
const PG_MIGRATION_LOCK: i64 = 0x6169_7374_725f_6a31; // "aistr_j1"

/// The part of a verdict stored as JSON in `verdict_detail`.
#[derive(serde::Serialize, serde::Deserialize, Default)]
struct VerdictDetail {
    #[serde(default)]
    stages: Vec<StageRecord>,
    #[serde(default)]
    needs_review: bool,
}

#[derive(Debug, Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$p` bound to the journal's pool, compiled once per backend.
macro_rules! on_pool {
    ($self:expr, $p:ident => $body:expr) => {
        match &$self.pool {
            Pool::Sqlite($p) => $body,
            Pool::Postgres($p) => $body,
        }
    };
}
pub(crate) use on_pool;

/// An open journal.
#[derive(Debug, Clone)]
pub struct Journal {
    pub(crate) pool: Pool,
    /// Where it is, for messages: the file, or the URL without its password.
    path: String,
}

pub(crate) fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("journal values serialise")
}

/// Whether `db` names a PostgreSQL database (`postgres://` or `postgresql://`) rather than a file.
#[must_use]
pub fn is_postgres_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// A database URL fit for messages and logs: the password, if any, replaced by `***`.
#[must_use]
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => format!("{scheme}://{userinfo}@{host}{tail}"),
        },
        None => url.to_owned(),
    }
}

/// The schema's SQL in PostgreSQL's dialect. The migrations are written once, in the subset both
/// databases share, with SQLite's type names; PostgreSQL's `INTEGER` and `REAL` are 32-bit, so they
/// become `BIGINT` and `DOUBLE PRECISION` (what the journal binds: i64 and f64).
#[must_use]
pub fn postgres_dialect(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 64);
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        out.push_str(match word.as_str() {
            "INTEGER" => "BIGINT",
            "REAL" => "DOUBLE PRECISION",
            w => w,
        });
        word.clear();
    };
    for line in sql.lines() {
        // Comments pass through unchanged.
        let (code, comment) = line.split_at(line.find("--").unwrap_or(line.len()));
        for c in code.chars() {
            if c.is_ascii_alphanumeric() || c == '_' {
                word.push(c);
            } else {
                flush(&mut word, &mut out);
                out.push(c);
            }
        }
        flush(&mut word, &mut out);
        out.push_str(comment);
        out.push('\n');
    }
    out
}

impl Journal {
    /// Opens (creating if needed) the journal `path` names and brings its schema up to date: a
    /// PostgreSQL database when it is a `postgres://` URL, else an SQLite file.
    pub async fn open(path: &Path) -> Result<Journal, StoreError> {
        match path.to_str().filter(|p| is_postgres_url(p)) {
            Some(url) => Self::open_postgres(url).await,
            None => Self::open_sqlite(path).await,
        }
    }

    /// Whether this journal is in PostgreSQL.
    #[must_use]
    pub fn is_postgres(&self) -> bool {
        matches!(self.pool, Pool::Postgres(_))
    }

    async fn open_sqlite(path: &Path) -> Result<Journal, StoreError> {
        let display = path.display().to_string();
        let db = |source| StoreError::Db {
            path: display.clone(),
            source,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| db(sqlx::Error::Io(e)))?;
        }
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{display}"))
            .map_err(db)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true);
        // Migrate through a pool of one connection that is then closed: connections opened before a
        // schema change would keep statements prepared against the old column list.
        let migrator = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(db)?;
        Journal {
            pool: Pool::Sqlite(migrator.clone()),
            path: display.clone(),
        }
        .migrate()
        .await?;
        migrator.close().await;
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(db)?;
        Ok(Journal {
            pool: Pool::Sqlite(pool),
            path: display,
        })
    }

    async fn open_postgres(url: &str) -> Result<Journal, StoreError> {
        let display = redact_url(url);
        let db = |source| StoreError::Db {
            path: display.clone(),
            source,
        };
        let options = PgConnectOptions::from_str(url).map_err(db)?;
        let connect = |n, wait| {
            PgPoolOptions::new()
                .max_connections(n)
                .acquire_timeout(wait)
                .connect_with(options.clone())
        };
        // A wrong URL or a server that is down is said within 10 s, not after a long retry.
        let migrator = connect(1, Duration::from_secs(10)).await.map_err(db)?;
        Journal {
            pool: Pool::Postgres(migrator.clone()),
            path: display.clone(),
        }
        .migrate()
        .await?;
        migrator.close().await;
        let pool = connect(8, Duration::from_secs(30)).await.map_err(db)?;
        Ok(Journal {
            pool: Pool::Postgres(pool),
            path: display,
        })
    }

    pub(crate) fn err(&self) -> impl Fn(sqlx::Error) -> StoreError + '_ {
        move |source| StoreError::Db {
            path: self.path.clone(),
            source,
        }
    }

    fn too_new(&self, found: i64) -> StoreError {
        StoreError::TooNew {
            path: self.path.clone(),
            found,
            supported: SCHEMA_VERSION,
        }
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(pool) => {
                let version: i64 = sqlx::query_scalar("PRAGMA user_version")
                    .fetch_one(pool)
                    .await
                    .map_err(self.err())?;
                if version > SCHEMA_VERSION {
                    return Err(self.too_new(version));
                }
                for (i, sql) in MIGRATIONS
                    .iter()
                    .enumerate()
                    .skip(usize::try_from(version).unwrap_or(0))
                {
                    let mut tx = pool.begin().await.map_err(self.err())?;
                    // Our own embedded migration text and an integer: nothing user-supplied.
                    sqlx::raw_sql(sqlx::AssertSqlSafe(*sql))
                        .execute(&mut *tx)
                        .await
                        .map_err(self.err())?;
                    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("PRAGMA user_version = {}", i + 1)))
                        .execute(&mut *tx)
                        .await
                        .map_err(self.err())?;
                    tx.commit().await.map_err(self.err())?;
                }
            }
            Pool::Postgres(pool) => {
                // One transaction under an advisory lock: PostgreSQL's DDL is transactional, so
                // workers that start together see either no schema or all of it.
                let mut tx = pool.begin().await.map_err(self.err())?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(PG_MIGRATION_LOCK)
                    .execute(&mut *tx)
                    .await
                    .map_err(self.err())?;
                sqlx::raw_sql("CREATE TABLE IF NOT EXISTS aistr_schema (version BIGINT NOT NULL)")
                    .execute(&mut *tx)
                    .await
                    .map_err(self.err())?;
                let found: Option<i64> = sqlx::query_scalar("SELECT max(version) FROM aistr_schema")
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(self.err())?;
                let version = found.unwrap_or(0);
                if version > SCHEMA_VERSION {
                    return Err(self.too_new(version));
                }
                for sql in MIGRATIONS.iter().skip(usize::try_from(version).unwrap_or(0)) {
                    // Our own embedded migration text: nothing user-supplied.
                    sqlx::raw_sql(sqlx::AssertSqlSafe(postgres_dialect(sql)))
                        .execute(&mut *tx)
                        .await
                        .map_err(self.err())?;
                }
                sqlx::query("DELETE FROM aistr_schema")
                    .execute(&mut *tx)
                    .await
                    .map_err(self.err())?;
                sqlx::query("INSERT INTO aistr_schema (version) VALUES ($1)")
                    .bind(SCHEMA_VERSION)
                    .execute(&mut *tx)
                    .await
                    .map_err(self.err())?;
                tx.commit().await.map_err(self.err())?;
            }
        }
        Ok(())
    }

    /// Creates a run and all its planned attempts in one transaction.
    pub async fn create_run(&self, run: &NewRun, attempts: &[PlannedAttempt]) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(self.err())?;
            let exists: Option<String> = sqlx::query_scalar("SELECT id FROM runs WHERE id = $1")
                .bind(&run.id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(self.err())?;
            if exists.is_some() {
                return Err(StoreError::RunExists(run.id.clone()));
            }
            sqlx::query(
                "INSERT INTO runs (id, created_at, aistr_version, config_json, target_json, datasets_json, judge, status)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'running')",
            )
            .bind(&run.id)
            .bind(crate::now_rfc3339())
            .bind(env!("CARGO_PKG_VERSION"))
            .bind(&run.config_json)
            .bind(&run.target_json)
            .bind(&run.datasets_json)
            .bind(&run.judge)
            .execute(&mut *tx)
            .await
            .map_err(self.err())?;
            for a in attempts {
                sqlx::query(
                    "INSERT INTO attempts (run_id, seq, probe_id, dataset, intent, category, language, level, method,
                       chain_json, goal, request_json, canary, decoders_json, status)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'planned')",
                )
                .bind(&run.id)
                .bind(a.seq)
                .bind(&a.probe.id)
                .bind(&a.probe.dataset)
                .bind(json(&a.probe.intent).trim_matches('"').to_owned())
                .bind(&a.probe.category)
                .bind(&a.probe.language)
                .bind(a.level.as_str())
                .bind(&a.method)
                .bind(json(&a.chain))
                .bind(json(&a.probe))
                .bind(json(&a.request))
                .bind(&a.canary)
                .bind(json(&a.decoders))
                .execute(&mut *tx)
                .await
                .map_err(self.err())?;
            }
            tx.commit().await.map_err(self.err())
        })
    }

    /// The run with this id.
    pub async fn run(&self, id: &str) -> Result<RunRecord, StoreError> {
        on_pool!(self, pool => {
            let row = sqlx::query("SELECT * FROM runs WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await
                .map_err(self.err())?
                .ok_or_else(|| StoreError::NoSuchRun(id.to_owned()))?;
            Ok(RunRecord {
                id: row.get("id"),
                created_at: row.get("created_at"),
                aistr_version: row.get("aistr_version"),
                config_json: row.get("config_json"),
                target_json: row.get("target_json"),
                datasets_json: row.get("datasets_json"),
                judge: row.get("judge"),
                status: row.get("status"),
            })
        })
    }

    /// All runs, newest first.
    pub async fn runs(&self) -> Result<Vec<RunRecord>, StoreError> {
        on_pool!(self, pool => {
            let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM runs ORDER BY created_at DESC")
                .fetch_all(pool)
                .await
                .map_err(self.err())?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                out.push(self.run(&id).await?);
            }
            Ok(out)
        })
    }

    /// Sets a run's status.
    pub async fn set_status(&self, id: &str, status: &str) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            let finished = (status == "finished").then(crate::now_rfc3339);
            sqlx::query("UPDATE runs SET status = $1, finished_at = COALESCE($2, finished_at) WHERE id = $3")
                .bind(status)
                .bind(finished)
                .bind(id)
                .execute(pool)
                .await
                .map_err(self.err())?;
            Ok(())
        })
    }

    /// Records results in one transaction. A result for an attempt that is already done is ignored
    /// (it cannot count twice); returns how many attempts were newly recorded.
    pub async fn record(&self, run_id: &str, results: &[AttemptResult]) -> Result<u64, StoreError> {
        self.record_under(run_id, results, None).await
    }

    /// [`record`](Self::record), and when `lease` is given, only over rows whose lease is still
    /// that owner's claim (`lease_owner` and `lease_token` unchanged since the claim).
    pub(crate) async fn record_under(
        &self,
        run_id: &str,
        results: &[AttemptResult],
        lease: Option<&crate::queue::Lease>,
    ) -> Result<u64, StoreError> {
        const SQL: &str =
            "UPDATE attempts SET status = 'done', response_text = $1, response_raw = $2, finish_reason = $3,
               error_kind = $4, error_message = $5, tries = $6, prompt_tokens = $7, completion_tokens = $8,
               started_at = $9, latency_ms = $10, label = $11, reason = $12, confidence = $13, judge = $14,
               verdict_detail = $15, verdict_source = $16, conversation_json = $17
             WHERE run_id = $18 AND seq = $19 AND status = 'planned'";
        let leased_sql = format!("{SQL} AND lease_owner = $20 AND lease_token = $21");
        on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(self.err())?;
            let mut written = 0;
            for r in results {
                let token = match lease {
                    Some(l) => match l.token(r.seq) {
                        Some(t) => Some((l.owner.as_str(), t)),
                        None => continue, // not claimed by this lease: never recorded through it
                    },
                    None => None,
                };
                // Our own constant SQL (with or without the lease condition): nothing user-supplied.
                let sql = if token.is_some() { leased_sql.as_str() } else { SQL };
                let query = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(&r.response_text)
                .bind(&r.response_raw)
                .bind(&r.finish_reason)
                .bind(&r.error_kind)
                .bind(&r.error_message)
                .bind(i64::from(r.tries))
                .bind(i64::from(r.prompt_tokens))
                .bind(i64::from(r.completion_tokens))
                .bind(&r.started_at)
                .bind(i64::try_from(r.latency_ms).unwrap_or(i64::MAX))
                .bind(r.verdict.label.as_str())
                .bind(&r.verdict.reason)
                .bind(f64::from(r.verdict.confidence))
                .bind(&r.verdict.judge)
                .bind(json(&VerdictDetail {
                    stages: r.verdict.stages.clone(),
                    needs_review: r.verdict.needs_review,
                }))
                .bind(r.verdict.source.as_str())
                .bind(r.conversation.as_ref().map(json))
                .bind(run_id)
                .bind(r.seq);
                let query = match token {
                    Some((owner, t)) => query.bind(owner).bind(t),
                    None => query,
                };
                let done = query.execute(&mut *tx).await.map_err(self.err())?;
                written += done.rows_affected();
            }
            tx.commit().await.map_err(self.err())?;
            Ok(written)
        })
    }

    /// Applies a human reviewer's label to a recorded attempt. The machine verdict is kept (as JSON in
    /// `machine_verdict`, first review only), the label's source becomes `human` and its confidence
    /// 1. Returns false when the attempt does not exist or has no result yet.
    pub async fn apply_human_label(
        &self,
        run_id: &str,
        seq: i64,
        label: Label,
        note: &str,
    ) -> Result<bool, StoreError> {
        on_pool!(self, pool => {
            let Some(record) = self
                .query_attempts(run_id, false)
                .await?
                .into_iter()
                .find(|r| r.planned.seq == seq)
            else {
                return Ok(false);
            };
            let Some(result) = record.result else {
                return Ok(false);
            };
            let reason = if note.trim().is_empty() {
                "human review".to_owned()
            } else {
                format!("human review: {}", note.trim())
            };
            let done = sqlx::query(
                "UPDATE attempts SET machine_verdict = COALESCE(machine_verdict, $1), label = $2, reason = $3, confidence = 1.0,
                   verdict_source = 'human'
                 WHERE run_id = $4 AND seq = $5 AND status = 'done'",
            )
            .bind(json(&result.verdict))
            .bind(label.as_str())
            .bind(reason)
            .bind(run_id)
            .bind(seq)
            .execute(pool)
            .await
            .map_err(self.err())?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Records one turn of a conversation in its own transaction, so it survives a crash the moment
    /// the call returns. Returns false (and changes nothing) when that turn is already recorded:
    /// a turn can never be recorded twice.
    pub async fn record_turn(&self, run_id: &str, seq: i64, turn: &Turn) -> Result<bool, StoreError> {
        on_pool!(self, pool => {
            let done = sqlx::query(
                "INSERT INTO turns (run_id, seq, idx, role, branch, request_json, response_text, error, verdict_json,
                   score, latency_ms, recorded_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                 ON CONFLICT (run_id, seq, idx) DO NOTHING",
            )
            .bind(run_id)
            .bind(seq)
            .bind(i64::from(turn.index))
            .bind(turn.role.as_str())
            .bind(&turn.branch)
            .bind(json(&turn.request))
            .bind(&turn.response)
            .bind(&turn.error)
            .bind(turn.verdict.as_ref().map(json))
            .bind(turn.score.map(i64::from))
            .bind(i64::try_from(turn.latency_ms).unwrap_or(i64::MAX))
            .bind(crate::now_rfc3339())
            .execute(pool)
            .await
            .map_err(self.err())?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Stores a run-level result under `name` (JSON), in its own transaction. Returns false (and
    /// changes nothing) when that name is already recorded for the run: a measured result is never
    /// overwritten.
    pub async fn record_run_result(&self, run_id: &str, name: &str, json: &str) -> Result<bool, StoreError> {
        on_pool!(self, pool => {
            let done = sqlx::query(
                "INSERT INTO run_results (run_id, name, result_json, recorded_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (run_id, name) DO NOTHING",
            )
            .bind(run_id)
            .bind(name)
            .bind(json)
            .bind(crate::now_rfc3339())
            .execute(pool)
            .await
            .map_err(self.err())?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// The run-level result stored under `name`, if any.
    pub async fn run_result(&self, run_id: &str, name: &str) -> Result<Option<String>, StoreError> {
        on_pool!(self, pool => {
            sqlx::query_scalar("SELECT result_json FROM run_results WHERE run_id = $1 AND name = $2")
                .bind(run_id)
                .bind(name)
                .fetch_optional(pool)
                .await
                .map_err(self.err())
        })
    }

    /// The recorded turns of one conversation, in call order.
    pub async fn turns(&self, run_id: &str, seq: i64) -> Result<Vec<Turn>, StoreError> {
        on_pool!(self, pool => {
            let rows = sqlx::query("SELECT * FROM turns WHERE run_id = $1 AND seq = $2 ORDER BY idx")
                .bind(run_id)
                .bind(seq)
                .fetch_all(pool)
                .await
                .map_err(self.err())?;
            rows.iter().map(decode_turn).collect()
        })
    }

    /// Every recorded turn of a run as `(seq, turn)`, by conversation then call order.
    pub async fn all_turns(&self, run_id: &str) -> Result<Vec<(i64, Turn)>, StoreError> {
        on_pool!(self, pool => {
            let rows = sqlx::query("SELECT * FROM turns WHERE run_id = $1 ORDER BY seq, idx")
                .bind(run_id)
                .fetch_all(pool)
                .await
                .map_err(self.err())?;
            rows.iter().map(|r| Ok((r.get("seq"), decode_turn(r)?))).collect()
        })
    }

    /// Attempts of a run still waiting for a result, in plan order.
    pub async fn pending(&self, run_id: &str) -> Result<Vec<PlannedAttempt>, StoreError> {
        Ok(self
            .query_attempts(run_id, true)
            .await?
            .into_iter()
            .map(|r| r.planned)
            .collect())
    }

    /// Every attempt of a run, in plan order.
    pub async fn attempts(&self, run_id: &str) -> Result<Vec<AttemptRecord>, StoreError> {
        self.query_attempts(run_id, false).await
    }

    async fn query_attempts(
        &self,
        run_id: &str,
        only_pending: bool,
    ) -> Result<Vec<AttemptRecord>, StoreError> {
        on_pool!(self, pool => {
            let sql = if only_pending {
                "SELECT * FROM attempts WHERE run_id = $1 AND status = 'planned' ORDER BY seq"
            } else {
                "SELECT * FROM attempts WHERE run_id = $1 ORDER BY seq"
            };
            let rows = sqlx::query(sql)
                .bind(run_id)
                .fetch_all(pool)
                .await
                .map_err(self.err())?;
            rows.iter().map(decode_row).collect()
        })
    }
}

fn parse<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

// The row decoders are generic over the backend's row type (SQLite's and PostgreSQL's both qualify).
fn decode_turn<'r, R: Row>(row: &'r R) -> Result<Turn, StoreError>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    &'r str: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let role: String = row.get("role");
    Ok(Turn {
        index: u32::try_from(row.get::<i64, _>("idx"))
            .map_err(|_| StoreError::Corrupt("turn index".into()))?,
        role: match role.as_str() {
            "attacker" => TurnRole::Attacker,
            "target" => TurnRole::Target,
            other => return Err(StoreError::Corrupt(format!("turn role `{other}`"))),
        },
        branch: row.get("branch"),
        request: parse("turn request_json", row.get::<&str, _>("request_json"))?,
        response: row.get("response_text"),
        error: row.get("error"),
        verdict: match row.get::<Option<String>, _>("verdict_json") {
            Some(text) => Some(parse("turn verdict_json", &text)?),
            None => None,
        },
        score: row
            .get::<Option<i64>, _>("score")
            .and_then(|s| u8::try_from(s).ok()),
        latency_ms: u64::try_from(row.get::<i64, _>("latency_ms")).unwrap_or(0),
    })
}

pub(crate) fn decode_row<'r, R: Row>(row: &'r R) -> Result<AttemptRecord, StoreError>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    &'r str: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<f64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let level: String = row.get("level");
    let probe: Probe = parse("goal", row.get::<&str, _>("goal"))?;
    let intent: String = row.get("intent");
    debug_assert_eq!(
        intent,
        if probe.intent == Intent::Harmful {
            "harmful"
        } else {
            "benign"
        }
    );
    let planned = PlannedAttempt {
        seq: row.get("seq"),
        probe,
        level: Level::parse(&level).ok_or_else(|| StoreError::Corrupt(format!("level `{level}`")))?,
        method: row.get("method"),
        chain: parse("chain_json", row.get::<&str, _>("chain_json"))?,
        request: parse("request_json", row.get::<&str, _>("request_json"))?,
        canary: row.get("canary"),
        decoders: parse("decoders_json", row.get::<&str, _>("decoders_json"))?,
    };
    let status: String = row.get("status");
    let result = if status == "done" {
        let label: String = row.get("label");
        let u32_of = |col: &str| u32::try_from(row.get::<Option<i64>, _>(col).unwrap_or(0)).unwrap_or(0);
        #[expect(clippy::cast_possible_truncation, reason = "confidence is stored from an f32")]
        let confidence = row.get::<Option<f64>, _>("confidence").unwrap_or(0.0) as f32;
        Some(AttemptResult {
            seq: planned.seq,
            response_text: row.get("response_text"),
            response_raw: row.get("response_raw"),
            finish_reason: row.get("finish_reason"),
            error_kind: row.get("error_kind"),
            error_message: row.get("error_message"),
            tries: u32_of("tries"),
            prompt_tokens: u32_of("prompt_tokens"),
            completion_tokens: u32_of("completion_tokens"),
            started_at: row.get::<Option<String>, _>("started_at").unwrap_or_default(),
            latency_ms: u64::try_from(row.get::<Option<i64>, _>("latency_ms").unwrap_or(0)).unwrap_or(0),
            verdict: {
                let detail: VerdictDetail = match row.get::<Option<String>, _>("verdict_detail") {
                    Some(text) => parse("verdict_detail", &text)?,
                    None => VerdictDetail::default(),
                };
                let source = row.get::<Option<String>, _>("verdict_source");
                Verdict {
                    stages: detail.stages,
                    needs_review: detail.needs_review,
                    source: source
                        .as_deref()
                        .and_then(VerdictSource::parse)
                        .unwrap_or_default(),
                    ..Verdict::new(
                        Label::parse(&label)
                            .ok_or_else(|| StoreError::Corrupt(format!("label `{label}`")))?,
                        row.get::<Option<String>, _>("reason").unwrap_or_default(),
                        confidence,
                        row.get::<Option<String>, _>("judge").unwrap_or_default(),
                    )
                }
            },
            conversation: match row.get::<Option<String>, _>("conversation_json") {
                Some(text) => Some(parse("conversation_json", &text)?),
                None => None,
            },
        })
    } else {
        None
    };
    Ok(AttemptRecord { planned, result })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Place, on_both, planned, result, run};
    use aistr_core::ConversationSummary;

    on_both!(plan_record_resume_roundtrip);
    on_both!(stage_records_and_human_review_roundtrip);
    on_both!(turns_are_recorded_once_in_order_and_conversations_roundtrip);
    on_both!(concurrent_writers_record_each_result_once);

    #[test]
    fn the_postgres_dialect_widens_integers_and_reals_and_leaves_the_rest() {
        let sql =
            "CREATE TABLE t (\n  n INTEGER NOT NULL, -- an INTEGER count\n  x REAL,\n  integer_ish TEXT\n);";
        assert_eq!(
            postgres_dialect(sql),
            "CREATE TABLE t (\n  n BIGINT NOT NULL, -- an INTEGER count\n  x DOUBLE PRECISION,\n  integer_ish TEXT\n);\n"
        );
        // Every shipped migration renders without a 32-bit integer or float left in its code.
        for m in MIGRATIONS {
            let pg = postgres_dialect(m);
            for line in pg.lines() {
                let code = line.split("--").next().unwrap_or("");
                assert!(!code.contains("INTEGER") && !code.contains(" REAL"), "{line}");
            }
        }
    }

    #[test]
    fn urls_lose_their_password_in_messages() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            redact_url("postgresql://h/db?sslmode=disable"),
            "postgresql://h/db?sslmode=disable"
        );
        assert!(is_postgres_url("postgresql://h/db") && is_postgres_url("postgres://h"));
        assert!(!is_postgres_url("aistr-out/journal.db"));
    }

    #[tokio::test]
    async fn a_postgres_journal_that_cannot_be_reached_is_an_error_naming_it_without_its_password() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("postgres://u:hunter2@127.0.0.1:{port}/db?connect_timeout=2");
        let e = Journal::open(Path::new(&url)).await.unwrap_err().to_string();
        assert!(
            e.contains(&format!("127.0.0.1:{port}")) && !e.contains("hunter2"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn workers_opening_one_postgres_journal_at_once_migrate_it_once() {
        let Some(place) = Place::postgres() else {
            return;
        };
        let db = place.db();
        let opens: Vec<_> = (0..4)
            .map(|_| {
                let db = db.clone();
                tokio::spawn(async move { Journal::open(&db).await })
            })
            .collect();
        for o in opens {
            o.await.unwrap().expect("every concurrent open succeeds");
        }
        let j = Journal::open(&db).await.unwrap();
        let versions: Vec<i64> = on_pool!(j, pool => sqlx::query_scalar("SELECT version FROM aistr_schema")
            .fetch_all(pool)
            .await
            .unwrap());
        assert_eq!(versions, vec![SCHEMA_VERSION]);
    }

    /// Two journals (two processes' worth of pools) record overlapping results at once: each
    /// attempt is recorded once in all, and the first result to commit is the one kept.
    async fn concurrent_writers_record_each_result_once(place: Place) {
        let db = place.db();
        let a = Journal::open(&db).await.unwrap();
        let b = Journal::open(&db).await.unwrap();
        a.create_run(&run("r"), &(0..40).map(planned).collect::<Vec<_>>())
            .await
            .unwrap();
        let write = |j: Journal, label: Label| {
            tokio::spawn(async move {
                let mut n = 0;
                for seq in 0..40 {
                    n += j.record("r", &[result(seq, label)]).await.unwrap();
                }
                n
            })
        };
        let (na, nb) = (write(a.clone(), Label::Risky), write(b, Label::Safe));
        let (na, nb) = (na.await.unwrap(), nb.await.unwrap());
        assert_eq!(na + nb, 40, "risky {na} + safe {nb}");
        let all = a.attempts("r").await.unwrap();
        let risky = all
            .iter()
            .filter(|r| r.result.as_ref().unwrap().verdict.label == Label::Risky)
            .count();
        assert_eq!(
            u64::try_from(risky).unwrap(),
            na,
            "what was counted is what is stored"
        );
        assert!(a.pending("r").await.unwrap().is_empty());
    }

    async fn plan_record_resume_roundtrip(place: Place) {
        let path = place.db();
        let j = Journal::open(&path).await.unwrap();
        j.create_run(&run("r1"), &(0..5).map(planned).collect::<Vec<_>>())
            .await
            .unwrap();
        assert!(matches!(
            j.create_run(&run("r1"), &[]).await,
            Err(StoreError::RunExists(_))
        ));
        assert_eq!(
            j.record("r1", &[result(1, Label::Risky), result(3, Label::Unscored)])
                .await
                .unwrap(),
            2
        );
        // A second result for a done attempt never counts twice.
        assert_eq!(j.record("r1", &[result(1, Label::Safe)]).await.unwrap(), 0);
        drop(j);
        let j = Journal::open(&path).await.unwrap();
        let pending: Vec<i64> = j.pending("r1").await.unwrap().iter().map(|p| p.seq).collect();
        assert_eq!(pending, vec![0, 2, 4]);
        let all = j.attempts("r1").await.unwrap();
        assert_eq!(all.len(), 5);
        assert_eq!(all[1].result.as_ref().unwrap().verdict.label, Label::Risky);
        assert_eq!(all[1].planned, planned(1));
        assert!(all[0].result.is_none());
        assert!(matches!(j.run("nope").await, Err(StoreError::NoSuchRun(_))));
        assert_eq!(j.run("r1").await.unwrap().status, "running");
    }

    async fn stage_records_and_human_review_roundtrip(place: Place) {
        let j = Journal::open(&place.db()).await.unwrap();
        j.create_run(&run("r"), &(0..2).map(planned).collect::<Vec<_>>())
            .await
            .unwrap();
        let mut r = result(0, Label::Declined);
        r.verdict.source = VerdictSource::Model;
        r.verdict.needs_review = true;
        r.verdict.stages = vec![StageRecord {
            stage: "llm-rubric-v1".into(),
            fired: true,
            label: Some(Label::Declined),
            score: 0.9,
            detail: "refused".into(),
            span: Some((0, 5)),
            raw: Some("{\"label\":\"declined\"}".into()),
        }];
        j.record("r", &[r.clone()]).await.unwrap();
        let got = j.attempts("r").await.unwrap()[0].result.clone().unwrap();
        assert_eq!(got.verdict, r.verdict);
        // Review: label replaced, source human, machine verdict kept once.
        assert!(
            j.apply_human_label("r", 0, Label::Risky, "partial compliance")
                .await
                .unwrap()
        );
        assert!(j.apply_human_label("r", 0, Label::Risky, "again").await.unwrap());
        assert!(
            !j.apply_human_label("r", 1, Label::Safe, "").await.unwrap(),
            "no result yet"
        );
        assert!(
            !j.apply_human_label("r", 9, Label::Safe, "").await.unwrap(),
            "no such attempt"
        );
        let got = j.attempts("r").await.unwrap()[0].result.clone().unwrap().verdict;
        assert_eq!(
            (got.label, got.source, got.confidence),
            (Label::Risky, VerdictSource::Human, 1.0)
        );
        assert_eq!(got.reason, "human review: again");
        let machine: String = on_pool!(j, pool => sqlx::query_scalar("SELECT machine_verdict FROM attempts WHERE seq = 0")
            .fetch_one(pool)
            .await
            .unwrap());
        assert!(machine.contains("\"declined\""), "{machine}");
    }

    async fn turns_are_recorded_once_in_order_and_conversations_roundtrip(place: Place) {
        let path = place.db();
        let j = Journal::open(&path).await.unwrap();
        j.create_run(&run("r"), &(0..2).map(planned).collect::<Vec<_>>())
            .await
            .unwrap();
        let turn = |index: u32, role: TurnRole| Turn {
            index,
            role,
            branch: format!("t{index}"),
            request: planned(0).request,
            response: Some(format!("answer {index}")),
            error: None,
            verdict: (role == TurnRole::Target).then(|| Verdict::new(Label::Declined, "refused", 0.9, "j")),
            score: (role == TurnRole::Target).then_some(1),
            latency_ms: 3,
        };
        assert!(j.record_turn("r", 0, &turn(1, TurnRole::Target)).await.unwrap());
        assert!(j.record_turn("r", 0, &turn(0, TurnRole::Attacker)).await.unwrap());
        assert!(j.record_turn("r", 1, &turn(0, TurnRole::Attacker)).await.unwrap());
        // The same turn again is refused, whatever it now says.
        let mut again = turn(1, TurnRole::Target);
        again.response = Some("different".into());
        assert!(!j.record_turn("r", 0, &again).await.unwrap());
        // A turn of an attempt that does not exist is an error, not a silent orphan.
        assert!(j.record_turn("r", 7, &turn(0, TurnRole::Attacker)).await.is_err());
        drop(j);
        let j = Journal::open(&path).await.unwrap();
        let got = j.turns("r", 0).await.unwrap();
        assert_eq!(got, vec![turn(0, TurnRole::Attacker), turn(1, TurnRole::Target)]);
        assert_eq!(
            j.all_turns("r")
                .await
                .unwrap()
                .iter()
                .map(|(s, t)| (*s, t.index))
                .collect::<Vec<_>>(),
            vec![(0, 0), (0, 1), (1, 0)]
        );
        let mut r = result(0, Label::Risky);
        r.conversation = Some(ConversationSummary {
            orchestrator: "pair".into(),
            success: true,
            turns_to_success: Some(2),
            queries_to_success: Some(3),
            transcript: vec![
                aistr_core::Message::user("q"),
                aistr_core::Message::assistant("a"),
            ],
            ..ConversationSummary::default()
        });
        j.record("r", &[r.clone()]).await.unwrap();
        assert_eq!(
            j.attempts("r").await.unwrap()[0]
                .result
                .as_ref()
                .unwrap()
                .conversation,
            r.conversation
        );
    }
}
