//! Migrations on real files: a new database gets exactly the reference's
//! schema plus the query indexes; running again changes nothing.

mod common;

use aistamp_core::{RecordQuery, RecordStore};
use aistamp_store_sqlite::{Adoption, SqliteStore, migrate};
use common::{full_record, signed};

/// The SQL of every table and index named like the reference's, whitespace
/// collapsed.
fn schema(path: &std::path::Path, names: &[String]) -> Vec<(String, String)> {
    let conn = rusqlite::Connection::open(path).unwrap();
    names
        .iter()
        .map(|name| {
            let sql: String = conn
                .query_row("SELECT sql FROM sqlite_master WHERE name = ?1", [name], |r| r.get(0))
                .unwrap_or_else(|_| panic!("{name} missing"));
            let words: Vec<&str> = sql.split_whitespace().collect();
            (name.clone(), words.join(" ").replace(" ,", ","))
        })
        .collect()
}

fn reference_names() -> Vec<String> {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/reference-sqlite/reference.db");
    let conn =
        rusqlite::Connection::open_with_flags(fixture, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut statement = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE sql IS NOT NULL AND name LIKE '%provenance%'",
        )
        .unwrap();
    statement.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

#[test]
fn a_new_database_gets_the_reference_schema_exactly_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    let url = format!("sqlite:///{}", path.display());

    let report = migrate(&url).unwrap();
    assert_eq!(report.adopted, None);
    let applied: Vec<(u32, &str)> =
        report.applied.iter().map(|m| (m.version, m.name.as_str())).collect();
    assert_eq!(
        applied,
        [(1, "initial_schema"), (2, "query_indexes"), (3, "timestamp_forms_index")]
    );
    assert_eq!(report.to_string().lines().last(), Some("database schema upgraded to version 3"));

    let names = reference_names();
    assert_eq!(names.len(), 7, "{names:?}");
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/reference-sqlite/reference.db");
    let copy = dir.path().join("reference-copy.db");
    std::fs::copy(fixture, &copy).unwrap();
    assert_eq!(schema(&path, &names), schema(&copy, &names));

    let again = migrate(&url).unwrap();
    assert!(again.applied.is_empty() && again.adopted.is_none());
    assert_eq!(again.version, 3);
    assert_eq!(again.to_string(), "database schema is up to date at version 3");
}

#[test]
fn new_files_have_pages_of_2048_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let opened = dir.path().join("opened.db");
    let migrated = dir.path().join("migrated.db");
    drop(SqliteStore::open_path(&opened).unwrap());
    migrate(&format!("sqlite:///{}", migrated.display())).unwrap();
    for path in [opened, migrated] {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let size: i64 = conn.query_row("PRAGMA page_size", [], |row| row.get(0)).unwrap();
        assert_eq!(size, 2048, "{}", path.display());
    }
}

#[test]
fn opening_a_new_file_migrates_it_and_migrate_then_has_nothing_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_path(dir.path().join("fresh.db")).unwrap();
    RecordStore::write(&store, signed(full_record("one", 0))).unwrap();
    let report = store.migrate().unwrap();
    assert!(report.applied.is_empty());
    assert_eq!(report.version, 3);
}

#[test]
fn create_tables_then_migrate_adopts_without_touching_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dev.db");
    // A file whose table came from create_tables alone, without history.
    let store = SqliteStore::open_path(&path).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("DROP TABLE provenance_records; DROP TABLE refinery_schema_history")
        .unwrap();
    store.create_tables().unwrap();
    store.create_tables().unwrap();
    RecordStore::write(&store, signed(full_record("kept", 0))).unwrap();

    let report = store.migrate().unwrap();
    assert_eq!(report.adopted, Some(Adoption::CreateTables));
    assert_eq!(report.applied.len(), 2, "V2 and V3 run again, idempotently");
    let page = store.query(&RecordQuery::default()).unwrap();
    assert_eq!(page.records[0].record, full_record("kept", 0));
}

#[test]
fn a_history_row_edited_by_hand_fails_the_migration_with_its_value() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("edited.db");
    let url = format!("sqlite:///{}", path.display());
    migrate(&url).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let cases = [
        ("applied_on = 'last tuesday'", "version 1 has applied_on 'last tuesday'"),
        ("checksum = 'not-a-number'", "version 1 has checksum 'not-a-number'"),
        ("version = 'one'", "has version 'one': expected an integer"),
    ];
    for (edit, expected) in cases {
        conn.execute_batch(&format!("UPDATE refinery_schema_history SET {edit} WHERE version = 1"))
            .unwrap();

        let err = migrate(&url).unwrap_err().to_string();
        assert!(err.contains(expected), "{edit}: {err}");
        assert!(err.contains("edited by hand"), "{err}");

        // Valid again for the next case (refinery itself never reads it).
        let restore = "UPDATE refinery_schema_history SET version = 1, \
             applied_on = '2026-01-31T12:00:00Z', checksum = '0' WHERE version IN (1, 'one')";
        conn.execute_batch(restore).unwrap();
    }
}
