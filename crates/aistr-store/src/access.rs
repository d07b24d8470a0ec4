//! What `aistr serve` keeps beside the runs: API tokens (as hashes) and the audit log of every
//! mutating call. They live in the journal so that a team's one PostgreSQL holds everything, and
//! so a token issued on one machine works against a server on another. What a token's secret
//! looks like and how roles rank is the server's business; the store keeps strings.

use crate::StoreError;
use crate::journal::{Journal, Pool, on_pool};
use sqlx::Row;

/// One API token, without its secret (only the hash is ever stored).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TokenRecord {
    /// Who holds it (unique), as shown in the audit log.
    pub name: String,
    /// Its role, as the server spells it.
    pub role: String,
    /// When it was issued (RFC 3339).
    pub created_at: String,
    /// When it was revoked, if it was.
    pub revoked_at: Option<String>,
}

/// One audited call.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditRecord {
    /// Unique id of the row.
    pub id: String,
    /// Unix milliseconds.
    pub at_ms: i64,
    /// The token's name, or `anonymous`.
    pub actor: String,
    /// The role the call was made with (empty when unauthenticated).
    pub role: String,
    /// Method and path, e.g. `POST /api/v1/runs`.
    pub action: String,
    /// What it acted on (a run id, `run:seq`), or empty.
    pub subject: String,
    /// The HTTP status answered.
    pub status: i64,
    /// What changed, in words.
    pub detail: String,
}

impl Journal {
    /// Stores a new token under `name` (which must be unused). `token_hash` is the hash of the
    /// secret; the secret itself never reaches the journal.
    pub async fn add_token(&self, name: &str, role: &str, token_hash: &str) -> Result<(), StoreError> {
        on_pool!(self, pool => sqlx::query(
            "INSERT INTO api_tokens (token_hash, name, role, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(name)
        .bind(role)
        .bind(crate::now_rfc3339())
        .execute(pool)
        .await
        .map(|_| ())
        .map_err(self.err()))?;
        Ok(())
    }

    /// The live (not revoked) token with this hash.
    pub async fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        let row: Option<TokenRow> = on_pool!(self, pool => sqlx::query_as(
            "SELECT name, role, created_at, revoked_at FROM api_tokens
             WHERE token_hash = $1 AND revoked_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(pool)
        .await
        .map_err(self.err()))?;
        Ok(row.map(token_record))
    }

    /// Every token ever issued, by name.
    pub async fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let rows: Vec<TokenRow> = on_pool!(self, pool => sqlx::query_as(
            "SELECT name, role, created_at, revoked_at FROM api_tokens ORDER BY name",
        )
        .fetch_all(pool)
        .await
        .map_err(self.err()))?;
        Ok(rows.into_iter().map(token_record).collect())
    }

    /// Revokes the token named `name`; false when there is no live token of that name.
    pub async fn revoke_token(&self, name: &str) -> Result<bool, StoreError> {
        let n = on_pool!(self, pool => sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL",
        )
        .bind(crate::now_rfc3339())
        .bind(name)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
        .map_err(self.err()))?;
        Ok(n > 0)
    }

    /// Appends one row to the audit log.
    pub async fn append_audit(&self, r: &AuditRecord) -> Result<(), StoreError> {
        on_pool!(self, pool => sqlx::query(
            "INSERT INTO audit_log (id, at_ms, actor, role, action, subject, status, detail)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&r.id)
        .bind(r.at_ms)
        .bind(&r.actor)
        .bind(&r.role)
        .bind(&r.action)
        .bind(&r.subject)
        .bind(r.status)
        .bind(&r.detail)
        .execute(pool)
        .await
        .map(|_| ())
        .map_err(self.err()))?;
        Ok(())
    }

    /// The newest `limit` audit rows, newest first.
    pub async fn audit_log(&self, limit: i64) -> Result<Vec<AuditRecord>, StoreError> {
        on_pool!(self, pool => sqlx::query(
            "SELECT id, at_ms, actor, role, action, subject, status, detail FROM audit_log
             ORDER BY at_ms DESC, id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(pool)
        .await
        .map(|rows| {
            rows.iter()
                .map(|r| AuditRecord {
                    id: r.get(0),
                    at_ms: r.get(1),
                    actor: r.get(2),
                    role: r.get(3),
                    action: r.get(4),
                    subject: r.get(5),
                    status: r.get(6),
                    detail: r.get(7),
                })
                .collect()
        })
        .map_err(self.err()))
    }

    /// How many of the run's attempts are in each status (`planned`, `done`), in one query: the
    /// progress a server shows without reading the attempts.
    pub async fn status_counts(&self, run_id: &str) -> Result<Vec<(String, i64)>, StoreError> {
        on_pool!(self, pool => sqlx::query(
            "SELECT status, COUNT(*) FROM attempts WHERE run_id = $1 GROUP BY status ORDER BY status",
        )
        .bind(run_id)
        .fetch_all(pool)
        .await
        .map(|rows| rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        .map_err(self.err()))
    }

    /// Attempts per run status and attempt status across the journal (for `/metrics`).
    pub async fn attempt_totals(&self) -> Result<Vec<(String, String, i64)>, StoreError> {
        on_pool!(self, pool => sqlx::query(
            "SELECT r.status, a.status, COUNT(*) FROM attempts a JOIN runs r ON r.id = a.run_id
             GROUP BY r.status, a.status ORDER BY r.status, a.status",
        )
        .fetch_all(pool)
        .await
        .map(|rows| rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
        .map_err(self.err()))
    }

    /// Whether the database answers (for `/healthz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        let _: i64 = on_pool!(self, pool => sqlx::query_scalar("SELECT CAST(1 AS BIGINT)")
            .fetch_one(pool)
            .await
            .map_err(self.err()))?;
        Ok(())
    }
}

type TokenRow = (String, String, String, Option<String>);

fn token_record((name, role, created_at, revoked_at): TokenRow) -> TokenRecord {
    TokenRecord {
        name,
        role,
        created_at,
        revoked_at,
    }
}

#[cfg(test)]
mod tests {
    use crate::Journal;
    use crate::testing::{Place, on_both};

    on_both!(tokens_audit_and_counts_roundtrip);

    async fn tokens_audit_and_counts_roundtrip(place: Place) {
        let j = Journal::open(&place.db()).await.unwrap();
        j.add_token("ana", "reviewer", "h1").await.unwrap();
        assert!(
            j.add_token("ana", "admin", "h2").await.is_err(),
            "names are unique"
        );
        let t = j.token_by_hash("h1").await.unwrap().unwrap();
        assert_eq!((t.name.as_str(), t.role.as_str()), ("ana", "reviewer"));
        assert!(j.token_by_hash("nope").await.unwrap().is_none());
        assert!(j.revoke_token("ana").await.unwrap());
        assert!(!j.revoke_token("ana").await.unwrap(), "already revoked");
        assert!(
            j.token_by_hash("h1").await.unwrap().is_none(),
            "a revoked token is not live"
        );
        assert!(j.tokens().await.unwrap()[0].revoked_at.is_some());

        for (i, status) in [(1, 401), (2, 201)] {
            j.append_audit(&crate::AuditRecord {
                id: format!("a{i}"),
                at_ms: i,
                actor: "ana".into(),
                role: "admin".into(),
                action: "POST /api/v1/runs".into(),
                subject: "r".into(),
                status,
                detail: String::new(),
            })
            .await
            .unwrap();
        }
        let log = j.audit_log(10).await.unwrap();
        assert_eq!(
            log.iter().map(|r| r.status).collect::<Vec<_>>(),
            [201, 401],
            "newest first"
        );
        assert_eq!(j.audit_log(1).await.unwrap().len(), 1);
        j.ping().await.unwrap();

        let (run, attempts) = (
            crate::testing::run("r"),
            (0..3).map(crate::testing::planned).collect::<Vec<_>>(),
        );
        j.create_run(&run, &attempts).await.unwrap();
        j.record("r", &[crate::testing::result(1, aistr_core::Label::Safe)])
            .await
            .unwrap();
        assert_eq!(
            j.status_counts("r").await.unwrap(),
            [("done".to_owned(), 1), ("planned".to_owned(), 2)]
        );
        let totals = j.attempt_totals().await.unwrap();
        assert_eq!(totals.iter().map(|t| t.2).sum::<i64>(), 3);
    }
}
