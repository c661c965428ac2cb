-- Indexes for the documented result order (timestamp, then id) and for the
-- filters the first schema does not index: feature, highest PII severity
-- and policy action.
--
-- The last two are fields inside the JSON columns. Reading one means
-- decompressing and parsing the whole JSON text, which PostgreSQL's planner
-- prices like a cheap operator, so with a plain `pii_result ->> '...'`
-- expression index it still prefers scanning the table and parsing every
-- row. Wrapping the field access in functions declared costly (and
-- immutable, so they can be indexed) lets the planner see that the index,
-- which holds the value already extracted, is the cheap way.
CREATE OR REPLACE FUNCTION aistamp_pii_severity(pii_result json) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE COST 1000
    AS $$ BEGIN RETURN pii_result ->> 'highest_severity'; END $$;

CREATE OR REPLACE FUNCTION aistamp_policy_action(policy_decision json) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE COST 1000
    AS $$ BEGIN RETURN policy_decision ->> 'action'; END $$;

CREATE INDEX IF NOT EXISTS ix_provenance_records_timestamp_id
    ON provenance_records (timestamp, id);
CREATE INDEX IF NOT EXISTS ix_provenance_records_feature_id
    ON provenance_records (feature_id, timestamp, id);
CREATE INDEX IF NOT EXISTS ix_provenance_records_pii_severity
    ON provenance_records (aistamp_pii_severity(pii_result), timestamp, id);
CREATE INDEX IF NOT EXISTS ix_provenance_records_policy_action
    ON provenance_records (aistamp_policy_action(policy_decision), timestamp, id);
