//! Writes N signed, varied provenance records into a database, for
//! benchmarks of the CLI: `gen_db DATABASE_URL N` for sqlite: or postgres: URLs (secret from
//! `AISTAMP_SECRET_KEY`).

#![allow(clippy::print_stdout, clippy::print_stderr)] // A command-line example reports on the terminal.

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

use aistamp_core::{
    LatencyMs, PiiMatch, PiiResult, PolicyAction, PolicyDecision, Record, RecordStore, Severity,
    SignedRecord, SigningKey, Status, StoreError, Timestamp, sha256_hex,
};
use aistamp_store_pg::BlockingPgStore;
use aistamp_store_sqlite::SqliteStore;

const WRITERS: u64 = 16;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(url), Some(count)) = (args.first(), args.get(1).and_then(|n| n.parse::<u64>().ok()))
    else {
        eprintln!("usage: gen_db DATABASE_URL N   (secret from AISTAMP_SECRET_KEY)");
        return ExitCode::from(2);
    };
    let secret = std::env::var("AISTAMP_SECRET_KEY")
        .unwrap_or_else(|_| "benchmark-secret-key-of-at-least-32-bytes".into());
    let key = match SigningKey::new(&secret) {
        Ok(key) => key,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(2);
        }
    };
    let store = match open(url) {
        Ok(store) => store,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(1);
        }
    };
    let store = store.as_ref();

    // Concurrent writers let the store commit many records per transaction.
    let next = AtomicU64::new(0);
    let failed = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..WRITERS)
            .map(|_| {
                scope.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= count {
                            return None;
                        }
                        let record = sample_record(i);
                        let signature = key.sign(&record);
                        if let Err(err) = store.write(SignedRecord { record, signature }) {
                            return Some(err.to_string());
                        }
                    }
                })
            })
            .collect();
        workers.into_iter().find_map(|w| w.join().ok().flatten())
    });
    if let Some(err) = failed {
        eprintln!("error: {err}");
        return ExitCode::from(1);
    }
    println!("wrote {count} records to {url}");
    // One record to verify, as a JSON line for the benchmark runner.
    if count > 0 {
        let sample = sample_record(count / 2);
        let text = format!("response number {}", count / 2);
        println!(r#"{{"content_id":"{}","text":"{text}"}}"#, sample.content_id);
    }
    ExitCode::SUCCESS
}

/// The store at `url`: SQLite, or PostgreSQL (migrated first).
fn open(url: &str) -> Result<Box<dyn RecordStore>, StoreError> {
    if url.starts_with("postgres") {
        let store = BlockingPgStore::connect(url)?;
        store.migrate()?;
        return Ok(Box::new(store));
    }
    Ok(Box::new(SqliteStore::open(url)?))
}

/// Record number `i`: fields cycle through a few apps, models, users and
/// outcomes; one record a minute from 2025-01-01.
fn sample_record(i: u64) -> Record {
    const APPS: [&str; 4] = ["billing", "support", "search", "hr"];
    const MODELS: [&str; 3] = ["gpt-4o", "claude-3-5-sonnet-20241022", "local-llama"];
    let prompt = format!("prompt number {i}: summarize the quarterly report");
    let mut record = Record::new(
        APPS[(i % 4) as usize],
        format!("feature_{}", i % 7),
        format!("user_{}", i % 101),
        MODELS[(i % 3) as usize],
        &prompt,
    );
    record.content_id =
        format!("{:08x}-0000-4000-8000-{:012x}", i.wrapping_mul(2_654_435_761) as u32, i);
    record.response_hash = Some(sha256_hex(&format!("response number {i}")));
    record.prompt_tokens = Some(10 + (i % 50) as i64);
    record.response_tokens = Some(100 + (i % 400) as i64);
    record.latency_ms = LatencyMs::new(50.0 + (i % 1000) as f64 * 0.75).ok();
    let base = Timestamp::parse("2025-01-01T00:00:00Z").map_or(0, Timestamp::unix_micros);
    record.timestamp = Timestamp::from_unix_micros(base + i as i64 * 60_000_000)
        .unwrap_or_else(|_| Timestamp::now());
    let with_pii = i.is_multiple_of(5);
    if with_pii {
        let severity = [Severity::Low, Severity::Medium, Severity::High][(i % 3) as usize];
        let found = PiiMatch {
            pattern_name: ["IP_ADDRESS", "EMAIL", "SSN"][(i % 3) as usize].into(),
            severity,
            start: 12,
            end: 23,
            redacted_snippet: "contact [REDACTED] today".into(),
        };
        record.pii_result = Some(PiiResult::from_matches(vec![found], vec![]));
    } else {
        record.pii_result = Some(PiiResult::from_matches(vec![], vec![]));
    }
    let (status, action, rule) = match i % 20 {
        0 => (Status::Blocked, PolicyAction::Block, Some("block_high_pii")),
        1 => (Status::Error, PolicyAction::Allow, None),
        2 | 3 => (Status::Completed, PolicyAction::Warn, Some("warn_unapproved")),
        _ => (Status::Completed, PolicyAction::Allow, None),
    };
    record.status = status;
    let reason = match rule {
        Some(rule) => format!("Rule '{rule}' matched: {action}"),
        None => "No matching rule. Default action applied.".into(),
    };
    record.policy_decision =
        Some(PolicyDecision { action, rule_name: rule.map(str::to_string), reason: Some(reason) });
    record
}
