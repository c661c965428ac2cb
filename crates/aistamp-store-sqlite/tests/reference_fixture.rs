//! Rows written by ai-stamp 0.1.0 itself (tests/fixtures/reference-sqlite)
//! read back and verify exactly as the reference verified them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use aistamp_core::{
    PolicyAction, RecordQuery, RecordStore, Severity, SigningKey, Status, StoreError, Timestamp,
    VerificationResult, VerifyError, verify_record,
};
use aistamp_store_sqlite::{Adoption, SqliteStore};
use serde_json::Value;

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/reference-sqlite")
}

fn expected() -> Value {
    let text = std::fs::read_to_string(fixture_dir().join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A copy of a fixture database, since opening a store switches it to WAL.
fn copy_of(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::copy(fixture_dir().join(name), &path).unwrap();
    (dir, path)
}

/// Rows we read differently on purpose: the reference ignores a JSON key it
/// does not know, so a key added after signing goes unnoticed; we refuse
/// to read such a row.
const DELIBERATELY_STRICTER: &[&str] = &["unknown_json_key"];

fn check_verifications(store: &SqliteStore) {
    let expected = expected();
    let key = SigningKey::new(expected["secret_key"].as_str().unwrap()).unwrap();
    let cases = expected["verifications"].as_array().unwrap();
    assert!(cases.len() >= 20);
    for case in cases {
        let label = case["label"].as_str().unwrap();
        let content_id = case["content_id"].as_str().unwrap();
        let text = case["text"].as_str().unwrap();
        let ours = verify_record(content_id, text, store, &key);
        if DELIBERATELY_STRICTER.contains(&label) {
            assert!(
                matches!(ours, Err(VerifyError::Store(StoreError::InvalidRow { .. }))),
                "{label}: {ours:?}"
            );
            continue;
        }
        match (&case["result"], case["error"].as_str()) {
            (Value::Object(_), _) => {
                let theirs: VerificationResult =
                    serde_json::from_value(case["result"].clone()).unwrap();
                assert_eq!(ours.unwrap(), theirs, "{label}");
            }
            (_, Some("not_found")) => {
                assert!(matches!(ours, Err(VerifyError::NotFound { .. })), "{label}: {ours:?}");
            }
            (_, Some("unreadable")) => assert!(
                matches!(ours, Err(VerifyError::Store(StoreError::InvalidRow { .. }))),
                "{label}: {ours:?}"
            ),
            other => panic!("{label}: unexpected expectation {other:?}"),
        }
    }
}

fn query_for(name: &str) -> RecordQuery {
    let at = |text: &str| Some(Timestamp::parse(text).unwrap());
    let query = match name {
        "all" => RecordQuery::default(),
        "pii_high" => RecordQuery { pii_severity: Some(Severity::High), ..Default::default() },
        "pii_medium" => RecordQuery { pii_severity: Some(Severity::Medium), ..Default::default() },
        "policy_warn" => {
            RecordQuery { policy_action: Some(PolicyAction::Warn), ..Default::default() }
        }
        "policy_block" => {
            RecordQuery { policy_action: Some(PolicyAction::Block), ..Default::default() }
        }
        "status_error" => RecordQuery { status: Some(Status::Error), ..Default::default() },
        "user_unicode" => {
            RecordQuery { user_id: Some("ユーザー😀".into()), ..Default::default() }
        }
        "model_gpt4o" => RecordQuery { model: Some("gpt-4o".into()), ..Default::default() },
        "from_2025_02" => RecordQuery { from: at("2025-02-01"), ..Default::default() },
        "to_2025_02" => RecordQuery { to: at("2025-02-01"), ..Default::default() },
        other => panic!("no query named {other}"),
    };
    RecordQuery { limit: Some(1000), ..query }
}

fn check_queries(store: &SqliteStore) {
    let expected = expected();
    for case in expected["queries"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let ours = store.query(&query_for(name));
        if case.get("error").is_some() {
            // The reference fails when a match is a row it cannot read.
            assert!(matches!(ours, Err(StoreError::InvalidRow { .. })), "{name}: {ours:?}");
            continue;
        }
        let theirs: BTreeSet<&str> =
            case["content_ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        let stricter = DELIBERATELY_STRICTER.iter().map(|label| format!("tampered-{label}"));
        if let Some(refused) = stricter.into_iter().find(|id| theirs.contains(id.as_str())) {
            assert!(
                matches!(&ours, Err(StoreError::InvalidRow { content_id, .. }) if *content_id == refused),
                "{name}: {ours:?}"
            );
            continue;
        }
        let page = ours.unwrap();
        let got: BTreeSet<&str> =
            page.records.iter().map(|r| r.record.content_id.as_str()).collect();
        assert_eq!(got, theirs, "{name}");
        assert_eq!(page.total_count, case["total_count"].as_u64().unwrap(), "{name}");
    }
}

/// Every row, every column, as SQLite holds it.
fn dump(path: &Path) -> Vec<Vec<String>> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut statement = conn.prepare("SELECT * FROM provenance_records ORDER BY id").unwrap();
    let columns = statement.column_count();
    statement
        .query_map([], |row| {
            Ok((0..columns).map(|i| format!("{:?}", row.get_ref(i).unwrap())).collect())
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn reference_rows_verify_exactly_as_the_reference_verified_them() {
    let (_dir, path) = copy_of("reference.db");
    let store = SqliteStore::open_path(&path).unwrap();
    check_verifications(&store);
    check_queries(&store);
}

#[test]
fn adopting_the_reference_database_touches_no_row() {
    let (_dir, path) = copy_of("reference.db");
    let before = dump(&path);
    let store = SqliteStore::open_path(&path).unwrap();
    let report = store.migrate().unwrap();
    assert_eq!(report.adopted, Some(Adoption::Alembic { revision: "0001".into() }));
    assert_eq!(report.applied.iter().map(|m| m.version).collect::<Vec<_>>(), [2, 3]);
    assert_eq!(report.version, 3);
    assert_eq!(dump(&path), before);
    check_verifications(&store);
    check_queries(&store);

    let again = store.migrate().unwrap();
    assert_eq!((again.adopted, again.applied.len(), again.version), (None, 0, 3));
    assert_eq!(page_size(&path), 4096, "an existing file keeps its page size");
}

fn page_size(path: &Path) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("PRAGMA page_size", [], |row| row.get(0)).unwrap()
}

#[test]
fn a_database_made_by_create_tables_is_adopted_too() {
    let (_dir, path) = copy_of("create-tables.db");
    let before = dump(&path);
    let report = aistamp_store_sqlite::migrate(&format!("sqlite:///{}", path.display())).unwrap();
    assert_eq!(report.adopted, Some(Adoption::CreateTables));
    assert_eq!(dump(&path), before);
    let store = SqliteStore::open_path(&path).unwrap();
    let expected = expected();
    let key = SigningKey::new(expected["secret_key"].as_str().unwrap()).unwrap();
    let result =
        verify_record("direct-numbers-0001", "Exact numbers, written directly.", &store, &key);
    assert!(result.unwrap().verified);
    assert_eq!(before.len(), 1);
}
