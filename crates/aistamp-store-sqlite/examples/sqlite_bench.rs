//! Benchmark of the SQLite store: durable writes of 2 KB signed records
//! from 1 and 16 threads, reading and verifying everything, report pages,
//! and the disk's own ceiling: durable commits of bare 2 KB rows, one and
//! sixteen per commit, and of bare rows that cost the WAL as many pages as
//! a record costs the store, alone and sixteen to a commit.
//! Prints one JSON object per line; `--quick` for a short run, `--only
//! <workload>` to run one workload, `--records N` for the records each
//! write run stores in all (longer runs reach the steady state in which the
//! WAL is reused rather than grown), `--writers N` for one more write run,
//! `sqlite_write_N`, from N threads (`--only sqlite_write_N --writers N`
//! for that run alone).

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use aistamp_core::{
    LatencyMs, PiiMatch, PiiResult, PolicyAction, PolicyDecision, Record, RecordQuery, RecordStore,
    Severity, SignedRecord, SigningKey, Status, Timestamp, new_content_id, sha256_hex,
    verify_stored,
};
use aistamp_store_sqlite::SqliteStore;

const SECRET: &str = "benchmark-secret-key-0123456789abcdef";

/// A record of about 2 KB as stored: four PII matches with long snippets.
fn record(i: u64) -> Record {
    let snippet = format!("...context before [REDACTED] context after {}", "x".repeat(280));
    let matches = (0..4)
        .map(|m| PiiMatch {
            pattern_name: "EMAIL".into(),
            severity: Severity::Medium,
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

/// CPU seconds used so far by this process's threads named `name` (Linux;
/// `None` elsewhere). Clock ticks are taken as 1/100 s, as on Linux.
fn thread_cpu_seconds(name: &str) -> Option<f64> {
    let mut ticks = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let path = task.ok()?.path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if comm.trim_end() != name {
            continue;
        }
        let stat = std::fs::read_to_string(path.join("stat")).ok()?;
        // Fields after the parenthesized name: state is field 3; utime and
        // stime are fields 14 and 15.
        let rest = stat.rsplit_once(')')?.1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        ticks += fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    }
    Some(ticks as f64 / 100.0)
}

/// Writes `per_thread` records from each of `threads` threads; records/s,
/// and records per CPU second of the store's writer thread (the rate the
/// writer could sustain with a core to itself and no wait for the disk).
fn write_run(threads: u64, per_thread: u64) -> (f64, Option<f64>) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Arc::new(SqliteStore::open_path(dir.path().join("bench.db")).expect("a store"));
    let key = SigningKey::new(SECRET).expect("a key");
    let started = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..threads {
            let (store, key) = (Arc::clone(&store), key.clone());
            scope.spawn(move || {
                for i in 0..per_thread {
                    let record = record(t * per_thread + i);
                    let signature = key.sign(&record);
                    store.write(SignedRecord { record, signature }).expect("a durable write");
                }
            });
        }
    });
    let records = (threads * per_thread) as f64;
    let writer_cpu = thread_cpu_seconds("sqlite-writer").filter(|s| *s > 0.0);
    (records / started.elapsed().as_secs_f64(), writer_cpu.map(|s| records / s))
}

/// The disk's ceiling for durable commits, measured around the store: rows
/// of `row_bytes` into a table with no index and pages of `page_bytes`,
/// committed `per_commit` at a time with the store's settings (WAL,
/// `synchronous=FULL`); rows/s.
fn commit_floor_run(per_commit: u64, rows: u64, row_bytes: usize, page_bytes: u32) -> f64 {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let conn = rusqlite::Connection::open(dir.path().join("floor.db")).expect("a database");
    conn.pragma_update(None, "page_size", page_bytes).expect("a page size");
    let mode: String =
        conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)).expect("WAL");
    assert_eq!(mode, "wal");
    conn.pragma_update(None, "synchronous", "FULL").expect("synchronous");
    conn.execute_batch("CREATE TABLE floor (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")
        .expect("a table");
    let body = vec![7u8; row_bytes];
    let started = Instant::now();
    for _ in 0..rows / per_commit {
        conn.execute_batch("BEGIN IMMEDIATE").expect("begin");
        let mut insert =
            conn.prepare_cached("INSERT INTO floor (body) VALUES (?1)").expect("a statement");
        for _ in 0..per_commit {
            insert.execute([&body]).expect("an insert");
        }
        conn.execute_batch("COMMIT").expect("commit");
    }
    (rows / per_commit * per_commit) as f64 / started.elapsed().as_secs_f64()
}

/// Fills a store with `count` records, in batches of concurrent writers.
fn filled_store(dir: &tempfile::TempDir, count: u64) -> SqliteStore {
    let store = SqliteStore::open_path(dir.path().join("filled.db")).expect("a store");
    let key = SigningKey::new(SECRET).expect("a key");
    let threads = 32;
    std::thread::scope(|scope| {
        for t in 0..threads {
            let (store, key) = (&store, key.clone());
            let filler = std::thread::Builder::new().name("filler".into());
            filler
                .spawn_scoped(scope, move || {
                    for i in (t..count).step_by(threads as usize) {
                        let record = record(i);
                        let signature = key.sign(&record);
                        store.write(SignedRecord { record, signature }).expect("a durable write");
                    }
                })
                .expect("a filler thread");
        }
    });
    store
}

/// Reads and verifies every record; records/s, and records per CPU second
/// of the thread doing it.
fn verify_all_run(store: &SqliteStore, key: &SigningKey) -> (f64, Option<f64>) {
    let cpu = || {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
        let fields: Vec<String> =
            stat.rsplit_once(')')?.1.split_whitespace().map(str::to_string).collect();
        let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        Some(ticks as f64 / 100.0)
    };
    let cpu_before = cpu();
    let started = Instant::now();
    let mut valid = 0u64;
    let visited = store
        .for_each(&RecordQuery::default(), &mut |stored| {
            let stored = stored.expect("a readable row");
            valid += u64::from(verify_stored(&stored, "", key).hmac_valid);
        })
        .expect("a full read");
    assert_eq!(valid, visited, "every signature verifies");
    let seconds = started.elapsed().as_secs_f64();
    let cpu_seconds = cpu().zip(cpu_before).map(|(after, before)| after - before);
    (visited as f64 / seconds, cpu_seconds.filter(|s| *s > 0.0).map(|s| visited as f64 / s))
}

/// The slowest of 1,000-record report pages over every filter, in ms,
/// and its filter's name.
fn page_run(store: &SqliteStore) -> (f64, &'static str) {
    let page = |query: RecordQuery| RecordQuery { limit: Some(1000), offset: 1000, ..query };
    let queries = [
        ("none", RecordQuery::default()),
        ("user_id", RecordQuery { user_id: Some("user7".into()), offset: 0, ..Default::default() }),
        ("app_id", RecordQuery { app_id: Some("app1".into()), ..Default::default() }),
        ("feature_id", RecordQuery { feature_id: Some("feature3".into()), ..Default::default() }),
        ("model", RecordQuery { model: Some("gpt-4o".into()), ..Default::default() }),
        ("status", RecordQuery { status: Some(Status::Error), ..Default::default() }),
        (
            "pii_severity",
            RecordQuery { pii_severity: Some(Severity::Medium), ..Default::default() },
        ),
        (
            "policy_action",
            RecordQuery { policy_action: Some(PolicyAction::Warn), ..Default::default() },
        ),
        (
            "from",
            RecordQuery {
                from: Timestamp::now().checked_add_micros(-3_600_000_000),
                ..Default::default()
            },
        ),
    ];
    let mut slowest = (0f64, "none");
    for (name, query) in queries {
        let started = Instant::now();
        let result = store.query(&page(query)).expect("a page");
        assert!(result.total_count > 0);
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        if ms > slowest.0 {
            slowest = (ms, name);
        }
    }
    slowest
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Reports the wall-clock figures under `workload` and the CPU-based ones
/// under `<workload>_cpu`.
fn report_pair(workload: &str, pairs: Vec<(f64, Option<f64>)>) {
    let cpu: Option<Vec<f64>> = pairs.iter().map(|(_, cpu)| *cpu).collect();
    report(workload, pairs.iter().map(|(wall, _)| *wall).collect(), "records/s");
    if let Some(cpu) = cpu {
        report(&format!("{workload}_cpu"), cpu, "records/cpu-s");
    }
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
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let only = args.iter().position(|a| a == "--only").and_then(|i| args.get(i + 1)).cloned();
    let wanted = |name: &str| only.as_deref().is_none_or(|only| only == name);
    let (runs, mut one, mut many, filled) =
        if quick { (1, 1000, 500, 20_000) } else { (3, 4000, 2000, 100_000) };
    let number = |flag: &str| -> Option<u64> {
        let value = args.iter().position(|a| a == flag).map(|i| args.get(i + 1))?;
        match value.and_then(|v| v.parse().ok()).filter(|n: &u64| *n > 0) {
            Some(n) => Some(n),
            None => {
                let got = value.map_or("nothing".to_string(), |v| format!("'{v}'"));
                let message = format!("{flag} needs a positive whole number, got {got}");
                writeln!(std::io::stderr(), "{message}").expect("stderr");
                std::process::exit(2);
            }
        }
    };
    if let Some(records) = number("--records") {
        one = records;
        many = (one / 16).max(1);
    }
    if let Some(writers) = number("--writers") {
        let workload = format!("sqlite_write_{writers}");
        if wanted(&workload) {
            let per_writer = (one / writers).max(1);
            report_pair(&workload, (0..runs).map(|_| write_run(writers, per_writer)).collect());
        }
    }

    if wanted("sqlite_write_1") {
        report_pair("sqlite_write_1", (0..runs).map(|_| write_run(1, one)).collect());
    }
    if wanted("sqlite_write_16") {
        report_pair("sqlite_write_16", (0..runs).map(|_| write_run(16, many)).collect());
    }
    // The `record_pages` workloads write about as many WAL pages per row
    // as a 2 KB record costs the store: 22 pages of its 2 KB when written
    // alone, 7 when committed with 15 others (records in one commit share
    // the pages their index entries land on).
    for (workload, per_commit, row_bytes, page_bytes) in [
        ("sqlite_floor_commit_1", 1, 2048, 4096),
        ("sqlite_floor_commit_16", 16, 2048, 4096),
        ("sqlite_floor_commit_1_record_pages", 1, 40 * 1024, 2048),
        ("sqlite_floor_commit_16_record_pages", 16, 13 * 1024, 2048),
    ] {
        if wanted(workload) {
            let values = (0..runs)
                .map(|_| commit_floor_run(per_commit, one, row_bytes, page_bytes))
                .collect();
            report(workload, values, "rows/s");
        }
    }
    if !wanted("sqlite_verify_all") && !wanted("sqlite_page_1000_slowest_filter") {
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = filled_store(&dir, filled);
    let key = SigningKey::new(SECRET).expect("a key");
    if wanted("sqlite_verify_all") {
        report_pair("sqlite_verify_all", (0..runs).map(|_| verify_all_run(&store, &key)).collect());
    }
    if wanted("sqlite_page_1000_slowest_filter") {
        let pages: Vec<(f64, &str)> = (0..runs).map(|_| page_run(&store)).collect();
        let names: Vec<&str> = pages.iter().map(|(_, name)| *name).collect();
        let values = pages.iter().map(|(ms, _)| *ms).collect();
        report("sqlite_page_1000_slowest_filter", values, "ms");
        writeln!(std::io::stderr(), "slowest filter per run: {}", names.join(", "))
            .expect("stderr");
    }
}
