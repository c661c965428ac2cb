//! Durability: the server crashes (immediate shutdown, no checkpoint) in the
//! middle of concurrent writes and recovers; every write acknowledged
//! before the crash is there, the table and its indexes pass `amcheck`, and
//! the store reconnects by itself.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aistamp_core::{Record, RecordQuery, RecordStore, SignedRecord, SigningKey, StoreError};
use aistamp_store_pg::BlockingPgStore;
use aistamp_testkit::TestPostgres;

#[test]
fn acknowledged_writes_survive_a_server_crash() {
    let mut server = TestPostgres::start().unwrap();
    let url = server.fresh_database().unwrap();
    let store = BlockingPgStore::connect(&url).unwrap();
    store.migrate().unwrap();
    let key = SigningKey::new("crash-test-secret-0123456789abcdef-xyz").unwrap();

    let acknowledged = Mutex::new(Vec::new());
    let failures = Mutex::new(Vec::new());
    let after_restart = AtomicUsize::new(0);
    let restarted = AtomicBool::new(false);
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for writer in 0..8 {
            let (store, key) = (&store, key.clone());
            let (acknowledged, failures) = (&acknowledged, &failures);
            let (after_restart, restarted, stop) = (&after_restart, &restarted, &stop);
            scope.spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let mut record = Record::new("app", "feature", "user", "model", "prompt");
                    record.content_id = format!("w{writer}-{i}");
                    i += 1;
                    let signature = key.sign(&record);
                    match store.write(SignedRecord { record, signature }) {
                        Ok(()) => {
                            acknowledged.lock().unwrap().push(format!("w{writer}-{}", i - 1));
                            if restarted.load(Ordering::Relaxed) {
                                after_restart.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Err(err) => {
                            failures.lock().unwrap().push(err);
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    }
                }
            });
        }

        wait_until(|| acknowledged.lock().unwrap().len() >= 200);
        let before_crash = acknowledged.lock().unwrap().clone();
        server.crash_and_restart().unwrap();
        restarted.store(true, Ordering::Relaxed);
        wait_until(|| after_restart.load(Ordering::Relaxed) >= 50);
        stop.store(true, Ordering::Relaxed);

        // What was acknowledged before the crash is a subset of everything
        // acknowledged; both must be stored.
        assert!(before_crash.len() >= 200);
    });

    let acknowledged = acknowledged.into_inner().unwrap();
    let mut stored = std::collections::HashSet::new();
    store
        .for_each(&RecordQuery::default(), &mut |item| {
            stored.insert(item.unwrap().record.content_id);
        })
        .unwrap();
    let missing: Vec<_> = acknowledged.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");

    // The writers saw the crash as the server being unavailable, nothing
    // else (no duplicate, no panic).
    let failures = failures.into_inner().unwrap();
    assert!(!failures.is_empty(), "the crash happened while writes were in flight");
    for err in failures {
        assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    }

    let checks = amcheck(&url);
    assert!(checks >= 12, "checked {checks} relations");
}

fn wait_until(condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs PostgreSQL's `amcheck` over the table and every index of it;
/// returns how many relations were checked. Any corruption is an error.
fn amcheck(url: &str) -> usize {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let (client, connection) =
            tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
        let driver = tokio::spawn(connection);
        client.batch_execute("CREATE EXTENSION IF NOT EXISTS amcheck").await.unwrap();
        let heap = client
            .query("SELECT * FROM verify_heapam('provenance_records', check_toast => true)", &[])
            .await
            .unwrap();
        assert!(heap.is_empty(), "heap corruption: {} problems", heap.len());
        let indexes = client
            .query(
                "SELECT bt_index_parent_check(indexrelid, true) FROM pg_index \
                 WHERE indrelid = 'provenance_records'::regclass",
                &[],
            )
            .await
            .unwrap();
        drop(client);
        driver.await.unwrap().unwrap();
        indexes.len() + 1
    })
}
