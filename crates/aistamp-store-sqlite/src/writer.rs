//! Group commit: one thread owns the writing connection and commits every
//! write that is waiting, in one transaction, then answers each writer.
//!
//! Writers hand over a rendered row and a reply channel, blocking (a std
//! channel) or async (a tokio oneshot, so that the runtime never blocks),
//! and wait for the commit that holds their row. While one commit is being
//! written to disk the next writers queue up, so throughput grows with the
//! number of concurrent writers while every acknowledgement stays durable.

use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use aistamp_core::StoreError;
use rusqlite::Connection;
use tracing::{trace, warn};

use crate::error::{classify, duplicate, is_unique_violation};
use crate::row::{INSERT_SQL, RowValues};

/// The most rows one transaction takes.
const MAX_BATCH: usize = 1024;

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
}

impl Writer {
    /// Starts the writer thread on `conn`.
    pub(crate) fn start(conn: Arc<Mutex<Connection>>) -> Result<Writer, StoreError> {
        let (queue, requests) = mpsc::channel();
        let thread = thread::Builder::new()
            .name("aistamp-sqlite-writer".to_string())
            .spawn(move || run(&conn, &requests))
            .map_err(|err| StoreError::Unavailable {
                message: format!("cannot start the writer thread: {err}"),
            })?;
        Ok(Writer { queue: Some(queue), thread: Some(thread) })
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
        if let Some(thread) = self.thread.take() {
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

fn run(conn: &Mutex<Connection>, requests: &Receiver<WriteRequest>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Ok(first) = requests.recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match requests.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }

        let started = Instant::now();
        let outcome = insert_all(&lock(conn), &batch);
        let elapsed = started.elapsed();
        if elapsed > SLOW_COMMIT {
            warn!(rows = batch.len(), ?elapsed, "slow sqlite commit");
        } else {
            trace!(rows = batch.len(), ?elapsed, "sqlite commit");
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
