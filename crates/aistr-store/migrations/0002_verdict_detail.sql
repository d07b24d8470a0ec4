-- Journal schema v2: the layered judge's record. `verdict_detail` holds the JSON of the stages that
-- ran (what fired and why, the LLM judge's raw answer) and the review flag; `verdict_source` says
-- whether a rule, a model or a human decided the label. Human review imports overwrite the label and
-- keep the machine verdict in `machine_verdict` so nothing is lost.
ALTER TABLE attempts ADD COLUMN verdict_detail TEXT;
ALTER TABLE attempts ADD COLUMN verdict_source TEXT;
ALTER TABLE attempts ADD COLUMN machine_verdict TEXT;
