//! `verify`: a text against its record (hash and signature), or with
//! `--all` the signature of every stored record that matches the filters.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
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
    let store = settings.open_existing_store()?;
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

/// Below this many records one thread does all the work.
const PARALLEL_FROM: u64 = 1_000;

fn run_all(args: &VerifyArgs, settings: &Settings, out: &mut dyn Write) -> Result<(), CliError> {
    let config = settings.config()?;
    let store = settings.open_existing_store()?;
    let query = query_from(&args.filters, None);
    let total = matching(store.as_ref(), &query)?;
    let progress = Progress::start(total);

    let started = Instant::now();
    let (checked, mut failures) =
        verify_all(store.as_ref(), &query, total, config.signing_key(), &progress)?;
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

/// How many records the walk will visit: the matches after the offset, at
/// most the limit.
fn matching(store: &dyn RecordStore, query: &RecordQuery) -> Result<u64, CliError> {
    let count = RecordQuery { limit: Some(0), offset: 0, ..query.clone() };
    let total = store.query(&count)?.total_count.saturating_sub(query.offset);
    Ok(query.limit.map_or(total, |limit| total.min(limit)))
}

/// Splits the walk into one contiguous range of the query's order per
/// core; each thread reads its range through its own connection and checks
/// the signatures as they come. Returns how many records were checked and
/// the failures.
///
/// The last range has no upper bound, so records added during the walk
/// after its start are checked too.
fn verify_all(
    store: &dyn RecordStore,
    query: &RecordQuery,
    total: u64,
    key: &SigningKey,
    progress: &Progress,
) -> Result<(u64, Vec<Failure>), CliError> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
    let parts = if total < PARALLEL_FROM { 1 } else { cores.clamp(1, 16) };
    let chunk = total.div_ceil(parts).max(1);

    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..parts)
            .map(|part| {
                let first = part * chunk;
                let range = RecordQuery {
                    offset: query.offset + first,
                    limit: if part + 1 == parts {
                        query.limit.map(|limit| limit.saturating_sub(first))
                    } else {
                        Some(chunk)
                    },
                    ..query.clone()
                };
                scope.spawn(move || {
                    let mut failures = Vec::new();
                    let mut seen = 0u64;
                    let walked = store.for_each(&range, &mut |row| {
                        if let Some(failure) = check(first + seen, row, key) {
                            failures.push(failure);
                        }
                        seen += 1;
                        if seen.is_multiple_of(1024) {
                            progress.advance(1024);
                        }
                    });
                    progress.advance(seen % 1024);
                    walked.map(|_| (seen, failures))
                })
            })
            .collect();

        let mut checked = 0;
        let mut failures = Vec::new();
        for handle in handles {
            let Ok(result) = handle.join() else {
                return Err(CliError::failure("a verifying thread failed"));
            };
            let (seen, mut found) = result?;
            checked += seen;
            failures.append(&mut found);
        }
        Ok((checked, failures))
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
    fn start(total: u64) -> Progress {
        Progress {
            total,
            done: AtomicU64::new(0),
            enabled: std::io::stderr().is_terminal(),
            started: Instant::now(),
            last_drawn_ms: AtomicU64::new(0),
        }
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

#[cfg(test)]
mod tests {
    use aistamp_core::{Record, SignedRecord, Timestamp};
    use aistamp_store_sqlite::SqliteStore;

    use super::*;

    #[test]
    fn parallel_ranges_cover_every_record_once_and_keep_the_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_path(dir.path().join("v.db")).unwrap();
        let key = SigningKey::new("a-test-secret-that-is-long-enough-0123").unwrap();
        let base = Timestamp::parse("2025-01-01").unwrap();
        let count = 2_501u64;
        let bad = [7u64, 1_300, 2_500];

        // Concurrent writers commit together, which keeps this quick.
        std::thread::scope(|scope| {
            for lane in 0..8u64 {
                let (store, key) = (&store, &key);
                scope.spawn(move || {
                    for i in (lane..count).step_by(8) {
                        let mut record = Record::new("app", "f", "u", "m", "prompt");
                        record.content_id = format!("id-{i:05}");
                        record.timestamp = base.checked_add_micros(i as i64).unwrap();
                        let mut signature = key.sign(&record);
                        if bad.contains(&i) {
                            signature = key.sign(&Record::new("x", "y", "z", "m", "other"));
                        }
                        store.write(SignedRecord { record, signature }).unwrap();
                    }
                });
            }
        });

        let query = RecordQuery::default();
        let total = matching(&store, &query).unwrap();
        assert_eq!(total, count);
        let (checked, mut failures) =
            verify_all(&store, &query, total, &key, &Progress::start(total)).unwrap();
        failures.sort_by_key(|f| f.index);
        assert_eq!(checked, count);
        let ids: Vec<&str> = failures.iter().map(|f| f.content_id.as_str()).collect();
        assert_eq!(ids, ["id-00007", "id-01300", "id-02500"]);
        assert_eq!(failures[1].index, 1_300);

        // An offset and a limit narrow the ranges the same way.
        let narrow = RecordQuery { offset: 1_000, limit: Some(1_400), ..RecordQuery::default() };
        let total = matching(&store, &narrow).unwrap();
        assert_eq!(total, 1_400);
        let (checked, failures) =
            verify_all(&store, &narrow, total, &key, &Progress::start(total)).unwrap();
        assert_eq!(checked, 1_400);
        assert_eq!(failures.len(), 1);
    }
}
