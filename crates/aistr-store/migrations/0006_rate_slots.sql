-- Journal schema v6: a run's request rate shared by all its workers. `next_ms` is the earliest
-- Unix millisecond at which the next request of the run may be sent; a worker reserves a slot by
-- moving it forward one interval (`60000 / rpm` ms) in one statement, and sends at the slot it got.
CREATE TABLE rate_slots (
    run_id   TEXT PRIMARY KEY REFERENCES runs(id),
    next_ms  INTEGER NOT NULL
);
