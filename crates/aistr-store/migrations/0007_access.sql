-- Journal schema v7: who may call `aistr serve`, and what every mutating call did.
-- A token is stored as the SHA-256 of its secret, never the secret: the secret is 256 random
-- bits, so a slow password hash would add nothing an attacker with the table could not do anyway.
CREATE TABLE api_tokens (
    token_hash  TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);

-- One row per mutating call, accepted or refused: who (token name, or `anonymous`), with which
-- role, what (`POST /api/v1/runs`), on what (a run, a run's attempt), and the HTTP status.
CREATE TABLE audit_log (
    id      TEXT PRIMARY KEY,
    at_ms   INTEGER NOT NULL,
    actor   TEXT NOT NULL,
    role    TEXT NOT NULL,
    action  TEXT NOT NULL,
    subject TEXT NOT NULL,
    status  INTEGER NOT NULL,
    detail  TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at_ms);
