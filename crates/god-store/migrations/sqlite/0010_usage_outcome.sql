-- How each run ended (`god_core::ending::RunOutcome`: ok, failed, killed, node_failure,
-- limit_reached), written with its usage record in the transaction that ends the run. Runs
-- recorded before: unknown.
ALTER TABLE usage ADD COLUMN outcome TEXT NOT NULL DEFAULT 'unknown';
