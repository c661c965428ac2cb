//! Group commit: one thread owns the writing connection and commits every
//! write that is waiting, in one transaction, then answers each writer.
//!
//! Writers hand over a rendered row and a reply channel, blocking (a std
//! channel) or async (a tokio oneshot, so that the runtime never blocks),
//! and wait for the commit that holds their row. While one commit is being
//! written to disk the next writers queue up, so throughput grows with the
//! number of concurrent writers while every acknowledgement stays durable.
//!
//! Copying the WAL back into the database file (a checkpoint) is left to a
//! second thread with its own connection, so that its writes and flushes do
//! not delay acknowledgements; SQLite lets it run beside the writer.

use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use aistamp_core::StoreError;
use rusqlite::Connection;
use tracing::{debug, trace, warn};

use crate::error::{classify, duplicate, is_unique_violation};
use crate::row::{INSERT_SQL, RowValues};

/// The most rows one transaction takes.
const MAX_BATCH: usize = 1024;

/// How long the writer waits for one more write when fewer writers are
/// waiting than joined the previous commit. Concurrent writers come back
/// at slightly different moments after their acknowledgement; waiting this
/// long for them turns many small commits into a few large ones. A lone
/// writer never waits, since its previous commit held only its own row.
const GATHER_WAIT: Duration = Duration::from_micros(250);

/// Commits between two background checkpoints.
const COMMITS_PER_CHECKPOINT: u32 = 32;

/// A commit slower than this is logged as slow.
const SLOW_COMMIT: Duration = Duration::from_secs(1);

/// Where a writer waits for its answer.
#[derive(Debug)]
pub(crate) enum Reply {
    /// A thread blocked in [`RecordStore::write`](aistamp_core::RecordStore::write).
    Blocking(SyncSender<Result<(), StoreError>>),
    /// A task awaiting [`AsyncRecordStore::write`](aistamp_core::AsyncRecordStore::write).
    Async(tokio::sync::oneshot::Sender<Result<(), StoreError>>),
}

impl Reply {
    fn send(self, result: Result<(), StoreError>) {
        // A writer that stopped waiting (a dropped future) needs no answer.
        match self {
            Reply::Blocking(sender) => drop(sender.send(result)),
            Reply::Async(sender) => drop(sender.send(result)),
        }
    }
}

/// One row to write and where to answer.
#[derive(Debug)]
pub(crate) struct WriteRequest {
    pub(crate) row: RowValues,
    pub(crate) reply: Reply,
}

/// The writer thread and the queue to it. Dropping it lets the thread
/// finish what is queued and waits for it.
#[derive(Debug)]
pub(crate) struct Writer {
    queue: Option<Sender<WriteRequest>>,
    thread: Option<JoinHandle<()>>,
    checkpointer: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts the writer thread on `conn`, and the checkpoint thread on
    /// `checkpoint_conn` when there is one (a database in memory has none).
    pub(crate) fn start(
        conn: Arc<Mutex<Connection>>,
        checkpoint_conn: Option<Connection>,
    ) -> Result<Writer, StoreError> {
        let cannot_start = |err: std::io::Error| StoreError::Unavailable {
            message: format!("cannot start the store's threads: {err}"),
        };
        let (nudge, nudges) = mpsc::sync_channel(1);
        let checkpointer = match checkpoint_conn {
            Some(checkpoint_conn) => Some(
                thread::Builder::new()
                    .name("sqlite-checkpt".to_string())
                    .spawn(move || checkpoint(&checkpoint_conn, &nudges))
                    .map_err(cannot_start)?,
            ),
            None => None,
        };
        let (queue, requests) = mpsc::channel();
        let thread = thread::Builder::new()
            .name("sqlite-writer".to_string())
            .spawn(move || run(&conn, &requests, &nudge))
            .map_err(cannot_start)?;
        Ok(Writer { queue: Some(queue), thread: Some(thread), checkpointer })
    }

    /// Queues a write; the answer comes through the request's reply.
    pub(crate) fn submit(&self, request: WriteRequest) -> Result<(), StoreError> {
        let queue = self.queue.as_ref().ok_or_else(stopped)?;
        queue.send(request).map_err(|_| stopped())
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        drop(self.queue.take());
        // The writer ends when its queue closes; the checkpointer when the
        // writer's end closes its nudges.
        for thread in [self.thread.take(), self.checkpointer.take()].into_iter().flatten() {
            drop(thread.join());
        }
    }
}

/// The error for a writer whose thread is gone.
pub(crate) fn stopped() -> StoreError {
    StoreError::Unavailable { message: "the store's writer thread has stopped".to_string() }
}

/// Locks a connection, also after a panic elsewhere: the connection itself
/// stays consistent, as SQLite rolls back what was not committed.
pub(crate) fn lock(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn run(conn: &Mutex<Connection>, requests: &Receiver<WriteRequest>, nudge: &SyncSender<()>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut previous_len = 1;
    let mut commits = 0u32;
    while let Ok(first) = requests.recv() {
        batch.push(first);
        gather(requests, &mut batch, previous_len);
        previous_len = batch.len();

        let started = Instant::now();
        let outcome = insert_all(&lock(conn), &batch);
        let elapsed = started.elapsed();
        if elapsed > SLOW_COMMIT {
            warn!(rows = batch.len(), ?elapsed, "slow sqlite commit");
        } else {
            trace!(rows = batch.len(), ?elapsed, "sqlite commit");
        }

        commits += 1;
        if commits.is_multiple_of(COMMITS_PER_CHECKPOINT) {
            // A checkpoint already due needs no second nudge.
            let _ = nudge.try_send(());
        }

        match outcome {
            Ok(results) => {
                for (request, result) in batch.drain(..).zip(results) {
                    request.reply.send(result);
                }
            }
            Err(err) => {
                warn!(rows = batch.len(), error = %err, "sqlite commit failed");
                for request in batch.drain(..) {
                    request.reply.send(Err(duplicate(&err)));
                }
            }
        }
    }
}

/// Adds the waiting writes to `batch`, and waits briefly for more while it
/// holds fewer than the previous commit did.
fn gather(requests: &Receiver<WriteRequest>, batch: &mut Vec<WriteRequest>, previous_len: usize) {
    while batch.len() < MAX_BATCH {
        let next = match requests.try_recv() {
            Ok(request) => Some(request),
            Err(_) if batch.len() >= previous_len => None,
            Err(_) => requests.recv_timeout(GATHER_WAIT).ok(),
        };
        match next {
            Some(request) => batch.push(request),
            None => return,
        }
    }
}

/// Copies the WAL into the database whenever the writer asks, without
/// blocking writers or readers (a passive checkpoint). Failures are only
/// logged: the writer checkpoints by itself past a bound.
fn checkpoint(conn: &Connection, nudges: &Receiver<()>) {
    while nudges.recv().is_ok() {
        let started = Instant::now();
        match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            Ok(()) => trace!(elapsed = ?started.elapsed(), "sqlite checkpoint"),
            Err(err) => debug!(error = %err, "sqlite checkpoint skipped"),
        }
    }
}

/// Inserts the batch in one transaction. A duplicate content id fails only
/// its own row (SQLite undoes just that statement); any other failure
/// rolls back the transaction and fails the whole batch.
fn insert_all(
    conn: &Connection,
    batch: &[WriteRequest],
) -> Result<Vec<Result<(), StoreError>>, StoreError> {
    conn.execute_batch("BEGIN IMMEDIATE").map_err(|err| classify(&err))?;
    let result = insert_rows(conn, batch).and_then(|results| {
        conn.execute_batch("COMMIT")?;
        Ok(results)
    });
    if result.is_err() && !conn.is_autocommit() {
        // The error being reported is the one that matters.
        drop(conn.execute_batch("ROLLBACK"));
    }
    result.map_err(|err| classify(&err))
}

fn insert_rows(
    conn: &Connection,
    batch: &[WriteRequest],
) -> rusqlite::Result<Vec<Result<(), StoreError>>> {
    let mut statement = conn.prepare_cached(INSERT_SQL)?;
    let mut results = Vec::with_capacity(batch.len());
    for request in batch {
        match request.row.insert(&mut statement) {
            Ok(()) => results.push(Ok(())),
            Err(err) if is_unique_violation(&err) => {
                let content_id = request.row.record.content_id.clone();
                results.push(Err(StoreError::DuplicateContentId { content_id }));
            }
            Err(err) => return Err(err),
        }
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aistamp_core::{Record, SignedRecord, SigningKey};

    fn request(content_id: &str) -> (WriteRequest, mpsc::Receiver<Result<(), StoreError>>) {
        let key = SigningKey::new("writer-test-secret-0123456789abcdef0123").unwrap();
        let mut record = Record::new("app", "feature", "user", "model", "prompt");
        record.content_id = content_id.to_string();
        let signature = key.sign(&record);
        let row = RowValues::new(SignedRecord { record, signature }).unwrap();
        let (reply, answer) = mpsc::sync_channel(1);
        (WriteRequest { row, reply: Reply::Blocking(reply) }, answer)
    }

    fn migrated() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::migrate::migrate(&mut conn).unwrap();
        conn
    }

    fn count(conn: &Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM provenance_records", [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn a_duplicate_in_a_batch_fails_alone() {
        let conn = migrated();
        let batch: Vec<_> = ["a", "a", "b"].map(|id| request(id).0).into_iter().collect();
        let results = insert_all(&conn, &batch).unwrap();
        assert!(results[0].is_ok() && results[2].is_ok());
        assert!(
            matches!(&results[1], Err(StoreError::DuplicateContentId { content_id }) if content_id == "a")
        );
        assert_eq!(count(&conn), 2);
    }

    #[test]
    fn a_full_database_fails_the_whole_batch_as_disk_full() {
        let conn = migrated();
        let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
        conn.pragma_update(None, "max_page_count", pages + 2).unwrap();
        let batch: Vec<_> = (0..200).map(|i| request(&format!("{i:0>200}")).0).collect();
        let err = insert_all(&conn, &batch).unwrap_err();
        assert!(matches!(err, StoreError::DiskFull { .. }), "{err:?}");
        assert_eq!(count(&conn), 0, "the batch was rolled back");
        assert!(conn.is_autocommit());
    }

    #[test]
    fn the_thread_answers_every_writer_and_stops_when_dropped() {
        let conn = Arc::new(Mutex::new(migrated()));
        let writer = Writer::start(Arc::clone(&conn), None).unwrap();
        let answers: Vec<_> = ["x", "y", "x"]
            .map(|id| {
                let (request, answer) = request(id);
                writer.submit(request).unwrap();
                answer
            })
            .into_iter()
            .collect();
        let results: Vec<_> = answers.into_iter().map(|a| a.recv().unwrap()).collect();
        assert!(results[0].is_ok() && results[1].is_ok());
        assert!(matches!(results[2], Err(StoreError::DuplicateContentId { .. })));
        drop(writer);
        assert_eq!(count(&lock(&conn)), 2);
    }
}
