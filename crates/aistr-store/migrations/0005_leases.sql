-- Journal schema v5: the work queue of a shared journal. Workers (`aistr worker`) claim planned
-- attempts in batches with a lease: `lease_owner` is the worker, `lease_expires` the end of the
-- lease (Unix milliseconds, pushed forward by the worker's heartbeat), and `lease_token` counts the
-- claims of the row, so a result from a lease that expired and was taken over matches neither the
-- owner nor the token and is discarded. A single-process scan never sets them.
ALTER TABLE attempts ADD COLUMN lease_owner TEXT;
ALTER TABLE attempts ADD COLUMN lease_expires INTEGER;
ALTER TABLE attempts ADD COLUMN lease_token INTEGER NOT NULL DEFAULT 0;
CREATE INDEX attempts_claimable ON attempts(run_id, status, lease_expires);
