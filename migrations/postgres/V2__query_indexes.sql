-- Indexes for the documented result order (timestamp, then id) and for the
-- filters the first schema does not index: feature, highest PII severity
-- and policy action (the last two are fields inside the JSON columns).
CREATE INDEX IF NOT EXISTS ix_provenance_records_timestamp_id
    ON provenance_records (timestamp, id);
CREATE INDEX IF NOT EXISTS ix_provenance_records_feature_id
    ON provenance_records (feature_id, timestamp, id);
CREATE INDEX IF NOT EXISTS ix_provenance_records_pii_severity
    ON provenance_records ((pii_result ->> 'highest_severity'), timestamp, id);
CREATE INDEX IF NOT EXISTS ix_provenance_records_policy_action
    ON provenance_records ((policy_decision ->> 'action'), timestamp, id);
