-- Indexes that serve every report filter in the report's order (timestamp,
-- then id). An SQLite index always ends with the row id, so an index on
-- (column, timestamp) is read in exactly that order.
--
-- The JSON filters use the same expressions as the store's queries; the
-- json_valid guard keeps one malformed row from failing the whole index.
CREATE INDEX IF NOT EXISTS ix_provenance_records_app_id_timestamp
	ON provenance_records (app_id, timestamp);
CREATE INDEX IF NOT EXISTS ix_provenance_records_feature_id_timestamp
	ON provenance_records (feature_id, timestamp);
CREATE INDEX IF NOT EXISTS ix_provenance_records_user_id_timestamp
	ON provenance_records (user_id, timestamp);
CREATE INDEX IF NOT EXISTS ix_provenance_records_model_timestamp
	ON provenance_records (model, timestamp);
CREATE INDEX IF NOT EXISTS ix_provenance_records_status_timestamp
	ON provenance_records (status, timestamp);
CREATE INDEX IF NOT EXISTS ix_provenance_records_pii_severity_timestamp
	ON provenance_records (
		(CASE WHEN json_valid(pii_result) THEN json_extract(pii_result, '$.highest_severity') END),
		timestamp
	);
CREATE INDEX IF NOT EXISTS ix_provenance_records_policy_action_timestamp
	ON provenance_records (
		(CASE WHEN json_valid(policy_decision) THEN json_extract(policy_decision, '$.action') END),
		timestamp
	);
