//! `verify`: a text against its record (hash and signature), or with
//! `--all` the signature of every stored record that matches the filters.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use aistamp_core::{
    RecordQuery, RecordStore, SigningKey, StoreError, StoredRecord, VerificationResult,
    verify_record,
};

use crate::cli::{TextOrJson, VerifyArgs};
use crate::cmd::report::query_from;
use crate::error::{CliError, EXIT_FAILURE};
use crate::input::{arg_text, read_text};
use crate::json::Json;
use crate::settings::Settings;
use crate::write_error;

pub(crate) fn run(
    args: VerifyArgs,
    settings: &Settings,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    if args.all {
        return run_all(&args, settings, out);
    }
    if filters_given(&args) {
        return Err(CliError::usage(
            "the report filters (--from, --status, --limit, ...) apply only to verify --all",
        ));
    }
    let Some(content_id) = args.content_id.as_deref() else {
        return Err(CliError::usage("verify needs --content-id ID, or --all"));
    };
    let text = match (&args.text, &args.text_file) {
        (Some(text), _) => arg_text("--text", text)?,
        (None, Some(path)) => read_text("--text-file", path)?,
        (None, None) => {
            return Err(CliError::usage(
                "verify needs the current text: --text TEXT or --text-file PATH ('-' for stdin)",
            ));
        }
    };

    let config = settings.config()?;
    let store = settings.open_store()?;
    let result = verify_record(content_id, &text, store.as_ref(), config.signing_key())?;
    let printed = match args.format {
        TextOrJson::Text => result_text(&result),
        TextOrJson::Json => result_json(&result).to_pretty() + "\n",
    };
    out.write_all(printed.as_bytes()).map_err(write_error)?;
    if result.verified { Ok(()) } else { Err(CliError::silent(EXIT_FAILURE)) }
}

fn filters_given(args: &VerifyArgs) -> bool {
    let f = &args.filters;
    f.from.is_some()
        || f.to.is_some()
        || f.model.is_some()
        || f.user_id.is_some()
        || f.app_id.is_some()
        || f.feature_id.is_some()
        || f.status.is_some()
        || f.pii_severity.is_some()
        || f.policy_decision.is_some()
        || f.limit.is_some()
        || f.offset.is_some()
}

fn yes_no(value: bool) -> &'static str {
    if value { "YES" } else { "NO" }
}

/// The reference's text form of a verification.
fn result_text(result: &VerificationResult) -> String {
    format!(
        "content_id:     {}\nverified:       {}\nhash_match:     {}\nhmac_valid:     {}\n\
         drift_detected: {}\noriginal_hash:  {}\ncurrent_hash:   {}\n",
        result.content_id,
        yes_no(result.verified),
        yes_no(result.hash_match),
        yes_no(result.hmac_valid),
        yes_no(result.drift_detected),
        result.original_hash,
        result.current_hash,
    )
}

fn result_json(result: &VerificationResult) -> Json {
    Json::Object(vec![
        ("content_id", Json::Str(result.content_id.clone())),
        ("verified", Json::Bool(result.verified)),
        ("hash_match", Json::Bool(result.hash_match)),
        ("hmac_valid", Json::Bool(result.hmac_valid)),
        ("drift_detected", Json::Bool(result.drift_detected)),
        ("original_hash", Json::Str(result.original_hash.clone())),
        ("current_hash", Json::Str(result.current_hash.clone())),
    ])
}

/// A record whose signature does not hold, and why.
#[derive(Debug)]
struct Failure {
    /// Position in the walk, to report failures in the query's order.
    index: u64,
    content_id: String,
    reason: String,
}

/// Records travel to the verifying threads in batches of this many.
const BATCH: usize = 2048;

fn run_all(args: &VerifyArgs, settings: &Settings, out: &mut dyn Write) -> Result<(), CliError> {
    let config = settings.config()?;
    let store = settings.open_store()?;
    let query = query_from(&args.filters, None);
    let progress = Progress::start(store.as_ref(), &query)?;

    let started = Instant::now();
    let (checked, mut failures) =
        verify_all(store.as_ref(), &query, config.signing_key(), &progress)?;
    progress.finish();
    failures.sort_by_key(|f| f.index);
    tracing::debug!(checked, elapsed_ms = started.elapsed().as_millis() as u64, "verified all");

    let invalid = failures.len() as u64;
    let printed = match args.format {
        TextOrJson::Text => {
            let mut text = format!(
                "records checked:    {checked}\nsignatures valid:   {}\nsignatures invalid: {invalid}\n",
                checked - invalid
            );
            for failure in &failures {
                text.push_str(&format!("FAILED {}: {}\n", failure.content_id, failure.reason));
            }
            text
        }
        TextOrJson::Json => {
            let count = |n: u64| Json::Int(i64::try_from(n).unwrap_or(i64::MAX));
            let list = failures
                .iter()
                .map(|f| {
                    Json::Object(vec![
                        ("content_id", Json::Str(f.content_id.clone())),
                        ("reason", Json::Str(f.reason.clone())),
                    ])
                })
                .collect();
            let summary = Json::Object(vec![
                ("checked", count(checked)),
                ("valid", count(checked - invalid)),
                ("invalid", count(invalid)),
                ("failures", Json::Array(list)),
            ]);
            summary.to_pretty() + "\n"
        }
    };
    out.write_all(printed.as_bytes()).map_err(write_error)?;
    if failures.is_empty() { Ok(()) } else { Err(CliError::silent(EXIT_FAILURE)) }
}

/// Walks the store on this thread and checks signatures on worker
/// threads; returns how many records were checked and the failures.
fn verify_all(
    store: &dyn RecordStore,
    query: &RecordQuery,
    key: &SigningKey,
    progress: &Progress,
) -> Result<(u64, Vec<Failure>), CliError> {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 16);
    let (sender, receiver) =
        mpsc::sync_channel::<Vec<(u64, Result<StoredRecord, StoreError>)>>(workers * 2);
    let receiver = std::sync::Mutex::new(receiver);

    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut failures = Vec::new();
                    loop {
                        // The lock is held only while taking one batch.
                        let batch = match receiver.lock() {
                            Ok(guard) => guard.recv(),
                            Err(_) => break,
                        };
                        let Ok(batch) = batch else { break };
                        let size = batch.len() as u64;
                        for (index, row) in batch {
                            if let Some(failure) = check(index, row, key) {
                                failures.push(failure);
                            }
                        }
                        progress.advance(size);
                    }
                    failures
                })
            })
            .collect();

        let mut index = 0u64;
        let mut batch = Vec::with_capacity(BATCH);
        let walked = store.for_each(query, &mut |row| {
            batch.push((index, row));
            index += 1;
            if batch.len() == BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                let _ = sender.send(full);
            }
        });
        if !batch.is_empty() {
            let _ = sender.send(batch);
        }
        drop(sender);

        let mut failures = Vec::new();
        for handle in handles {
            match handle.join() {
                Ok(mut found) => failures.append(&mut found),
                Err(_) => return Err(CliError::failure("a verifying thread failed")),
            }
        }
        walked?;
        Ok((index, failures))
    })
}

fn check(index: u64, row: Result<StoredRecord, StoreError>, key: &SigningKey) -> Option<Failure> {
    let stored = match row {
        Ok(stored) => stored,
        Err(StoreError::InvalidRow { content_id, reason }) => {
            return Some(Failure {
                index,
                content_id,
                reason: format!("unreadable row: {reason}"),
            });
        }
        Err(other) => {
            return Some(Failure { index, content_id: String::new(), reason: other.to_string() });
        }
    };
    let reason = match stored.signature.as_deref() {
        None => "no signature stored",
        Some(signature) if key.verify(&stored.record, signature) => return None,
        Some(_) => "signature does not match the record",
    };
    Some(Failure { index, content_id: stored.record.content_id, reason: reason.into() })
}

/// A progress bar on stderr, drawn only when stderr is a terminal.
#[derive(Debug)]
struct Progress {
    total: u64,
    done: AtomicU64,
    enabled: bool,
    started: Instant,
    last_drawn_ms: AtomicU64,
}

impl Progress {
    fn start(store: &dyn RecordStore, query: &RecordQuery) -> Result<Progress, CliError> {
        let enabled = std::io::stderr().is_terminal();
        let total = if enabled {
            // Counting costs one query; only worth it when someone watches.
            let count = RecordQuery { limit: Some(0), ..query.clone() };
            let total = store.query(&count)?.total_count.saturating_sub(query.offset);
            query.limit.map_or(total, |limit| total.min(limit))
        } else {
            0
        };
        Ok(Progress {
            total,
            done: AtomicU64::new(0),
            enabled,
            started: Instant::now(),
            last_drawn_ms: AtomicU64::new(0),
        })
    }

    fn advance(&self, count: u64) {
        let done = self.done.fetch_add(count, Ordering::Relaxed) + count;
        if !self.enabled {
            return;
        }
        let now = self.started.elapsed().as_millis() as u64;
        let last = self.last_drawn_ms.load(Ordering::Relaxed);
        if now.saturating_sub(last) < 100
            || self
                .last_drawn_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        self.draw(done);
    }

    fn draw(&self, done: u64) {
        const WIDTH: u64 = 30;
        let total = self.total.max(1);
        let filled = (done.min(total) * WIDTH / total) as usize;
        let bar = format!("{}{}", "#".repeat(filled), "-".repeat(WIDTH as usize - filled));
        let mut stderr = std::io::stderr().lock();
        let _ = write!(stderr, "\rverifying [{bar}] {done}/{}", self.total);
        let _ = stderr.flush();
    }

    fn finish(&self) {
        if self.enabled && self.started.elapsed() > Duration::from_millis(100) {
            self.draw(self.done.load(Ordering::Relaxed));
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(stderr);
        }
    }
}
