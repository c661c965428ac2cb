//! Benchmark of the PostgreSQL store: durable writes of 2 KB signed records
//! from 1 and 16 threads, reading and verifying everything, report pages.
//! `--database-url URL` (else a throwaway server), `--quick`, `--runs N`,
//! `--write-connections N`, `--writes-only` (skips the reads); prints JSON
//! lines.

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use aistamp_core::{
    LatencyMs, PiiMatch, PiiResult, PolicyAction, PolicyDecision, Record, RecordQuery, RecordStore,
    Severity, SignedRecord, SigningKey, Status, Timestamp, new_content_id, sha256_hex,
    verify_stored,
};
use aistamp_store_pg::{BlockingPgStore, PgOptions};
use aistamp_testkit::TestPostgres;

const SECRET: &str = "benchmark-secret-key-0123456789abcdef";

/// A record of about 2 KB as stored: four PII matches with long snippets.
fn record(i: u64) -> Record {
    let snippet = format!("...context before [REDACTED] context after {}", "·".repeat(280));
    let matches = (0..4)
        .map(|m| PiiMatch {
            pattern_name: "EMAIL".into(),
            severity: [Severity::Low, Severity::Medium, Severity::High][(i % 3) as usize],
            start: m * 40,
            end: m * 40 + 20,
            redacted_snippet: snippet.clone(),
        })
        .collect();
    Record {
        content_id: new_content_id(),
        app_id: format!("app{}", i % 4),
        feature_id: format!("feature{}", i % 8),
        user_id: format!("user{}", i % 100),
        model: ["gpt-4o", "claude-3-5-sonnet", "gpt-4o-mini"][(i % 3) as usize].into(),
        prompt_hash: sha256_hex(&i.to_string()),
        response_hash: Some(sha256_hex(&format!("response {i}"))),
        prompt_tokens: Some(500),
        response_tokens: Some(1500),
        latency_ms: LatencyMs::new(850.25).ok(),
        timestamp: Timestamp::now(),
        status: [Status::Completed, Status::Blocked, Status::Error][(i % 3) as usize],
        pii_result: Some(PiiResult::from_matches(matches, vec![])),
        policy_decision: Some(PolicyDecision {
            action: [PolicyAction::Allow, PolicyAction::Warn, PolicyAction::Block]
                [(i % 3) as usize],
            rule_name: Some("warn_medium_pii".into()),
            reason: Some("Matched rule 'warn_medium_pii' with action WARN".into()),
        }),
    }
}

/// A migrated store on a new database of `server`, and its URL.
fn new_store_at(server: &TestPostgres, options: &PgOptions) -> (BlockingPgStore, String) {
    let url = server.fresh_database().expect("a fresh database");
    let store = BlockingPgStore::connect_with(&url, options.clone()).expect("a store");
    store.migrate().expect("the schema");
    (store, url)
}

fn new_store(server: &TestPostgres, options: &PgOptions) -> BlockingPgStore {
    new_store_at(server, options).0
}

/// What autovacuum does within a minute of a bulk load: table statistics
/// for the planner and the visibility map for index-only counts.
fn vacuum_analyze(url: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
    runtime.block_on(async {
        let (client, connection) =
            tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("a connection");
        let driver = tokio::spawn(connection);
        client.batch_execute("VACUUM ANALYZE provenance_records").await.expect("vacuum");
        drop(client);
        let _ = driver.await;
    });
}

/// Writes `per_thread` records from each of `threads` threads into `store`;
/// records/s.
fn write(store: &BlockingPgStore, threads: u64, per_thread: u64) -> f64 {
    let key = SigningKey::new(SECRET).expect("a key");
    let started = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..threads {
            let key = key.clone();
            scope.spawn(move || {
                for i in 0..per_thread {
                    let record = record(t * per_thread + i);
                    let signature = key.sign(&record);
                    store.write(SignedRecord { record, signature }).expect("a durable write");
                }
            });
        }
    });
    (threads * per_thread) as f64 / started.elapsed().as_secs_f64()
}

/// Reads and verifies every record; records/s.
fn verify_all(store: &BlockingPgStore, key: &SigningKey) -> f64 {
    let started = Instant::now();
    let mut valid = 0u64;
    let visited = store
        .for_each(&RecordQuery::default(), &mut |stored| {
            let stored = stored.expect("a readable row");
            valid += u64::from(verify_stored(&stored, "", key).hmac_valid);
        })
        .expect("a full read");
    assert_eq!(valid, visited, "every signature verifies");
    visited as f64 / started.elapsed().as_secs_f64()
}

/// The slowest 1,000-record report page (with its total count) over every
/// filter; ms.
fn slowest_page(store: &BlockingPgStore) -> f64 {
    let page = |query: RecordQuery| RecordQuery { limit: Some(1000), offset: 1000, ..query };
    let queries = [
        RecordQuery::default(),
        RecordQuery { user_id: Some("user7".into()), offset: 0, ..Default::default() },
        RecordQuery { app_id: Some("app1".into()), ..Default::default() },
        RecordQuery { feature_id: Some("feature3".into()), ..Default::default() },
        RecordQuery { model: Some("gpt-4o".into()), ..Default::default() },
        RecordQuery { status: Some(Status::Error), ..Default::default() },
        RecordQuery { pii_severity: Some(Severity::Medium), ..Default::default() },
        RecordQuery { policy_action: Some(PolicyAction::Warn), ..Default::default() },
        RecordQuery {
            from: Timestamp::now().checked_add_micros(-3_600_000_000),
            ..Default::default()
        },
    ];
    let mut slowest = 0f64;
    for query in queries {
        let query = page(query);
        // The first run prepares the statement on its connection.
        store.query(&query).expect("a page");
        let started = Instant::now();
        let result = store.query(&query).expect("a page");
        assert!(result.total_count > 0);
        slowest = slowest.max(started.elapsed().as_secs_f64() * 1000.0);
    }
    slowest
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn report(workload: &str, values: Vec<f64>, unit: &str) {
    let runs = values.len();
    let line = format!(
        r#"{{"workload":"{workload}","value":{:.1},"unit":"{unit}","runs":{runs}}}"#,
        median(values)
    );
    writeln!(std::io::stdout(), "{line}").expect("stdout");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let writes_only = args.iter().any(|a| a == "--writes-only");
    let value = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1));
    let url = value("--database-url");
    let mut options = PgOptions::default();
    if let Some(count) = value("--write-connections") {
        options = options.write_connections(count.parse().expect("--write-connections N"));
    }
    let server = match url {
        Some(url) => TestPostgres::external(url.clone()),
        None => TestPostgres::start().expect("a throwaway PostgreSQL server"),
    };
    let (mut runs, one, many, filled) =
        if quick { (1, 500, 250, 20_000) } else { (3, 2000, 1000, 100_000) };
    if let Some(count) = value("--runs") {
        runs = count.parse::<usize>().expect("--runs N").max(1);
    }

    let key = SigningKey::new(SECRET).expect("a key");
    let mut single = Vec::new();
    let mut sixteen = Vec::new();
    for _ in 0..runs {
        single.push(write(&new_store(&server, &options), 1, one));
        sixteen.push(write(&new_store(&server, &options), 16, many));
    }
    report("pg_write_1", single, "records/s");
    report("pg_write_16", sixteen, "records/s");
    if writes_only {
        return;
    }

    let (store, url) = new_store_at(&server, &options);
    let store = Arc::new(store);
    write(&store, 32, filled / 32);
    vacuum_analyze(&url);
    let verify: Vec<f64> = (0..runs).map(|_| verify_all(&store, &key)).collect();
    report("pg_verify_all", verify, "records/s");
    let pages: Vec<f64> = (0..runs).map(|_| slowest_page(&store)).collect();
    report("pg_page_1000_slowest", pages, "ms");
}
