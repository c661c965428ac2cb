-- The schema of ai-stamp 0.1.0 (its Alembic revision 0001), column for column
-- and index for index, so that databases made by either program are the same.
CREATE TABLE provenance_records (
	id INTEGER NOT NULL,
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
	latency_ms FLOAT,
	timestamp DATETIME NOT NULL,
	status VARCHAR(20) NOT NULL,
	pii_result JSON,
	policy_decision JSON,
	PRIMARY KEY (id),
	UNIQUE (content_id)
);
CREATE INDEX ix_provenance_records_content_id ON provenance_records (content_id);
CREATE INDEX ix_provenance_records_app_id ON provenance_records (app_id);
CREATE INDEX ix_provenance_records_user_id ON provenance_records (user_id);
CREATE INDEX ix_provenance_records_model ON provenance_records (model);
CREATE INDEX ix_provenance_records_timestamp ON provenance_records (timestamp);
CREATE INDEX ix_provenance_records_status ON provenance_records (status);
