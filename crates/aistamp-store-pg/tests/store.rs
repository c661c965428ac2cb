//! The PostgreSQL store against a real server (aistamp-testkit), one fresh
//! database per test: writes, reads, filters, order, duplicates, concurrency,
//! unreadable rows and the errors of a missing schema or an absent server.

use std::collections::HashSet;
use std::sync::Arc;

use aistamp_core::{
    AsyncRecordStore, LatencyMs, PiiMatch, PiiResult, PolicyAction, PolicyDecision, Record,
    RecordQuery, RecordStore, Severity, SignedRecord, SigningKey, Status, StoreError, Timestamp,
    sha256_hex, verify_stored,
};
use aistamp_store_pg::{BlockingPgStore, PgOptions, PgStore};

const SECRET: &str = "integration-test-secret-0123456789abcdef";

fn key() -> SigningKey {
    SigningKey::new(SECRET).unwrap()
}

fn base() -> Timestamp {
    Timestamp::parse("2025-01-01 00:00:00").unwrap()
}

/// A record with every field set, `micros` after 2025-01-01.
fn full_record(content_id: &str, micros: i64) -> Record {
    let pii = PiiResult::from_matches(
        vec![PiiMatch {
            pattern_name: "EMAIL".into(),
            severity: Severity::Medium,
            start: 6,
            end: 26,
            redacted_snippet: "write [REDACTED] now é😀 \"quoted\"".into(),
        }],
        vec![],
    );
    Record {
        content_id: content_id.into(),
        app_id: "app".into(),
        feature_id: "feature".into(),
        user_id: "user".into(),
        model: "gpt-4o".into(),
        prompt_hash: sha256_hex("prompt"),
        response_hash: Some(sha256_hex("response")),
        prompt_tokens: Some(2_000_000_000),
        response_tokens: Some(7),
        latency_ms: Some(LatencyMs::new(12.345_678_9).unwrap()),
        timestamp: base().checked_add_micros(micros).unwrap(),
        status: Status::Completed,
        pii_result: Some(pii),
        policy_decision: Some(PolicyDecision {
            action: PolicyAction::Warn,
            rule_name: Some("warn_pii".into()),
            reason: Some("Matched rule 'warn_pii' with action WARN".into()),
        }),
    }
}

fn signed(record: Record) -> SignedRecord {
    let signature = key().sign(&record);
    SignedRecord { record, signature }
}

fn new_store() -> BlockingPgStore {
    let store = BlockingPgStore::connect(&aistamp_testkit::fresh_database()).unwrap();
    store.migrate().unwrap();
    store
}

#[test]
fn records_round_trip_exactly_and_verify() {
    let store = new_store();
    let full = full_record("00000000-0000-4000-8000-000000000001", 123_456);
    let mut bare = Record::new("app", "feature", "user", "model", "prompt");
    bare.timestamp = Timestamp::parse("1999-12-31T23:59:59.999999Z").unwrap();
    bare.status = Status::Error;
    let mut null_latency = full_record("00000000-0000-4000-8000-000000000003", 0);
    null_latency.latency_ms = None;
    null_latency.pii_result = Some(PiiResult::from_matches(vec![], vec![]));

    for record in [&full, &bare, &null_latency] {
        store.write(signed(record.clone())).unwrap();
        let stored = store.get(&record.content_id).unwrap().unwrap();
        assert_eq!(&stored.record, record);
        assert_eq!(stored.signature, Some(key().sign(record).to_hex()));
        let result = verify_stored(&stored, "response", &key());
        assert!(result.hmac_valid, "{}", record.content_id);
    }
    assert_eq!(store.get("no-such-id").unwrap(), None);
}

/// Eight records over three instants, two sharing each instant, with the
/// filter values varied.
fn filter_fixture(store: &BlockingPgStore) -> Vec<Record> {
    let mut records = Vec::new();
    for i in 0..8i64 {
        let mut record = full_record(&format!("id-{i}"), (i / 2) * 1_000_000);
        record.user_id = format!("user-{}", i % 2);
        record.app_id = format!("app-{}", i % 3);
        record.feature_id = format!("feature-{}", i % 4);
        record.model = if i < 4 { "gpt-4o".into() } else { "claude".into() };
        record.status = if i == 5 { Status::Blocked } else { Status::Completed };
        let severity = [Some(Severity::High), Some(Severity::Low), None][i as usize % 3];
        record.pii_result = match severity {
            Some(severity) => Some(PiiResult::from_matches(
                vec![PiiMatch {
                    pattern_name: "X".into(),
                    severity,
                    start: 0,
                    end: 1,
                    redacted_snippet: "[REDACTED]".into(),
                }],
                vec![],
            )),
            None if i == 2 => None,
            None => Some(PiiResult::default()),
        };
        record.policy_decision = match i % 4 {
            0 => None,
            1 => {
                Some(PolicyDecision { action: PolicyAction::Block, rule_name: None, reason: None })
            }
            _ => {
                Some(PolicyDecision { action: PolicyAction::Allow, rule_name: None, reason: None })
            }
        };
        records.push(record);
    }
    // Written in reverse, so that the timestamp order is not insertion order;
    // within one instant the id (insertion order) decides.
    for record in records.iter().rev() {
        store.write(signed(record.clone())).unwrap();
    }
    records
}

/// Which fixture records a query should return.
type Keep = Box<dyn Fn(&Record) -> bool>;

#[test]
fn every_filter_matches_exactly_in_timestamp_then_id_order() {
    let store = new_store();
    let records = filter_fixture(&store);
    // Reverse insertion: id-7 was stored first, so it precedes id-6.
    let order = ["id-1", "id-0", "id-3", "id-2", "id-5", "id-4", "id-7", "id-6"];
    let ids = |query: &RecordQuery| -> (Vec<String>, u64) {
        let page = store.query(query).unwrap();
        (page.records.into_iter().map(|s| s.record.content_id).collect(), page.total_count)
    };
    let expect = |keep: &dyn Fn(&Record) -> bool| -> Vec<String> {
        order
            .iter()
            .filter(|id| keep(records.iter().find(|r| r.content_id == **id).unwrap()))
            .map(|id| id.to_string())
            .collect()
    };

    let all = RecordQuery::default();
    assert_eq!(ids(&all), (expect(&|_| true), 8));

    let instant = |seconds: i64| base().checked_add_micros(seconds * 1_000_000).unwrap();
    let cases: Vec<(RecordQuery, Keep)> = vec![
        (
            RecordQuery { content_id: Some("id-3".into()), ..all.clone() },
            Box::new(|r| r.content_id == "id-3"),
        ),
        (
            RecordQuery { user_id: Some("user-1".into()), ..all.clone() },
            Box::new(|r| r.user_id == "user-1"),
        ),
        (
            RecordQuery { app_id: Some("app-2".into()), ..all.clone() },
            Box::new(|r| r.app_id == "app-2"),
        ),
        (
            RecordQuery { feature_id: Some("feature-3".into()), ..all.clone() },
            Box::new(|r| r.feature_id == "feature-3"),
        ),
        (
            RecordQuery { model: Some("claude".into()), ..all.clone() },
            Box::new(|r| r.model == "claude"),
        ),
        (
            RecordQuery { status: Some(Status::Blocked), ..all.clone() },
            Box::new(|r| r.status == Status::Blocked),
        ),
        (
            RecordQuery { pii_severity: Some(Severity::High), ..all.clone() },
            Box::new(|r| {
                r.pii_result.as_ref().and_then(|p| p.highest_severity) == Some(Severity::High)
            }),
        ),
        (
            RecordQuery { pii_severity: Some(Severity::Low), ..all.clone() },
            Box::new(|r| {
                r.pii_result.as_ref().and_then(|p| p.highest_severity) == Some(Severity::Low)
            }),
        ),
        (
            RecordQuery { policy_action: Some(PolicyAction::Block), ..all.clone() },
            Box::new(|r| r.policy_decision.as_ref().map(|d| d.action) == Some(PolicyAction::Block)),
        ),
        (
            RecordQuery { policy_action: Some(PolicyAction::Warn), ..all.clone() },
            Box::new(|_| false),
        ),
        (
            RecordQuery { from: Some(instant(1)), ..all.clone() },
            Box::new(move |r| r.timestamp >= instant(1)),
        ),
        (
            RecordQuery { to: Some(instant(2)), ..all.clone() },
            Box::new(move |r| r.timestamp <= instant(2)),
        ),
        (
            RecordQuery { from: Some(instant(1)), to: Some(instant(1)), ..all.clone() },
            Box::new(move |r| r.timestamp == instant(1)),
        ),
        (
            RecordQuery {
                user_id: Some("user-0".into()),
                model: Some("gpt-4o".into()),
                ..all.clone()
            },
            Box::new(|r| r.user_id == "user-0" && r.model == "gpt-4o"),
        ),
    ];
    for (query, keep) in &cases {
        let expected = expect(keep.as_ref());
        let count = expected.len() as u64;
        assert_eq!(ids(query), (expected, count), "{query:?}");
    }

    // Pages: limit and offset cut the ordered list, the count stays.
    let page = RecordQuery { limit: Some(3), offset: 2, ..all.clone() };
    assert_eq!(ids(&page), (order[2..5].iter().map(|s| s.to_string()).collect(), 8));
    let past_end = RecordQuery { limit: Some(3), offset: 20, ..all.clone() };
    assert_eq!(ids(&past_end), (vec![], 8));
    let zero = RecordQuery { limit: Some(0), ..all.clone() };
    assert_eq!(ids(&zero).0, Vec::<String>::new());
    let filtered_past_end = RecordQuery { model: Some("claude".into()), offset: 4, ..all.clone() };
    assert_eq!(ids(&filtered_past_end), (vec![], 4));

    // for_each walks the same order with the same filters.
    let mut walked = Vec::new();
    let count = store
        .for_each(&RecordQuery { offset: 1, limit: Some(6), ..all.clone() }, &mut |item| {
            walked.push(item.unwrap().record.content_id)
        })
        .unwrap();
    assert_eq!(count, 6);
    assert_eq!(walked, order[1..7]);
}

#[test]
fn a_duplicate_content_id_fails_only_its_own_write() {
    let store = Arc::new(new_store());
    let first = full_record("dup", 0);
    store.write(signed(first.clone())).unwrap();
    let mut second = full_record("dup", 5);
    second.user_id = "someone-else".into();
    match store.write(signed(second)) {
        Err(StoreError::DuplicateContentId { content_id }) => assert_eq!(content_id, "dup"),
        other => panic!("expected a duplicate error, got {other:?}"),
    }
    assert_eq!(store.get("dup").unwrap().unwrap().record, first);

    // Sixteen writers at once, four of them with the same new id: exactly
    // one of those succeeds and the others' records are unaffected.
    let results: Vec<(String, Result<(), StoreError>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..16)
            .map(|i| {
                let store = Arc::clone(&store);
                scope.spawn(move || {
                    let id = if i % 4 == 0 { "same".to_owned() } else { format!("own-{i}") };
                    (id.clone(), store.write(signed(full_record(&id, i))))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let same_ok = results.iter().filter(|(id, r)| id == "same" && r.is_ok()).count();
    assert_eq!(same_ok, 1);
    for (id, result) in &results {
        if id == "same" {
            assert!(result.is_ok() || matches!(result, Err(StoreError::DuplicateContentId { .. })));
        } else {
            assert!(result.is_ok(), "{id}: {result:?}");
        }
    }
    assert_eq!(store.query(&RecordQuery::default()).unwrap().total_count, 14);
}

#[test]
fn records_that_do_not_fit_the_columns_fail_alone() {
    let store = new_store();
    let long_id = "x".repeat(37);
    let err = store.write(signed(full_record(&long_id, 0))).unwrap_err();
    assert!(err.to_string().contains("content_id holds at most 36 characters"), "{err}");
    let mut big = full_record("big-tokens", 0);
    big.prompt_tokens = Some(1 << 40);
    let err = store.write(signed(big)).unwrap_err();
    assert!(err.to_string().contains("prompt_tokens"), "{err}");
    let mut nul = full_record("nul-user", 0);
    nul.user_id = "a\0b".into();
    assert!(store.write(signed(nul)).is_err());
    store.write(signed(full_record("fits", 0))).unwrap();
    assert_eq!(store.query(&RecordQuery::default()).unwrap().total_count, 1);
}

#[test]
fn concurrent_writers_lose_and_duplicate_nothing() {
    let store = Arc::new(new_store());
    let threads = 16;
    let per_thread = 100;
    std::thread::scope(|scope| {
        for t in 0..threads {
            let store = Arc::clone(&store);
            scope.spawn(move || {
                for i in 0..per_thread {
                    let id = format!("t{t}-r{i}");
                    store.write(signed(full_record(&id, t * 1000 + i))).unwrap();
                }
            });
        }
    });
    let mut seen = HashSet::new();
    let count = store
        .for_each(&RecordQuery::default(), &mut |item| {
            assert!(seen.insert(item.unwrap().record.content_id));
        })
        .unwrap();
    assert_eq!(count, (threads * per_thread) as u64);
    assert_eq!(seen.len(), (threads * per_thread) as usize);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_async_store_writes_reads_and_streams() {
    let url = aistamp_testkit::fresh_database();
    let store =
        PgStore::connect_with(&url, PgOptions::default().write_connections(2).max_batch(64))
            .await
            .unwrap();
    let report = store.migrate().await.unwrap();
    assert_eq!(report.version, 3);

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..2500i64 {
        let store = store.clone();
        tasks.spawn(async move {
            AsyncRecordStore::write(&store, signed(full_record(&format!("a-{i}"), i))).await
        });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap().unwrap();
    }
    let one = AsyncRecordStore::get(&store, "a-42").await.unwrap().unwrap();
    assert_eq!(one.record, full_record("a-42", 42));
    let page = AsyncRecordStore::query(
        &store,
        &RecordQuery { limit: Some(10), offset: 100, ..RecordQuery::default() },
    )
    .await
    .unwrap();
    assert_eq!(page.total_count, 2500);
    assert_eq!(page.records[0].record.content_id, "a-100");

    // More rows than one cursor page: streamed in order.
    let mut previous = None;
    let mut count = 0;
    let visited = store
        .for_each(&RecordQuery::default(), |item| {
            let record = item.unwrap().record;
            assert!(previous < Some(record.timestamp));
            previous = Some(record.timestamp);
            count += 1;
        })
        .await
        .unwrap();
    assert_eq!((visited, count), (2500, 2500));
}

#[tokio::test(flavor = "current_thread")]
async fn the_blocking_store_works_inside_a_runtime_too() {
    let store = new_store();
    store.write(signed(full_record("inside", 0))).unwrap();
    assert!(store.get("inside").unwrap().is_some());
    let mut seen = 0;
    store.for_each(&RecordQuery::default(), &mut |_| seen += 1).unwrap();
    assert_eq!(seen, 1);
    drop(store);

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let err = BlockingPgStore::connect(&format!("postgres://u@127.0.0.1:{port}/db")).unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
}

#[test]
fn unreadable_rows_are_errors_naming_id_and_column() {
    let url = aistamp_testkit::fresh_database();
    let store = BlockingPgStore::connect(&url).unwrap();
    store.migrate().unwrap();
    store.write(signed(full_record("good-1", 0))).unwrap();
    store.write(signed(full_record("good-2", 2))).unwrap();
    let bad = [
        (
            "bad-key",
            "'{\"prompt_matches\":[],\"response_matches\":[],\"highest_severity\":null,\"match_count\":0,\"extra\":1}'",
            "'COMPLETED'",
            "pii_result",
        ),
        ("bad-status", "NULL", "'RUNNING'", "status"),
        ("bad-shape", "'[1,2]'", "'COMPLETED'", "pii_result"),
    ];
    let sql: String = bad
        .iter()
        .map(|(id, pii, status, _)| {
            format!(
                "INSERT INTO provenance_records (content_id, app_id, feature_id, user_id, model, \
                 prompt_hash, timestamp, status, pii_result) VALUES ('{id}', 'a', 'f', 'u', 'm', \
                 'h', '2025-01-01 00:00:01', {status}, {pii});"
            )
        })
        .collect();
    run_sql(&url, &sql);

    for (id, _, _, column) in bad {
        match store.get(id) {
            Err(StoreError::InvalidRow { content_id, reason }) => {
                assert_eq!(content_id, id);
                assert!(reason.contains(column), "{id}: {reason}");
            }
            other => panic!("{id}: expected an invalid row, got {other:?}"),
        }
    }
    let mut good = 0;
    let mut bad_seen = 0;
    let visited = store
        .for_each(&RecordQuery::default(), &mut |item| match item {
            Ok(_) => good += 1,
            Err(StoreError::InvalidRow { .. }) => bad_seen += 1,
            Err(other) => panic!("{other}"),
        })
        .unwrap();
    assert_eq!((visited, good, bad_seen), (5, 2, 3));
    assert!(matches!(store.query(&RecordQuery::default()), Err(StoreError::InvalidRow { .. })));
}

#[test]
fn a_database_without_the_schema_says_run_migrate() {
    let store = BlockingPgStore::connect(&aistamp_testkit::fresh_database()).unwrap();
    let err = store.write(signed(full_record("x", 0))).unwrap_err();
    assert!(matches!(err, StoreError::SchemaMissing { .. }), "{err:?}");
    assert!(err.to_string().contains("run `aistamp migrate`"), "{err}");
    assert!(matches!(store.get("x"), Err(StoreError::SchemaMissing { .. })));
    assert!(matches!(store.query(&RecordQuery::default()), Err(StoreError::SchemaMissing { .. })));
    store.create_tables().unwrap();
    store.write(signed(full_record("x", 0))).unwrap();
}

#[test]
fn an_absent_server_or_database_is_unavailable() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("postgres://app:hunter2@127.0.0.1:{port}/audit");
    let err = BlockingPgStore::connect(&url).unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert!(err.to_string().contains(&format!("127.0.0.1:{port}")), "{err}");

    let fresh = aistamp_testkit::fresh_database();
    let missing = aistamp_testkit::with_database(&fresh, "no_such_database").unwrap();
    let err = BlockingPgStore::connect(&missing).unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    assert!(err.to_string().contains("no_such_database"), "{err}");

    let err = BlockingPgStore::connect("postgresql+psycopg2://u:hunter2@h:port/db").unwrap_err();
    assert!(matches!(err, StoreError::InvalidUrl { .. }), "{err:?}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[test]
fn the_reference_url_form_connects() {
    let url = aistamp_testkit::fresh_database();
    let psycopg = url.replacen("postgres://", "postgresql+psycopg2://", 1);
    let store = BlockingPgStore::connect(&psycopg).unwrap();
    store.migrate().unwrap();
    let asyncpg = url.replacen("postgres://", "postgresql+asyncpg://", 1);
    let other = BlockingPgStore::connect(&asyncpg).unwrap();
    store.write(signed(full_record("via-psycopg", 0))).unwrap();
    assert!(other.get("via-psycopg").unwrap().is_some());
}

/// Runs `sql` on `url` with a plain driver connection.
pub fn run_sql(url: &str, sql: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let (client, connection) =
            tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
        let driver = tokio::spawn(connection);
        client.batch_execute(sql).await.unwrap();
        drop(client);
        driver.await.unwrap().unwrap();
    });
}
