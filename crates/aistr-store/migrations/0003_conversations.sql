-- Journal schema v3: multi-turn (L3) attacks. A conversation is one attempt; each call it makes to
-- the attacker or the target is a row of `turns`, written as soon as the answer arrives, so an
-- interrupted conversation resumes after its last answered call. `(run_id, seq, idx)` is the key:
-- a turn can be recorded once only. The finished conversation's summary (turns and queries to
-- success, the winning transcript) lands in `attempts.conversation_json` with its verdict.
CREATE TABLE turns (
    run_id        TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    idx           INTEGER NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('attacker', 'target')),
    branch        TEXT NOT NULL,
    request_json  TEXT NOT NULL,
    response_text TEXT,
    error         TEXT,
    verdict_json  TEXT,
    score         INTEGER,
    latency_ms    INTEGER NOT NULL,
    recorded_at   TEXT NOT NULL,
    PRIMARY KEY (run_id, seq, idx),
    FOREIGN KEY (run_id, seq) REFERENCES attempts(run_id, seq)
);

ALTER TABLE attempts ADD COLUMN conversation_json TEXT;
