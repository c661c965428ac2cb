//! Migrations on a real server: a new database, a second run, and the
//! adoption of databases made by ai-stamp 0.1.0 (`aistamp migrate` with
//! Alembic, or `create_tables`) without touching their rows.

use aistamp_core::{
    LatencyMs, PiiMatch, PiiResult, PolicyAction, PolicyDecision, Record, RecordQuery, RecordStore,
    Severity, SigningKey, Status, StoreError, Timestamp, sha256_hex, verify_stored,
};
use aistamp_store_pg::{Adoption, BlockingPgStore};

const SECRET: &str = "reference-secret-key-0123456789abcdef";

/// The DDL that Alembic emits on PostgreSQL for the reference's revision
/// 0001, and its version table.
const REFERENCE_MIGRATE_DDL: &str = "
CREATE TABLE alembic_version (
    version_num VARCHAR(32) NOT NULL,
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
CREATE TABLE provenance_records (
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
    latency_ms FLOAT,
    timestamp TIMESTAMP WITHOUT TIME ZONE NOT NULL,
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
INSERT INTO alembic_version (version_num) VALUES ('0001');
";

/// What SQLAlchemy's `create_all` emits for the reference's ORM model: a
/// unique index instead of a unique constraint, and no version table.
const REFERENCE_CREATE_TABLES_DDL: &str = "
CREATE TABLE provenance_records (
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
    latency_ms FLOAT,
    timestamp TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    status VARCHAR(20) NOT NULL,
    pii_result JSON,
    policy_decision JSON,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX ix_provenance_records_content_id ON provenance_records (content_id);
CREATE INDEX ix_provenance_records_app_id ON provenance_records (app_id);
CREATE INDEX ix_provenance_records_user_id ON provenance_records (user_id);
CREATE INDEX ix_provenance_records_model ON provenance_records (model);
CREATE INDEX ix_provenance_records_timestamp ON provenance_records (timestamp);
CREATE INDEX ix_provenance_records_status ON provenance_records (status);
";

/// A record as the reference stores it: JSON through `json.dumps` (spaces
/// after separators, the model's key order), `null` JSON text for an
/// absent decision, a naive UTC timestamp.
fn reference_record() -> Record {
    Record {
        content_id: "6f1c2a4e-0b7d-4c55-9a3e-2d8f1b7c9e10".into(),
        app_id: "support_bot".into(),
        feature_id: "answer".into(),
        user_id: "user_7".into(),
        model: "gpt-4o-mini".into(),
        prompt_hash: sha256_hex("What is my balance?"),
        response_hash: Some(sha256_hex("Your balance is 42.")),
        prompt_tokens: Some(12),
        response_tokens: Some(9),
        latency_ms: Some(LatencyMs::new(231.5).unwrap()),
        timestamp: Timestamp::parse("2025-03-14T15:09:26.535897+00:00").unwrap(),
        status: Status::Completed,
        pii_result: Some(PiiResult::from_matches(
            vec![PiiMatch {
                pattern_name: "EMAIL".into(),
                severity: Severity::Medium,
                start: 8,
                end: 25,
                redacted_snippet: "contact [REDACTED] today".into(),
            }],
            vec![],
        )),
        policy_decision: None,
    }
}

fn insert_reference_row(url: &str, signature: &str) {
    let sql = format!(
        "INSERT INTO provenance_records (content_id, app_id, feature_id, user_id, model, \
         prompt_hash, response_hash, hmac_signature, prompt_tokens, response_tokens, latency_ms, \
         timestamp, status, pii_result, policy_decision) VALUES (\
         '6f1c2a4e-0b7d-4c55-9a3e-2d8f1b7c9e10', 'support_bot', 'answer', 'user_7', 'gpt-4o-mini', \
         '{}', '{}', '{signature}', 12, 9, 231.5, '2025-03-14 15:09:26.535897', 'COMPLETED', \
         '{{\"prompt_matches\": [{{\"pattern_name\": \"EMAIL\", \"severity\": \"MEDIUM\", \
         \"start\": 8, \"end\": 25, \"redacted_snippet\": \"contact [REDACTED] today\"}}], \
         \"response_matches\": [], \"highest_severity\": \"MEDIUM\", \"match_count\": 1}}', \
         'null')",
        sha256_hex("What is my balance?"),
        sha256_hex("Your balance is 42."),
    );
    run_sql(url, &sql);
}

fn dump(url: &str) -> Vec<String> {
    query_strings(url, "SELECT t::text FROM provenance_records t ORDER BY id")
}

fn index_names(url: &str) -> Vec<String> {
    query_strings(
        url,
        "SELECT indexname::text FROM pg_indexes WHERE tablename = 'provenance_records' \
         ORDER BY indexname",
    )
}

#[test]
fn a_new_database_gets_every_migration_once() {
    let url = aistamp_testkit::fresh_database();
    let store = BlockingPgStore::connect(&url).unwrap();
    let report = store.migrate().unwrap();
    assert_eq!(
        report.applied,
        ["V1__initial_schema", "V2__query_indexes", "V3__timestamp_forms_index"]
    );
    assert_eq!(report.version, 3);
    assert_eq!(report.adopted, None);

    let again = store.migrate().unwrap();
    assert!(again.applied.is_empty());
    assert_eq!(again.version, 3);

    assert_eq!(
        index_names(&url),
        [
            "ix_provenance_records_app_id",
            "ix_provenance_records_content_id",
            "ix_provenance_records_feature_id",
            "ix_provenance_records_model",
            "ix_provenance_records_pii_severity",
            "ix_provenance_records_policy_action",
            "ix_provenance_records_status",
            "ix_provenance_records_timestamp",
            "ix_provenance_records_timestamp_id",
            "ix_provenance_records_user_id",
            "provenance_records_content_id_key",
            "provenance_records_pkey",
        ]
    );
    let columns = query_strings(
        &url,
        "SELECT column_name || ' ' || data_type || coalesce('(' || character_maximum_length || ')', '') \
         || ' ' || is_nullable FROM information_schema.columns \
         WHERE table_name = 'provenance_records' ORDER BY ordinal_position",
    );
    assert_eq!(
        columns,
        [
            "id integer NO",
            "content_id character varying(36) NO",
            "app_id character varying(255) NO",
            "feature_id character varying(255) NO",
            "user_id character varying(255) NO",
            "model character varying(255) NO",
            "prompt_hash character varying(64) NO",
            "response_hash character varying(64) YES",
            "hmac_signature character varying(128) YES",
            "prompt_tokens integer YES",
            "response_tokens integer YES",
            "latency_ms double precision YES",
            "timestamp timestamp without time zone NO",
            "status character varying(20) NO",
            "pii_result json YES",
            "policy_decision json YES",
        ]
    );
}

#[test]
fn concurrent_migrations_wait_for_each_other() {
    let url = aistamp_testkit::fresh_database();
    let reports: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let url = url.clone();
                scope.spawn(move || BlockingPgStore::connect(&url).unwrap().migrate().unwrap())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let applied: usize = reports.iter().map(|r| r.applied.len()).sum();
    assert_eq!(applied, 3);
    assert!(reports.iter().all(|r| r.version == 3));
}

#[test]
fn a_database_made_by_the_reference_migrate_is_adopted_untouched() {
    let url = aistamp_testkit::fresh_database();
    run_sql(&url, REFERENCE_MIGRATE_DDL);
    let key = SigningKey::new(SECRET).unwrap();
    let record = reference_record();
    insert_reference_row(&url, &key.sign(&record).to_hex());
    let before = dump(&url);

    let store = BlockingPgStore::connect(&url).unwrap();
    let report = store.migrate().unwrap();
    assert_eq!(report.adopted, Some(Adoption::Alembic));
    assert_eq!(report.applied, ["V2__query_indexes", "V3__timestamp_forms_index"]);
    assert_eq!(report.version, 3);
    assert_eq!(dump(&url), before);
    assert_eq!(query_strings(&url, "SELECT version_num::text FROM alembic_version"), ["0001"]);

    let stored = store.get(&record.content_id).unwrap().unwrap();
    assert_eq!(stored.record, record);
    let result = verify_stored(&stored, "Your balance is 42.", &key);
    assert!(result.verified, "{result:?}");
    let page = store
        .query(&RecordQuery { pii_severity: Some(Severity::Medium), ..RecordQuery::default() })
        .unwrap();
    assert_eq!(page.total_count, 1);
    let page = store
        .query(&RecordQuery { policy_action: Some(PolicyAction::Allow), ..RecordQuery::default() })
        .unwrap();
    assert_eq!(page.total_count, 0);

    // New records go in beside the old one, and a second run does nothing.
    let mut new = reference_record();
    new.content_id = "00000000-0000-4000-8000-00000000000a".into();
    new.policy_decision =
        Some(PolicyDecision { action: PolicyAction::Allow, rule_name: None, reason: None });
    store.write(aistamp_core::SignedRecord { signature: key.sign(&new), record: new }).unwrap();
    assert_eq!(store.query(&RecordQuery::default()).unwrap().total_count, 2);
    assert!(store.migrate().unwrap().applied.is_empty());
}

#[test]
fn an_unmigrated_reference_database_reads_and_says_what_is_missing() {
    let url = aistamp_testkit::fresh_database();
    run_sql(&url, REFERENCE_MIGRATE_DDL);
    let key = SigningKey::new(SECRET).unwrap();
    let record = reference_record();
    insert_reference_row(&url, &key.sign(&record).to_hex());

    let store = BlockingPgStore::connect(&url).unwrap();
    assert_eq!(store.get(&record.content_id).unwrap().unwrap().record, record);
    assert_eq!(store.query(&RecordQuery::default()).unwrap().total_count, 1);
    // The JSON filters need migration V2's functions.
    let err = store
        .query(&RecordQuery { pii_severity: Some(Severity::Medium), ..RecordQuery::default() })
        .unwrap_err();
    assert!(matches!(err, StoreError::SchemaMissing { .. }), "{err:?}");
    assert!(err.to_string().contains("run `aistamp migrate`"), "{err}");
    store.migrate().unwrap();
    let page = store
        .query(&RecordQuery { pii_severity: Some(Severity::Medium), ..RecordQuery::default() })
        .unwrap();
    assert_eq!(page.total_count, 1);
}

#[test]
fn a_table_made_by_create_tables_is_adopted_too() {
    let url = aistamp_testkit::fresh_database();
    run_sql(&url, REFERENCE_CREATE_TABLES_DDL);
    let key = SigningKey::new(SECRET).unwrap();
    insert_reference_row(&url, &key.sign(&reference_record()).to_hex());
    let before = dump(&url);

    let store = BlockingPgStore::connect(&url).unwrap();
    let report = store.migrate().unwrap();
    assert_eq!(report.adopted, Some(Adoption::UnversionedTable));
    assert_eq!(report.applied, ["V2__query_indexes", "V3__timestamp_forms_index"]);
    assert_eq!(dump(&url), before);

    // A duplicate is still refused through the unique index.
    let record = reference_record();
    let err = store
        .write(aistamp_core::SignedRecord { signature: key.sign(&record), record })
        .unwrap_err();
    assert!(matches!(err, StoreError::DuplicateContentId { .. }), "{err:?}");
}

#[test]
fn our_create_tables_is_adopted_by_a_later_migrate() {
    let url = aistamp_testkit::fresh_database();
    let store = BlockingPgStore::connect(&url).unwrap();
    store.create_tables().unwrap();
    store.create_tables().unwrap();
    let report = store.migrate().unwrap();
    assert_eq!(report.adopted, Some(Adoption::UnversionedTable));
    assert_eq!(report.version, 3);
}

#[test]
fn a_foreign_table_or_revision_is_refused_and_left_alone() {
    let url = aistamp_testkit::fresh_database();
    run_sql(&url, "CREATE TABLE provenance_records (id SERIAL PRIMARY KEY, note TEXT)");
    let store = BlockingPgStore::connect(&url).unwrap();
    let err = store.migrate().unwrap_err().to_string();
    assert!(err.contains("column content_id is missing"), "{err}");
    assert!(
        query_strings(&url, "SELECT to_regclass('refinery_schema_history')::text IS NULL")
            == ["true"]
    );

    let url = aistamp_testkit::fresh_database();
    run_sql(&url, REFERENCE_MIGRATE_DDL);
    run_sql(&url, "UPDATE alembic_version SET version_num = '0002'");
    let err = BlockingPgStore::connect(&url).unwrap().migrate().unwrap_err().to_string();
    assert!(err.contains("expected revision 0001"), "{err}");
}

fn run_sql(url: &str, sql: &str) {
    with_client(url, async |client| client.batch_execute(sql).await.unwrap());
}

fn query_strings(url: &str, sql: &str) -> Vec<String> {
    with_client(url, async |client| {
        let rows = client.query(sql, &[]).await.unwrap();
        rows.iter()
            .map(|row| match row.try_get::<_, String>(0) {
                Ok(text) => text,
                Err(_) => row.get::<_, bool>(0).to_string(),
            })
            .collect()
    })
}

fn with_client<T>(url: &str, work: impl AsyncFnOnce(&tokio_postgres::Client) -> T) -> T {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let (client, connection) =
            tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
        let driver = tokio::spawn(connection);
        let result = work(&client).await;
        drop(client);
        driver.await.unwrap().unwrap();
        result
    })
}

#[test]
fn a_history_row_edited_by_hand_fails_the_migration_with_its_value() {
    let url = aistamp_testkit::fresh_database();
    let store = BlockingPgStore::connect(&url).unwrap();
    store.migrate().unwrap();
    let cases = [
        ("applied_on = 'last tuesday'", "version 1 has applied_on 'last tuesday'"),
        ("checksum = 'not-a-number'", "version 1 has checksum 'not-a-number'"),
    ];
    for (edit, expected) in cases {
        run_sql(&url, &format!("UPDATE refinery_schema_history SET {edit} WHERE version = 1"));
        let err = store.migrate().unwrap_err().to_string();
        assert!(err.contains(expected), "{edit}: {err}");
        assert!(err.contains("edited by hand"), "{err}");
        // Valid again for the next case (refinery itself never reads it).
        run_sql(
            &url,
            "UPDATE refinery_schema_history SET applied_on = '2026-01-31T12:00:00Z', \
             checksum = '0' WHERE version = 1",
        );
    }
}
