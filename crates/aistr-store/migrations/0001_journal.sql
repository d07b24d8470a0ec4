-- Journal schema v1. One row per run, one row per planned attempt. An attempt row is written as
-- `planned` when the run is planned and updated exactly once to `done` with its result; resume
-- re-executes only the rows still `planned`.
CREATE TABLE runs (
    id            TEXT PRIMARY KEY,
    created_at    TEXT NOT NULL,
    aistr_version TEXT NOT NULL,
    config_json   TEXT NOT NULL,
    target_json   TEXT NOT NULL,
    datasets_json TEXT NOT NULL,
    judge         TEXT NOT NULL,
    status        TEXT NOT NULL,
    finished_at   TEXT
);

CREATE TABLE attempts (
    run_id        TEXT NOT NULL REFERENCES runs(id),
    seq           INTEGER NOT NULL,
    probe_id      TEXT NOT NULL,
    dataset       TEXT NOT NULL,
    intent        TEXT NOT NULL,
    category      TEXT NOT NULL,
    language      TEXT NOT NULL,
    level         TEXT NOT NULL,
    method        TEXT NOT NULL,
    chain_json    TEXT NOT NULL,
    goal          TEXT NOT NULL,
    request_json  TEXT NOT NULL,
    canary        TEXT,
    decoders_json TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('planned', 'done')),
    response_text TEXT,
    response_raw  TEXT,
    finish_reason TEXT,
    error_kind    TEXT,
    error_message TEXT,
    tries         INTEGER,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    started_at    TEXT,
    latency_ms    INTEGER,
    label         TEXT CHECK (label IS NULL OR label IN ('risky', 'declined', 'safe', 'unscored')),
    reason        TEXT,
    confidence    REAL,
    judge         TEXT,
    PRIMARY KEY (run_id, seq)
);

CREATE INDEX attempts_pending ON attempts(run_id, status);
