//! Group commit: every write that is waiting goes into one transaction,
//! and each writer is answered once it is on disk.
//!
//! A writer thread owns the commits while writers are concurrent. Writers
//! queue a rendered row with a reply channel, blocking (a std channel) or
//! async (a tokio oneshot, so that the runtime never blocks), and wait for
//! the commit that holds their row. While one commit is being written to
//! disk the next writers queue up, so throughput grows with the number of
//! concurrent writers while every acknowledgement stays durable.
//!
//! A blocking writer alone (nothing queued, and the latest commit held a
//! single row) commits on its own thread when the connection is free: a
//! lone writer's every write would otherwise also wait for the writer
//! thread to wake up, which costs it about a quarter of its throughput.
//!
//! Copying the WAL back into the database file (a checkpoint) is left to a
//! second thread with its own connection, so that its writes and flushes do
//! not delay acknowledgements; SQLite lets it run beside the writer.

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, TryLockError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use aistamp_core::StoreError;
use rusqlite::Connection;
use tracing::{debug, trace, warn};

use crate::error::{classify, duplicate, is_unique_violation};
use crate::row::{INSERT_SQL, RowValues};

/// The most rows one transaction takes.
const MAX_BATCH: usize = 1024;

/// The longest the writer thread waits for more writes when fewer wait
/// than joined the latest commit. Waiting this long for concurrent writers
/// turns many small commits into a few large ones.
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

/// The queue, the writing connection and the threads behind them.
/// Dropping it lets the writer thread finish what is queued and waits for
/// it.
#[derive(Debug)]
pub(crate) struct Writer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    checkpointer: Option<JoinHandle<()>>,
}

/// What the writer thread and the writers share.
#[derive(Debug)]
struct Shared {
    conn: Arc<Mutex<Connection>>,
    queue: Mutex<Queue>,
    /// Signalled when a write is queued for the writer thread, and when
    /// the store closes.
    arrived: Condvar,
    /// Rows in the latest commit: one while a lone writer writes.
    last_batch: AtomicUsize,
    commits: AtomicU32,
    /// The commits made on a lone writer's own thread.
    inline_commits: AtomicU32,
    /// Taken when the store closes, which ends the checkpoint thread.
    checkpoint_nudge: Mutex<Option<SyncSender<()>>>,
}

/// The writes waiting for a commit, oldest first.
#[derive(Debug, Default)]
struct Queue {
    requests: Vec<WriteRequest>,
    /// Set when the store closes: nothing more is queued.
    closed: bool,
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
        let (checkpoint_nudge, nudges) = mpsc::sync_channel(1);
        let checkpointer = match checkpoint_conn {
            Some(checkpoint_conn) => Some(
                thread::Builder::new()
                    .name("sqlite-checkpt".to_string())
                    .spawn(move || checkpoint(&checkpoint_conn, &nudges))
                    .map_err(cannot_start)?,
            ),
            None => None,
        };
        let shared = Arc::new(Shared {
            conn,
            queue: Mutex::new(Queue::default()),
            arrived: Condvar::new(),
            last_batch: AtomicUsize::new(1),
            commits: AtomicU32::new(0),
            inline_commits: AtomicU32::new(0),
            checkpoint_nudge: Mutex::new(Some(checkpoint_nudge)),
        });
        let thread = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("sqlite-writer".to_string())
                .spawn(move || shared.run())
                .map_err(cannot_start)?
        };
        Ok(Writer { shared, thread: Some(thread), checkpointer })
    }

    /// Writes `row` and waits for its commit. A writer alone (nothing
    /// queued, and the latest commit held one row) commits on its own
    /// thread when the connection is free; every other write goes to the
    /// writer thread, which gathers concurrent writes into one commit.
    pub(crate) fn write_blocking(&self, row: RowValues) -> Result<(), StoreError> {
        let (reply, answer) = mpsc::sync_channel(1);
        let alone = self.shared.push(WriteRequest { row, reply: Reply::Blocking(reply) })?;
        if alone {
            let conn = match self.shared.conn.try_lock() {
                Ok(conn) => Some(conn),
                Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
                Err(TryLockError::WouldBlock) => None,
            };
            if let Some(conn) = conn {
                let batch = self.shared.take_batch(&mut lock(&self.shared.queue));
                self.shared.commit(&conn, batch, true);
            }
            // This write, when the connection was busy, or writes queued
            // while it was committed here are left to the writer thread.
            if !lock(&self.shared.queue).requests.is_empty() {
                self.shared.arrived.notify_one();
            }
        }
        answer.recv().unwrap_or_else(|_| Err(stopped()))
    }

    /// Queues a write for the writer thread; the answer comes through the
    /// request's reply. Never blocks on the database.
    pub(crate) fn submit(&self, request: WriteRequest) -> Result<(), StoreError> {
        if self.shared.push(request)? {
            self.shared.arrived.notify_one();
        }
        Ok(())
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        lock(&self.shared.queue).closed = true;
        self.shared.arrived.notify_all();
        // The writer thread commits what is queued, then ends; the
        // checkpointer ends when its nudges close.
        if let Some(thread) = self.thread.take() {
            drop(thread.join());
        }
        drop(lock(&self.shared.checkpoint_nudge).take());
        if let Some(thread) = self.checkpointer.take() {
            drop(thread.join());
        }
    }
}

impl Shared {
    /// Queues `request`, and tells whether its writer is alone. The
    /// writer thread is signalled here for every other write.
    fn push(&self, request: WriteRequest) -> Result<bool, StoreError> {
        let mut queue = lock(&self.queue);
        if queue.closed {
            return Err(stopped());
        }
        let alone = queue.requests.is_empty() && self.last_batch.load(Ordering::Relaxed) <= 1;
        queue.requests.push(request);
        drop(queue);
        if !alone {
            self.arrived.notify_one();
        }
        Ok(alone)
    }

    /// Takes the oldest writes queued, up to one batch.
    fn take_batch(&self, queue: &mut Queue) -> Vec<WriteRequest> {
        if queue.requests.len() <= MAX_BATCH {
            std::mem::take(&mut queue.requests)
        } else {
            queue.requests.drain(..MAX_BATCH).collect()
        }
    }

    /// The writer thread: commits what is queued until the store closes
    /// and nothing is left. When fewer writes wait than joined the latest
    /// commit it waits briefly for the rest, since concurrent writers come
    /// back at slightly different moments after their acknowledgement.
    fn run(&self) {
        loop {
            let batch = {
                let mut queue = lock(&self.queue);
                while queue.requests.is_empty() && !queue.closed {
                    queue = self.arrived.wait(queue).unwrap_or_else(PoisonError::into_inner);
                }
                if queue.requests.is_empty() {
                    return;
                }
                let deadline = Instant::now() + GATHER_WAIT;
                let expected = self.last_batch.load(Ordering::Relaxed);
                while queue.requests.len() < expected && !queue.closed {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    queue = self
                        .arrived
                        .wait_timeout(queue, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
                self.take_batch(&mut queue)
            };
            self.commit(&lock(&self.conn), batch, false);
        }
    }

    /// Commits `batch` on `conn` and answers each writer; `inline` when on
    /// a lone writer's thread. The batch is empty when the writer thread
    /// and a lone writer both took from the queue and the other came first.
    fn commit(&self, conn: &Connection, batch: Vec<WriteRequest>, inline: bool) {
        if batch.is_empty() {
            return;
        }
        let started = Instant::now();
        let outcome = insert_all(conn, &batch);
        let elapsed = started.elapsed();
        if elapsed > SLOW_COMMIT {
            warn!(rows = batch.len(), ?elapsed, inline, "slow sqlite commit");
        } else {
            trace!(rows = batch.len(), ?elapsed, inline, "sqlite commit");
        }
        if inline {
            self.inline_commits.fetch_add(1, Ordering::Relaxed);
        }
        self.last_batch.store(batch.len(), Ordering::Relaxed);

        let commits = self.commits.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        if commits.is_multiple_of(COMMITS_PER_CHECKPOINT) {
            // A checkpoint already due needs no second nudge.
            if let Some(nudge) = lock(&self.checkpoint_nudge).as_ref() {
                let _ = nudge.try_send(());
            }
        }

        match outcome {
            Ok(results) => {
                for (request, result) in batch.into_iter().zip(results) {
                    request.reply.send(result);
                }
            }
            Err(err) => {
                warn!(rows = batch.len(), error = %err, "sqlite commit failed");
                for request in batch {
                    request.reply.send(Err(duplicate(&err)));
                }
            }
        }
    }
}

/// The error for a writer whose thread is gone.
pub(crate) fn stopped() -> StoreError {
    StoreError::Unavailable { message: "the store's writer thread has stopped".to_string() }
}

/// Locks a mutex, also after a panic elsewhere: the connection itself
/// stays consistent, as SQLite rolls back what was not committed, and the
/// queue is changed only by pushing to it or taking from its front.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
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

    #[test]
    fn lone_and_concurrent_writers_are_all_answered_and_all_written() {
        let conn = Arc::new(Mutex::new(migrated()));
        let writer = Writer::start(Arc::clone(&conn), None).unwrap();
        let commits = |writer: &Writer| {
            let shared = &writer.shared;
            (shared.commits.load(Ordering::Relaxed), shared.inline_commits.load(Ordering::Relaxed))
        };
        // A lone writer first, committing on its own thread. The writer
        // thread takes a write only when it finds one queued on waking: the
        // first, if it starts after the write is queued, or, rarely, one
        // queued as the thread wakes spuriously.
        for i in 0..20 {
            let (request, _) = request(&format!("lone-{i}"));
            writer.write_blocking(request.row).unwrap();
        }
        let (lone, lone_inline) = commits(&writer);
        assert_eq!(lone, 20, "one commit per lone write");
        assert!(lone_inline >= 18, "{lone_inline} of 20 lone writes committed inline");
        // Then blocking writers on eight threads, beside queued writes
        // answered through their channels, with one duplicate.
        let answers: Vec<_> = std::thread::scope(|scope| {
            for t in 0..8 {
                let writer = &writer;
                scope.spawn(move || {
                    for i in 0..50 {
                        let (request, _) = request(&format!("thread-{t}-{i}"));
                        writer.write_blocking(request.row).unwrap();
                    }
                });
            }
            (0..100)
                .map(|i| {
                    let id = if i == 99 { "queued-0".to_string() } else { format!("queued-{i}") };
                    let (request, answer) = request(&id);
                    writer.submit(request).unwrap();
                    answer
                })
                .collect()
        });
        let results: Vec<_> = answers.into_iter().map(|a| a.recv().unwrap()).collect();
        assert!(results[..99].iter().all(Result::is_ok));
        assert!(matches!(results[99], Err(StoreError::DuplicateContentId { .. })));
        let (concurrent, inline_concurrent) = commits(&writer);
        assert!(concurrent - lone < 8 * 50 + 100, "{concurrent} commits: concurrent writes shared");
        // A lone writer again, after the concurrent commits: the first
        // write may still go through the writer thread, the next inline.
        for i in 0..2 {
            let (request, _) = request(&format!("last-{i}"));
            writer.write_blocking(request.row).unwrap();
        }
        let (after, inline_after) = commits(&writer);
        assert_eq!(after - concurrent, 2);
        assert!(inline_after > inline_concurrent, "the second of them, at least, inline");
        drop(writer);
        assert_eq!(count(&lock(&conn)), 20 + 8 * 50 + 99 + 2);
    }

    #[test]
    fn a_closed_writer_refuses_writes() {
        let conn = Arc::new(Mutex::new(migrated()));
        let writer = Writer::start(Arc::clone(&conn), None).unwrap();
        lock(&writer.shared.queue).closed = true;
        let (queued, _) = request("a");
        assert!(matches!(writer.submit(queued), Err(StoreError::Unavailable { .. })));
        let (blocking, _) = request("b");
        let err = writer.write_blocking(blocking.row).unwrap_err();
        assert!(matches!(err, StoreError::Unavailable { .. }));
        drop(writer);
        assert_eq!(count(&lock(&conn)), 0);
    }
}
