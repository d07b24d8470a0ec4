-- Journal schema v4: run-level results. Some tests measure the run as a whole rather than one
-- attempt (the privacy suite's memorisation tests: canary exposure, prefix -> suffix extraction).
-- Each is stored once under a name when it has been measured, as JSON, so a report re-rendered
-- later (after a resume, on another machine) shows the same figures without measuring again.
CREATE TABLE run_results (
    run_id       TEXT NOT NULL REFERENCES runs(id),
    name         TEXT NOT NULL,
    result_json  TEXT NOT NULL,
    recorded_at  TEXT NOT NULL,
    PRIMARY KEY (run_id, name)
);
