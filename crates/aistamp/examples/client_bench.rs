//! Measures the stamping client and prints one JSON line per workload:
//! `{"workload", "value", "unit", "runs"}`. Run with `cargo run --release
//! -p aistamp --example client_bench [--features postgres] -- [--quick] [--database-url postgres://...]`.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark reports on the terminal"
)]

use std::sync::Arc;
use std::time::Instant;

use aistamp::core::{
    PolicyAction, QueryPage, RecordQuery, RecordStore, Severity, SignedRecord, StoreError,
    StoredRecord,
};
use aistamp::policy::{PolicyEngine, Rule};
use aistamp::store_sqlite::SqliteStore;
use aistamp::{AsyncProvenanceClient, AsyncProvider, Config, ProvenanceClient, Provider, from_fn};

const SECRET: &str = "client-bench-secret-0123456789abcdef";

/// About 500 bytes of prompt, with one email address, as in the reference's
/// measurements.
fn prompt() -> String {
    let text = "Please summarize the following customer conversation for the weekly support \
        report. The customer wrote in on Tuesday about a billing discrepancy on their March \
        invoice, asked for a breakdown of the usage charges, and mentioned that their finance \
        team (reachable at finance-team@example.com) needs the corrected invoice before the \
        end of the month. Our agent explained the metering window, issued a partial credit and \
        promised a follow-up. Keep the summary under one hundred words and neutral in tone, \
        please.";
    fit(text, 500)
}

/// About 1,500 bytes of plain response prose.
fn response() -> String {
    let text = "The customer contacted support on Tuesday regarding a billing discrepancy on the \
        March invoice. They requested an itemized breakdown of usage charges because the total \
        was higher than expected. The support agent reviewed the account, explained how the \
        metering window works across calendar months, and identified that part of February's \
        usage had been billed in March. A partial credit was issued to correct the overlap, and \
        the agent committed to sending a corrected invoice. The customer's finance team needs \
        the corrected document before the end of the month to close their books. ";
    fit(&text.repeat(4), 1500)
}

/// `text` cut to `len` bytes at a character boundary.
fn fit(text: &str, len: usize) -> String {
    let mut out = String::with_capacity(len);
    for c in text.chars().cycle() {
        if out.len() + c.len_utf8() > len {
            break;
        }
        out.push(c);
    }
    out
}

fn policy() -> PolicyEngine {
    PolicyEngine::builder()
        .tier("approved", ["echo-1"])
        .rule(Rule::new("block_high_pii", PolicyAction::Block).when_pii_severity(Severity::High))
        .rule(Rule::new("warn_unapproved", PolicyAction::Warn).when_model_tier("unapproved"))
        .build()
        .unwrap_or_else(|e| panic!("the bench policy is valid: {e}"))
}

/// A store that keeps nothing, to measure the pipeline without the write.
#[derive(Debug)]
struct Discard;

impl RecordStore for Discard {
    fn write(&self, record: SignedRecord) -> Result<(), StoreError> {
        std::hint::black_box(record);
        Ok(())
    }

    fn get(&self, _content_id: &str) -> Result<Option<StoredRecord>, StoreError> {
        Ok(None)
    }

    fn query(&self, _query: &RecordQuery) -> Result<QueryPage, StoreError> {
        Ok(QueryPage { records: Vec::new(), total_count: 0 })
    }

    fn for_each(
        &self,
        _query: &RecordQuery,
        _visit: &mut dyn FnMut(Result<StoredRecord, StoreError>),
    ) -> Result<u64, StoreError> {
        Ok(0)
    }
}

fn report(workload: &str, value: f64, unit: &str, runs: usize) {
    let line =
        serde_json::json!({"workload": workload, "value": value, "unit": unit, "runs": runs});
    println!("{line}");
}

fn echo_model() -> impl Provider + AsyncProvider + 'static {
    let reply = Arc::new(response());
    from_fn(move |_: &str| Ok::<_, String>(String::clone(&reply)))
}

fn sync_client<S: RecordStore + 'static>(store: S) -> ProvenanceClient<impl Provider> {
    ProvenanceClient::builder(echo_model(), Config::new(SECRET).unwrap_or_else(|e| panic!("{e}")))
        .app_id("bench")
        .feature_id("summaries")
        .user_id("user_42")
        .policy(policy())
        .store(store)
        .build()
        .unwrap_or_else(|e| panic!("cannot build the client: {e}"))
}

/// Microseconds per stamped call, with an echo model and no store: the
/// median over `rounds` rounds of `calls` calls.
fn stamp_overhead(calls: usize, rounds: usize) {
    let client = sync_client(Discard);
    let prompt = prompt();
    for _ in 0..calls / 4 {
        client.chat(&prompt, "echo-1").unwrap_or_else(|e| panic!("{e}"));
    }
    let mut per_call: Vec<f64> = (0..rounds)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..calls {
                std::hint::black_box(
                    client.chat(&prompt, "echo-1").unwrap_or_else(|e| panic!("{e}")),
                );
            }
            started.elapsed().as_secs_f64() * 1e6 / calls as f64
        })
        .collect();
    per_call.sort_by(f64::total_cmp);
    report("stamp_overhead", per_call[rounds / 2], "us", calls * rounds);
}

/// Calls per second from `threads` threads sharing one client.
fn stamp_sync<S: RecordStore + 'static>(workload: &str, store: S, threads: usize, calls: usize) {
    let client = sync_client(store);
    let prompt = prompt();
    let per_thread = calls / threads;
    client.chat(&prompt, "echo-1").unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let client = client.clone();
            let prompt = &prompt;
            scope.spawn(move || {
                for _ in 0..per_thread {
                    client.chat(prompt, "echo-1").unwrap_or_else(|e| panic!("{e}"));
                }
            });
        }
    });
    let done = per_thread * threads;
    report(workload, done as f64 / started.elapsed().as_secs_f64(), "calls/s", done);
}

/// Calls per second from `tasks` tasks on a two-worker Tokio runtime.
fn stamp_sqlite_async(store: SqliteStore, tasks: usize, calls: usize) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("cannot start a runtime: {e}"));
    let per_task = calls / tasks;
    let elapsed = runtime.block_on(async {
        let client = AsyncProvenanceClient::builder(
            echo_model(),
            Config::new(SECRET).unwrap_or_else(|e| panic!("{e}")),
        )
        .app_id("bench")
        .feature_id("summaries")
        .user_id("user_42")
        .policy(policy())
        .store(store)
        .build()
        .await
        .unwrap_or_else(|e| panic!("cannot build the client: {e}"));
        let prompt = Arc::new(prompt());
        client.chat(&prompt, "echo-1").await.unwrap_or_else(|e| panic!("{e}"));
        let started = Instant::now();
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let client = client.clone();
                let prompt = Arc::clone(&prompt);
                tokio::spawn(async move {
                    for _ in 0..per_task {
                        client.chat(&prompt, "echo-1").await.unwrap_or_else(|e| panic!("{e}"));
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap_or_else(|e| panic!("a task failed: {e}"));
        }
        started.elapsed()
    });
    let done = per_task * tasks;
    report(
        &format!("stamp_sqlite_async_{tasks}"),
        done as f64 / elapsed.as_secs_f64(),
        "calls/s",
        done,
    );
}

#[cfg(feature = "postgres")]
fn stamp_pg(url: &str, calls: usize) {
    let store = aistamp::store_pg::BlockingPgStore::connect(url)
        .unwrap_or_else(|e| panic!("cannot connect to PostgreSQL: {e}"));
    store.migrate().unwrap_or_else(|e| panic!("cannot migrate: {e}"));
    stamp_sync("stamp_pg_sync_16", store, 16, calls);
}

#[cfg(not(feature = "postgres"))]
fn stamp_pg(_url: &str, _calls: usize) {
    eprintln!("stamp_pg_sync_16 skipped: build with --features postgres");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let database_url =
        args.iter().position(|a| a == "--database-url").and_then(|i| args.get(i + 1)).cloned();
    let scale = |full: usize, short: usize| if quick { short } else { full };

    stamp_overhead(scale(20_000, 2_000), scale(7, 3));

    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("cannot make a temp dir: {e}"));
    let open = |name: &str| {
        SqliteStore::open_path(dir.path().join(name)).unwrap_or_else(|e| panic!("cannot open: {e}"))
    };
    stamp_sync("stamp_sqlite_sync_1", open("sync1.db"), 1, scale(3_000, 300));
    stamp_sync("stamp_sqlite_sync_16", open("sync16.db"), 16, scale(32_000, 3_200));
    stamp_sqlite_async(open("async64.db"), 64, scale(32_000, 3_200));
    if let Some(url) = database_url {
        stamp_pg(&url, scale(16_000, 1_600));
    }
}
