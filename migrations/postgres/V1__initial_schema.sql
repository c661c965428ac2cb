-- The provenance_records table exactly as ai-stamp 0.1.0's migration 0001
-- creates it on PostgreSQL: same columns, types, constraints and index names,
-- so that either implementation reads what the other writes.
CREATE TABLE IF NOT EXISTS provenance_records (
    id SERIAL NOT NULL,
    content_id VARCHAR(36) NOT NULL,
    app_id VARCHAR(255) NOT NULL,
    feature_id VARCHAR(255) NOT NULL,
    user_id VARCHAR(255) NOT NULL,
    model VARCHAR(255) NOT NULL,
    prompt_hash VARCHAR(64) NOT NULL,
    response_hash VARCHAR(64),
    hmac_signature VARCHAR(128),
    prompt_tokens INTEGER,
    response_tokens INTEGER,
    latency_ms DOUBLE PRECISION,
    timestamp TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    status VARCHAR(20) NOT NULL,
    pii_result JSON,
    policy_decision JSON,
    PRIMARY KEY (id),
    UNIQUE (content_id)
);

CREATE INDEX IF NOT EXISTS ix_provenance_records_content_id ON provenance_records (content_id);
CREATE INDEX IF NOT EXISTS ix_provenance_records_app_id ON provenance_records (app_id);
CREATE INDEX IF NOT EXISTS ix_provenance_records_user_id ON provenance_records (user_id);
CREATE INDEX IF NOT EXISTS ix_provenance_records_model ON provenance_records (model);
CREATE INDEX IF NOT EXISTS ix_provenance_records_timestamp ON provenance_records (timestamp);
CREATE INDEX IF NOT EXISTS ix_provenance_records_status ON provenance_records (status);
