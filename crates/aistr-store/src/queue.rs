//! The work queue of a shared journal: workers on any number of machines claim a run's planned
//! attempts in batches, each under a lease they keep alive with a heartbeat. In PostgreSQL a claim
//! is `SELECT … FOR UPDATE SKIP LOCKED`, so concurrent workers take disjoint batches without
//! waiting on each other; SQLite serialises writers, so the same statement without the lock clause
//! is already exclusive. A lease whose worker died (no heartbeat past `lease_expires`) is claimed
//! again by the next worker, which bumps `lease_token`; the dead worker's late result then matches
//! neither owner nor token and is discarded, so nothing counts twice. An L3 conversation is one
//! attempt row, so it is always claimed whole.
//!
//! [`LeasedRun`] puts a claimed batch behind the [`RunJournal`] trait, so a worker runs it with
//! the ordinary scan session: the session sees only the batch as pending, and its results are
//! recorded under the lease.

use crate::journal::{Pool, decode_row, on_pool};
use crate::{Journal, RunJournal, StoreError};
use aistr_core::{AttemptRecord, AttemptResult, NewRun, PlannedAttempt, RunRecord, Turn};
use sqlx::Row;
use std::collections::HashMap;
use std::time::Duration;

/// A worker's claim on some attempts of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The run.
    pub run_id: String,
    /// Who holds it (unique per worker process).
    pub owner: String,
    /// Claim count of each claimed attempt, by seq, as it was when claimed.
    pub tokens: HashMap<i64, i64>,
}

impl Lease {
    /// The token this lease holds for `seq`, if it claimed it.
    #[must_use]
    pub fn token(&self, seq: i64) -> Option<i64> {
        self.tokens.get(&seq).copied()
    }

    /// The claimed seqs, in plan order.
    #[must_use]
    pub fn seqs(&self) -> Vec<i64> {
        let mut s: Vec<i64> = self.tokens.keys().copied().collect();
        s.sort_unstable();
        s
    }
}

/// Now as Unix milliseconds (the lease clock: workers' clocks must agree to well within a lease,
/// which NTP gives).
#[must_use]
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Journal {
    /// Claims up to `max` planned attempts of `run_id` that no live lease holds, for `owner`, until
    /// `lease` from now. Returns the lease and the claimed attempts in plan order (none when the
    /// run has nothing claimable left).
    pub async fn claim(
        &self,
        run_id: &str,
        owner: &str,
        max: usize,
        lease: Duration,
    ) -> Result<(Lease, Vec<PlannedAttempt>), StoreError> {
        // The picked rows are materialised first: as a plain `IN (subquery)` PostgreSQL may run
        // the subquery again per row and claim more than the limit.
        const PICK: &str = "WITH picked AS MATERIALIZED (
               SELECT seq AS pick FROM attempts
               WHERE run_id = $3 AND status = 'planned' AND (lease_expires IS NULL OR lease_expires < $4)
               ORDER BY seq LIMIT $5";
        const CLAIM: &str = ")
             UPDATE attempts SET lease_owner = $1, lease_expires = $2, lease_token = lease_token + 1
             FROM picked WHERE run_id = $3 AND seq = picked.pick
             RETURNING seq, lease_token";
        let now = now_ms();
        let limit = i64::try_from(max).unwrap_or(i64::MAX);
        let tokens: HashMap<i64, i64> = on_pool!(self, pool => {
            let lock = if matches!(self.pool, Pool::Postgres(_)) { " FOR UPDATE SKIP LOCKED" } else { "" };
            let sql = format!("{PICK}{lock}{CLAIM}");
            // Our own constant SQL with one of two constant suffixes: nothing user-supplied.
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(owner)
                .bind(now.saturating_add(ms(lease)))
                .bind(run_id)
                .bind(now)
                .bind(limit)
                .fetch_all(pool)
                .await
                .map_err(self.err())?;
            rows.iter()
                .map(|r| (r.get::<i64, _>("seq"), r.get::<i64, _>("lease_token")))
                .collect()
        });
        let lease = Lease {
            run_id: run_id.to_owned(),
            owner: owner.to_owned(),
            tokens,
        };
        let claimed = self.attempts_with_seqs(run_id, &lease.seqs()).await?;
        Ok((lease, claimed))
    }

    async fn attempts_with_seqs(
        &self,
        run_id: &str,
        seqs: &[i64],
    ) -> Result<Vec<PlannedAttempt>, StoreError> {
        let mut out = Vec::with_capacity(seqs.len());
        for seq in seqs {
            let record = on_pool!(self, pool => {
                let row = sqlx::query("SELECT * FROM attempts WHERE run_id = $1 AND seq = $2")
                    .bind(run_id)
                    .bind(seq)
                    .fetch_one(pool)
                    .await
                    .map_err(self.err())?;
                decode_row(&row)?
            });
            out.push(record.planned);
        }
        Ok(out)
    }

    /// Pushes the lease's expiry to `lease` from now on every attempt it still holds. Returns how
    /// many it still holds (fewer than claimed once results are recorded or, after a missed
    /// heartbeat, another worker took some over).
    pub async fn heartbeat(&self, lease: &Lease, extend: Duration) -> Result<u64, StoreError> {
        let until = now_ms().saturating_add(ms(extend));
        self.update_held(lease, "lease_expires = $1", Some(until)).await
    }

    /// Gives back what the lease still holds unanswered, at once (a worker shutting down), so
    /// another worker need not wait for the lease to expire.
    pub async fn release(&self, lease: &Lease) -> Result<u64, StoreError> {
        self.update_held(lease, "lease_expires = $1, lease_owner = NULL", None)
            .await
    }

    /// Applies `set` (which may use `$1` = `expires`) to every attempt the lease still holds
    /// unanswered; returns how many.
    async fn update_held(
        &self,
        lease: &Lease,
        set: &'static str,
        expires: Option<i64>,
    ) -> Result<u64, StoreError> {
        let sql = format!(
            "UPDATE attempts SET {set}
             WHERE run_id = $2 AND seq = $3 AND status = 'planned' AND lease_owner = $4 AND lease_token = $5"
        );
        let mut held = 0;
        for (seq, token) in &lease.tokens {
            // Our own constant SQL: `set` is one of the two literals above.
            held += on_pool!(self, pool => sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(expires)
                .bind(&lease.run_id)
                .bind(seq)
                .bind(&lease.owner)
                .bind(token)
                .execute(pool)
                .await
                .map_err(self.err())?
                .rows_affected());
        }
        Ok(held)
    }

    /// Records results under `lease`: a result is kept only while the lease still holds its
    /// attempt; a result for an attempt taken over by another worker is discarded. Returns how
    /// many were recorded.
    pub async fn record_leased(&self, lease: &Lease, results: &[AttemptResult]) -> Result<u64, StoreError> {
        self.record_under(&lease.run_id, results, Some(lease)).await
    }

    /// Runs with planned attempts that no live lease holds, oldest first (what a worker looks for).
    pub async fn runs_with_claimable_work(&self) -> Result<Vec<String>, StoreError> {
        let now = now_ms();
        on_pool!(self, pool => sqlx::query_scalar(
            "SELECT r.id FROM runs r
             WHERE r.status <> 'cancelled' AND EXISTS (
               SELECT 1 FROM attempts a WHERE a.run_id = r.id AND a.status = 'planned'
                 AND (a.lease_expires IS NULL OR a.lease_expires < $1))
             ORDER BY r.created_at",
        )
        .bind(now)
        .fetch_all(pool)
        .await
        .map_err(self.err()))
    }

    /// Reserves the run's next request slot under a rate of one request per `interval` shared by
    /// every worker: returns the Unix millisecond at which this request may be sent (now, or later
    /// when the slots ahead are taken). One statement, so concurrent workers get distinct slots.
    pub async fn reserve_slot(&self, run_id: &str, interval: Duration) -> Result<i64, StoreError> {
        let step = ms(interval).max(1);
        on_pool!(self, pool => sqlx::query_scalar(
            "INSERT INTO rate_slots (run_id, next_ms) VALUES ($1, $2 + $3)
             ON CONFLICT (run_id) DO UPDATE
               SET next_ms = (CASE WHEN rate_slots.next_ms > $2 THEN rate_slots.next_ms ELSE $2 END) + $3
             RETURNING next_ms - $3",
        )
        .bind(run_id)
        .bind(now_ms())
        .bind(step)
        .fetch_one(pool)
        .await
        .map_err(self.err()))
    }

    /// How many attempts of the run are still planned.
    pub async fn planned_count(&self, run_id: &str) -> Result<i64, StoreError> {
        on_pool!(self, pool => sqlx::query_scalar(
            "SELECT COUNT(*) FROM attempts WHERE run_id = $1 AND status = 'planned'",
        )
        .bind(run_id)
        .fetch_one(pool)
        .await
        .map_err(self.err()))
    }
}

/// One claimed batch as a [`RunJournal`]: `pending` is the batch (minus what is recorded
/// already), results are recorded under the lease, and the run's status is left to whoever
/// finishes the run (a batch ending is not the run ending).
#[derive(Debug, Clone)]
pub struct LeasedRun {
    journal: Journal,
    lease: Lease,
}

impl LeasedRun {
    /// The batch `lease` claimed in `journal`.
    #[must_use]
    pub fn new(journal: Journal, lease: Lease) -> Self {
        Self { journal, lease }
    }

    /// The lease.
    #[must_use]
    pub fn lease(&self) -> &Lease {
        &self.lease
    }
}

#[async_trait::async_trait]
impl RunJournal for LeasedRun {
    async fn create_run(&self, _: &NewRun, _: &[PlannedAttempt]) -> Result<(), StoreError> {
        Err(StoreError::Corrupt("a worker's batch cannot create runs".into()))
    }
    async fn run(&self, id: &str) -> Result<RunRecord, StoreError> {
        self.journal.run(id).await
    }
    async fn set_status(&self, _: &str, _: &str) -> Result<(), StoreError> {
        Ok(())
    }
    async fn record(&self, run_id: &str, results: &[AttemptResult]) -> Result<u64, StoreError> {
        if run_id != self.lease.run_id {
            return Ok(0);
        }
        self.journal.record_leased(&self.lease, results).await
    }
    async fn record_turn(&self, run_id: &str, seq: i64, turn: &Turn) -> Result<bool, StoreError> {
        self.journal.record_turn(run_id, seq, turn).await
    }
    async fn turns(&self, run_id: &str, seq: i64) -> Result<Vec<Turn>, StoreError> {
        self.journal.turns(run_id, seq).await
    }
    async fn pending(&self, run_id: &str) -> Result<Vec<PlannedAttempt>, StoreError> {
        let mine = self.lease.seqs();
        Ok(self
            .journal
            .pending(run_id)
            .await?
            .into_iter()
            .filter(|a| run_id == self.lease.run_id && mine.binary_search(&a.seq).is_ok())
            .collect())
    }
    async fn attempts(&self, run_id: &str) -> Result<Vec<AttemptRecord>, StoreError> {
        self.journal.attempts(run_id).await
    }
    async fn record_run_result(&self, run_id: &str, name: &str, json: &str) -> Result<bool, StoreError> {
        self.journal.record_run_result(run_id, name, json).await
    }
    async fn run_result(&self, run_id: &str, name: &str) -> Result<Option<String>, StoreError> {
        self.journal.run_result(run_id, name).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Place, on_both, planned, result, run};
    use aistr_core::Label;
    use std::collections::HashSet;

    on_both!(concurrent_claims_are_disjoint_and_cover_the_run);
    on_both!(an_expired_lease_is_taken_over_and_the_late_result_is_discarded);
    on_both!(a_heartbeat_keeps_a_lease_and_release_gives_it_back);
    on_both!(a_leased_run_shows_only_its_batch_and_records_only_under_its_lease);
    on_both!(rate_slots_are_distinct_and_one_interval_apart_across_journals);

    async fn rate_slots_are_distinct_and_one_interval_apart_across_journals(place: Place) {
        let j = setup(&place, 1).await;
        let k = Journal::open(&place.db()).await.unwrap();
        let before = now_ms();
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let j = if i % 2 == 0 { j.clone() } else { k.clone() };
                tokio::spawn(async move { j.reserve_slot("r", Duration::from_millis(50)).await.unwrap() })
            })
            .collect();
        let mut slots = Vec::new();
        for t in tasks {
            slots.push(t.await.unwrap());
        }
        slots.sort_unstable();
        assert!(slots[0] >= before - 5, "{slots:?}");
        for w in slots.windows(2) {
            assert!(w[1] - w[0] >= 50, "slots closer than the interval: {slots:?}");
        }
        // 20 slots at 50 ms: the last is about a second out.
        assert!(slots[19] - slots[0] >= 950, "{slots:?}");
    }

    async fn setup(place: &Place, n: i64) -> Journal {
        let j = Journal::open(&place.db()).await.unwrap();
        j.create_run(&run("r"), &(0..n).map(planned).collect::<Vec<_>>())
            .await
            .unwrap();
        j
    }

    async fn concurrent_claims_are_disjoint_and_cover_the_run(place: Place) {
        setup(&place, 60).await;
        let db = place.db();
        // Three workers (three pools) claim and record in batches of 7 until nothing is left.
        let workers: Vec<_> = (0..3)
            .map(|w| {
                let db = db.clone();
                tokio::spawn(async move {
                    let j = Journal::open(&db).await.unwrap();
                    let mut mine = Vec::new();
                    loop {
                        let (lease, batch) = j
                            .claim("r", &format!("w{w}"), 7, Duration::from_secs(30))
                            .await
                            .unwrap();
                        if batch.is_empty() {
                            break;
                        }
                        let results: Vec<_> = batch.iter().map(|a| result(a.seq, Label::Safe)).collect();
                        assert_eq!(
                            j.record_leased(&lease, &results).await.unwrap(),
                            batch.len() as u64
                        );
                        mine.extend(batch.iter().map(|a| a.seq));
                    }
                    mine
                })
            })
            .collect();
        let mut all = Vec::new();
        for w in workers {
            all.extend(w.await.unwrap());
        }
        let distinct: HashSet<i64> = all.iter().copied().collect();
        assert_eq!(all.len(), 60, "every attempt claimed and recorded exactly once");
        assert_eq!(distinct.len(), 60);
        let j = Journal::open(&db).await.unwrap();
        assert_eq!(j.planned_count("r").await.unwrap(), 0);
        assert!(j.runs_with_claimable_work().await.unwrap().is_empty());
    }

    async fn an_expired_lease_is_taken_over_and_the_late_result_is_discarded(place: Place) {
        let j = setup(&place, 3).await;
        // A lease long enough that the next claim surely comes before it expires, even on a loaded
        // CI machine (50 ms was not: a PostgreSQL round trip there once took longer).
        let (dead, batch) = j
            .claim("r", "dead", 10, Duration::from_millis(1000))
            .await
            .unwrap();
        assert_eq!(batch.len(), 3);
        // While the lease lives nobody else gets the attempts.
        let (_, none) = j.claim("r", "other", 10, Duration::from_secs(30)).await.unwrap();
        assert!(none.is_empty());
        tokio::time::sleep(Duration::from_millis(1200)).await;
        assert_eq!(j.runs_with_claimable_work().await.unwrap(), vec!["r".to_owned()]);
        let (live, taken) = j.claim("r", "live", 10, Duration::from_secs(30)).await.unwrap();
        assert_eq!(taken.len(), 3, "the expired lease is taken over");
        // The dead worker's result arrives late: discarded. The live worker's counts.
        assert_eq!(
            j.record_leased(&dead, &[result(0, Label::Risky)]).await.unwrap(),
            0
        );
        assert_eq!(j.heartbeat(&dead, Duration::from_secs(30)).await.unwrap(), 0);
        let all: Vec<_> = (0..3).map(|s| result(s, Label::Safe)).collect();
        assert_eq!(j.record_leased(&live, &all).await.unwrap(), 3);
        let labels: Vec<Label> = j
            .attempts("r")
            .await
            .unwrap()
            .iter()
            .map(|a| a.result.as_ref().unwrap().verdict.label)
            .collect();
        assert_eq!(labels, vec![Label::Safe; 3]);
        // Even the same owner name cannot record with a stale token.
        let mut stale = live.clone();
        stale.tokens.values_mut().for_each(|t| *t -= 1);
        assert_eq!(j.record_leased(&stale, &all).await.unwrap(), 0);
    }

    async fn a_heartbeat_keeps_a_lease_and_release_gives_it_back(place: Place) {
        let j = setup(&place, 4).await;
        let (lease, batch) = j.claim("r", "a", 2, Duration::from_millis(150)).await.unwrap();
        assert_eq!(batch.iter().map(|a| a.seq).collect::<Vec<_>>(), vec![0, 1]);
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_millis(80)).await;
            assert_eq!(j.heartbeat(&lease, Duration::from_millis(150)).await.unwrap(), 2);
        }
        // 240 ms after a 150 ms claim, the heartbeats kept it: another worker gets only 2 and 3.
        let (other, rest) = j.claim("r", "b", 10, Duration::from_secs(30)).await.unwrap();
        assert_eq!(rest.iter().map(|a| a.seq).collect::<Vec<_>>(), vec![2, 3]);
        assert_eq!(j.release(&lease).await.unwrap(), 2);
        let (_, back) = j.claim("r", "c", 10, Duration::from_secs(30)).await.unwrap();
        assert_eq!(
            back.iter().map(|a| a.seq).collect::<Vec<_>>(),
            vec![0, 1],
            "released at once"
        );
        assert_eq!(j.heartbeat(&other, Duration::from_secs(30)).await.unwrap(), 2);
    }

    async fn a_leased_run_shows_only_its_batch_and_records_only_under_its_lease(place: Place) {
        let j = setup(&place, 5).await;
        let (lease, _) = j.claim("r", "w", 2, Duration::from_secs(30)).await.unwrap();
        let leased = LeasedRun::new(j.clone(), lease);
        let pending: Vec<i64> = leased.pending("r").await.unwrap().iter().map(|a| a.seq).collect();
        assert_eq!(pending, vec![0, 1]);
        // A result for an attempt outside the batch is not recorded through it.
        assert_eq!(
            leased
                .record("r", &[result(0, Label::Risky), result(4, Label::Risky)])
                .await
                .unwrap(),
            1
        );
        assert_eq!(leased.pending("r").await.unwrap().len(), 1);
        leased.set_status("r", "finished").await.unwrap();
        assert_eq!(
            j.run("r").await.unwrap().status,
            "running",
            "a batch does not finish the run"
        );
        assert_eq!(j.planned_count("r").await.unwrap(), 4);
    }
}
