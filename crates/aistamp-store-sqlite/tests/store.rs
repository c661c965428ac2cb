//! The store on real SQLite files: round trips, every filter and the order,
//! duplicates, concurrent writers, async use and unreadable rows.

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use aistamp_core::{
    PolicyAction, PolicyDecision, RecordQuery, RecordStore, Severity, Status, StoreError,
    Timestamp, new_content_id, verify_stored,
};
use aistamp_store_sqlite::{SqliteLocation, SqliteStore};
use common::{full_record, key, signed};

fn temp_store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_path(dir.path().join("records.db")).unwrap();
    (dir, store)
}

/// Time filters judge every stored form of a timestamp by its time: rows
/// written by hand with a `T`, without a fraction, with `Z` or an offset
/// (which may move the date a day) fall inside a bound exactly when their
/// time does, on the bound's date and the days around it.
#[test]
fn time_filters_are_exact_for_every_stored_form() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("forms.db");
    let store = SqliteStore::open_path(&path).unwrap();
    let forms = [
        "2025-03-14 10:00:00.000000",
        "2025-03-14 10:00:00",
        "2025-03-14T10:00:00",
        "2025-03-14T10:00:00.000001",
        "2025-03-14T09:59:59.999999+00:00",
        "2025-03-14T10:00:00Z",
        "2025-03-14T12:00:00+02:00",
        "2025-03-14T12:00:00.5+02:00",
        "2025-03-15T01:00:00+03:00",
        "2025-03-13T23:30:00-10:30",
        "2025-03-14 09:00:00.000000",
        "2025-03-14 11:00:00.000000",
        "2025-03-13T10:00:00",
        "2025-03-16T10:00:00",
        "2025-03-12 10:00:00.000000",
        "2025-03-17 10:00:00.000000",
    ];
    for (i, _) in forms.iter().enumerate() {
        RecordStore::write(&store, signed(full_record(&format!("t{i:02}"), 0))).unwrap();
    }
    let conn = rusqlite::Connection::open(&path).unwrap();
    for (i, form) in forms.iter().enumerate() {
        let id = format!("t{i:02}");
        let sql = "UPDATE provenance_records SET timestamp = ?1 WHERE content_id = ?2";
        assert_eq!(conn.execute(sql, rusqlite::params![form, id]).unwrap(), 1);
    }
    let times: Vec<Timestamp> = forms.iter().map(|f| Timestamp::parse(f).unwrap()).collect();
    let bounds = [
        "2025-03-14 10:00:00",
        "2025-03-14 10:00:00.000001",
        "2025-03-14 09:59:59.999999",
        "2025-03-14 10:00:00.5",
        "2025-03-14 00:00:00",
        "2025-03-15 00:00:00",
        "2025-03-13 10:00:00",
    ];
    for bound in bounds.map(|b| Timestamp::parse(b).unwrap()) {
        for (from, to) in [(Some(bound), None), (None, Some(bound))] {
            let mut expected: Vec<String> = (0..forms.len())
                .filter(|&i| from.is_none_or(|f| times[i] >= f) && to.is_none_or(|t| times[i] <= t))
                .map(|i| format!("t{i:02}"))
                .collect();
            expected.sort();
            let query = RecordQuery { from, to, ..Default::default() };
            let page = store.query(&query).unwrap();
            let mut got: Vec<String> =
                page.records.iter().map(|r| r.record.content_id.clone()).collect();
            got.sort();
            assert_eq!(got, expected, "from {from:?} to {to:?}");
            assert_eq!(page.total_count, expected.len() as u64, "from {from:?} to {to:?}");
            assert!(!expected.is_empty() && expected.len() < forms.len(), "a weak bound");
            let mut streamed = Vec::new();
            store.for_each(&query, &mut |r| streamed.push(r.unwrap().record.content_id)).unwrap();
            streamed.sort();
            assert_eq!(streamed, expected, "streamed, from {from:?} to {to:?}");
        }
    }
}

#[test]
fn records_round_trip_exactly_and_verify() {
    let (_dir, store) = temp_store();
    let mut bare = full_record("bare", 1);
    bare.response_hash = None;
    bare.prompt_tokens = None;
    bare.response_tokens = None;
    bare.latency_ms = None;
    bare.pii_result = None;
    bare.policy_decision = None;
    bare.status = Status::Error;
    let mut unicode = full_record("ユーザー-😀-id", 2);
    unicode.app_id = "приложение".into();
    unicode.user_id = "ユーザー😀".into();
    for record in [full_record("full", 0), bare, unicode] {
        let signature = key().sign(&record);
        RecordStore::write(&store, signed(record.clone())).unwrap();
        let stored = store.get(&record.content_id).unwrap().unwrap();
        assert_eq!(stored.record, record);
        assert_eq!(stored.signature, Some(signature.to_hex()));
        assert!(verify_stored(&stored, "response", &key()).hmac_valid);
    }
    assert_eq!(store.get("missing").unwrap(), None);
}

#[test]
fn the_url_forms_open_stores() {
    let memory = SqliteStore::open("sqlite:///:memory:").unwrap();
    RecordStore::write(&memory, signed(full_record("m", 0))).unwrap();
    assert_eq!(memory.query(&RecordQuery::default()).unwrap().total_count, 1);
    assert_eq!(memory.location(), &SqliteLocation::Memory);

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:///{}", dir.path().join("url.db").display());
    let store = SqliteStore::open(&url).unwrap();
    RecordStore::write(&store, signed(full_record("u", 0))).unwrap();
    drop(store);
    let again = SqliteStore::open(&url).unwrap();
    assert!(again.get("u").unwrap().is_some());

    let err = SqliteStore::open("mysql://x/y").unwrap_err();
    assert!(matches!(err, StoreError::InvalidUrl { .. }), "{err}");
    let err = SqliteStore::open_path(dir.path().join("no/such/dir/x.db")).unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err}");
    assert!(err.to_string().contains("no/such/dir/x.db"), "{err}");
}

/// Records with known fields, written out of time order, some sharing a
/// timestamp so that the row id decides.
fn filter_fixture(store: &SqliteStore) -> Vec<aistamp_core::Record> {
    let mut written = Vec::new();
    for i in 0..60i64 {
        let mut record = full_record(&format!("r{i:02}"), ((i * 37) % 20) * 1_000_000);
        record.user_id = format!("user{}", i % 3);
        record.app_id = format!("app{}", i % 2);
        record.feature_id = format!("feature{}", i % 4);
        record.model = if i % 5 == 0 { "claude".into() } else { "gpt-4o".into() };
        record.status = [Status::Completed, Status::Blocked, Status::Error][(i % 3) as usize];
        match i % 4 {
            0 => record.pii_result = None,
            1 => {}
            2 => record.pii_result.as_mut().unwrap().highest_severity = Some(Severity::High),
            _ => record.pii_result.as_mut().unwrap().highest_severity = None,
        }
        record.policy_decision = match i % 5 {
            0 => None,
            n => Some(PolicyDecision {
                action: [PolicyAction::Allow, PolicyAction::Warn, PolicyAction::Block]
                    [n as usize % 3],
                rule_name: None,
                reason: None,
            }),
        };
        RecordStore::write(store, signed(record.clone())).unwrap();
        written.push(record);
    }
    written
}

#[test]
fn every_filter_matches_exactly_in_timestamp_then_id_order() {
    let (_dir, store) = temp_store();
    let written = filter_fixture(&store);
    let at =
        |s: i64| Timestamp::parse("2025-01-01 00:00:00").unwrap().checked_add_micros(s * 1_000_000);
    let queries = [
        RecordQuery::default(),
        RecordQuery { content_id: Some("r07".into()), ..Default::default() },
        RecordQuery { user_id: Some("user1".into()), ..Default::default() },
        RecordQuery { app_id: Some("app0".into()), ..Default::default() },
        RecordQuery { feature_id: Some("feature3".into()), ..Default::default() },
        RecordQuery { model: Some("claude".into()), ..Default::default() },
        RecordQuery { status: Some(Status::Blocked), ..Default::default() },
        RecordQuery { pii_severity: Some(Severity::High), ..Default::default() },
        RecordQuery { pii_severity: Some(Severity::Medium), ..Default::default() },
        RecordQuery { policy_action: Some(PolicyAction::Block), ..Default::default() },
        RecordQuery { from: at(5), ..Default::default() },
        RecordQuery { to: at(5), ..Default::default() },
        RecordQuery { from: at(3), to: at(9), user_id: Some("user2".into()), ..Default::default() },
        RecordQuery {
            status: Some(Status::Completed),
            policy_action: Some(PolicyAction::Warn),
            ..Default::default()
        },
    ];
    for query in queries {
        // The expected answer, computed in memory: insertion order is id order.
        let mut expected: Vec<(Timestamp, usize)> = written
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                query.content_id.as_ref().is_none_or(|v| &r.content_id == v)
                    && query.user_id.as_ref().is_none_or(|v| &r.user_id == v)
                    && query.app_id.as_ref().is_none_or(|v| &r.app_id == v)
                    && query.feature_id.as_ref().is_none_or(|v| &r.feature_id == v)
                    && query.model.as_ref().is_none_or(|v| &r.model == v)
                    && query.status.is_none_or(|v| r.status == v)
                    && query.pii_severity.is_none_or(|v| {
                        r.pii_result.as_ref().and_then(|p| p.highest_severity) == Some(v)
                    })
                    && query
                        .policy_action
                        .is_none_or(|v| r.policy_decision.as_ref().map(|p| p.action) == Some(v))
                    && query.from.is_none_or(|v| r.timestamp >= v)
                    && query.to.is_none_or(|v| r.timestamp <= v)
            })
            .map(|(i, r)| (r.timestamp, i))
            .collect();
        expected.sort();
        let expected: Vec<String> =
            expected.iter().map(|(_, i)| written[*i].content_id.clone()).collect();
        assert!(!expected.is_empty(), "{query:?} matches nothing: a weak test");

        let page = store.query(&query).unwrap();
        let got: Vec<String> = page.records.iter().map(|r| r.record.content_id.clone()).collect();
        assert_eq!(got, expected, "{query:?}");
        assert_eq!(page.total_count, expected.len() as u64);

        let paged = RecordQuery { limit: Some(2), offset: 1, ..query.clone() };
        let page = store.query(&paged).unwrap();
        let got: Vec<String> = page.records.iter().map(|r| r.record.content_id.clone()).collect();
        let window: Vec<String> = expected.iter().skip(1).take(2).cloned().collect();
        assert_eq!(got, window, "{paged:?}");
        assert_eq!(page.total_count, expected.len() as u64, "total counts all matches");

        let mut streamed = Vec::new();
        let visited =
            store.for_each(&query, &mut |r| streamed.push(r.unwrap().record.content_id)).unwrap();
        assert_eq!(streamed, expected);
        assert_eq!(visited, expected.len() as u64);
    }
}

#[test]
fn a_duplicate_content_id_fails_only_its_own_write() {
    let (_dir, store) = temp_store();
    RecordStore::write(&store, signed(full_record("dup", 0))).unwrap();
    let err = RecordStore::write(&store, signed(full_record("dup", 5))).unwrap_err();
    assert!(matches!(&err, StoreError::DuplicateContentId { content_id } if content_id == "dup"));
    assert_eq!(err.to_string(), "a record with content id 'dup' already exists");

    // Many threads at once, half of them racing for one id: exactly one of
    // those wins and every other record lands, whatever batches they share.
    let store = Arc::new(store);
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                let id = if t % 2 == 0 { "contested".to_string() } else { format!("free-{t}") };
                RecordStore::write(&*store, signed(full_record(&id, t)))
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let won = results.iter().step_by(2).filter(|r| r.is_ok()).count();
    assert_eq!(won, 1);
    assert!(results.iter().skip(1).step_by(2).all(Result::is_ok));
    assert_eq!(store.query(&RecordQuery::default()).unwrap().total_count, 1 + 1 + 8);
}

#[test]
fn concurrent_threads_lose_and_duplicate_nothing() {
    let (_dir, store) = temp_store();
    let store = Arc::new(store);
    let per_thread = 150;
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                (0..per_thread)
                    .map(|i| {
                        let id = new_content_id();
                        RecordStore::write(&*store, signed(full_record(&id, i))).unwrap();
                        id
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let acknowledged: HashSet<String> =
        threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    assert_eq!(acknowledged.len(), 16 * per_thread as usize);
    let mut stored = HashSet::new();
    store
        .for_each(&RecordQuery::default(), &mut |r| {
            assert!(stored.insert(r.unwrap().record.content_id))
        })
        .unwrap();
    assert_eq!(stored, acknowledged);
}

#[test]
fn the_async_side_writes_and_reads_without_blocking_the_runtime() {
    use aistamp_core::AsyncRecordStore;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    runtime.block_on(async {
        let (_dir, store) = temp_store();
        let store = Arc::new(store);
        let tasks: Vec<_> = (0..64)
            .map(|i| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    let record = full_record(&format!("async-{i}"), i);
                    AsyncRecordStore::write(&*store, signed(record)).await
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let page = AsyncRecordStore::query(
            &*store,
            &RecordQuery { limit: Some(10), ..Default::default() },
        )
        .await
        .unwrap();
        assert_eq!((page.records.len(), page.total_count), (10, 64));
        let got = AsyncRecordStore::get(&*store, "async-5").await.unwrap().unwrap();
        assert_eq!(got.record, full_record("async-5", 5));
        let err = AsyncRecordStore::write(&*store, signed(full_record("async-5", 0))).await;
        assert!(matches!(err, Err(StoreError::DuplicateContentId { .. })));
    });
}

#[test]
fn unreadable_rows_are_errors_naming_id_and_column_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.db");
    let store = SqliteStore::open_path(&path).unwrap();
    RecordStore::write(&store, signed(full_record("good", 0))).unwrap();
    let raw = rusqlite::Connection::open(&path).unwrap();
    let insert = |id: &str, column: &str, value: &dyn rusqlite::ToSql| {
        raw.execute(
            "INSERT INTO provenance_records (content_id, app_id, feature_id, user_id, model, \
             prompt_hash, timestamp, status) VALUES (?1, 'a', 'f', 'u', 'm', 'h', \
             '2025-01-01 00:00:01.000000', 'COMPLETED')",
            [id],
        )
        .unwrap();
        raw.execute(
            &format!("UPDATE provenance_records SET {column} = ?1 WHERE content_id = ?2"),
            rusqlite::params![value, id],
        )
        .unwrap();
    };
    let cases: [(&str, &str, &dyn rusqlite::ToSql); 7] = [
        ("bad-status", "status", &"completed"),
        ("bad-time", "timestamp", &"yesterday"),
        ("bad-json", "pii_result", &"{not json"),
        (
            "extra-key",
            "policy_decision",
            &r#"{"action":"ALLOW","rule_name":null,"reason":null,"x":1}"#,
        ),
        (
            "bad-action",
            "policy_decision",
            &r#"{"action":"someone@example.com","rule_name":null,"reason":null}"#,
        ),
        ("text-tokens", "prompt_tokens", &"many"),
        ("blob-model", "model", &vec![0xffu8, 0xfe]),
    ];
    for (id, column, value) in &cases {
        insert(id, column, *value);
        let err = store.get(id).unwrap_err();
        let StoreError::InvalidRow { content_id, reason } = &err else { panic!("{err:?}") };
        assert_eq!(content_id, *id);
        assert!(reason.contains(column), "{reason}");
        assert!(!err.to_string().contains("someone@"), "{err}");
    }
    let mut good = 0;
    let mut bad = 0;
    let visited = store
        .for_each(&RecordQuery::default(), &mut |r| if r.is_ok() { good += 1 } else { bad += 1 })
        .unwrap();
    assert_eq!((visited, good, bad), (8, 1, 7));
    assert!(matches!(store.query(&RecordQuery::default()), Err(StoreError::InvalidRow { .. })));
}

#[test]
fn a_foreign_table_is_a_schema_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute_batch("CREATE TABLE provenance_records (id INTEGER PRIMARY KEY, note TEXT)")
        .unwrap();
    let err = SqliteStore::open_path(&path).unwrap_err();
    assert!(matches!(err, StoreError::SchemaMissing { .. }), "{err}");
    assert!(err.to_string().contains("run `aistamp migrate`"), "{err}");
    let err = aistamp_store_sqlite::migrate(&format!("sqlite:///{}", path.display())).unwrap_err();
    assert!(err.to_string().contains("cannot adopt"), "{err}");
}

#[test]
fn a_visitor_may_use_the_store_it_walks() {
    let dir = tempfile::tempdir().unwrap();
    let file = SqliteStore::open_path(dir.path().join("walk.db")).unwrap();
    let memory = SqliteStore::open("sqlite:///:memory:").unwrap();
    for store in [file, memory] {
        for i in 0..3 {
            RecordStore::write(&store, signed(full_record(&format!("w{i}"), i))).unwrap();
        }
        let mut copied = 0;
        let visited = store
            .for_each(&RecordQuery::default(), &mut |r| {
                let record = r.unwrap().record;
                assert!(store.get(&record.content_id).unwrap().is_some());
                let copy = full_record(&format!("copy-{}", record.content_id), 9);
                RecordStore::write(&store, signed(copy)).unwrap();
                copied += 1;
            })
            .unwrap();
        assert_eq!((visited, copied), (3, 3));
        assert_eq!(store.query(&RecordQuery::default()).unwrap().total_count, 6);
    }
}
