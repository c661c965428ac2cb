//! Opening connections with the settings that make writes durable and keep
//! concurrent writers from ever seeing "database is locked".

use std::time::Duration;

use aistamp_core::{StoreError, Timestamp};
use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, OpenFlags};

use crate::error::classify;
use crate::location::SqliteLocation;

/// How long a connection waits for another one's lock before failing.
/// Commits take milliseconds; this only runs out when a process holds the
/// database locked for a minute.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// Cache for the writer in KiB: room for the pages that inserts keep
/// touching (the B-trees' inner pages and the leaves they append to), and
/// no more. A larger cache costs time at commit: when a page split in the
/// transaction renumbered pages, which happens in most batches, SQLite
/// ends the transaction by walking every page the cache holds. Under 16
/// writers that walk took 7% of the process's CPU time with 16 MiB and
/// 0.6% with 2 MiB, while reads of pages that no longer fit took 0.1%.
const WRITER_CACHE_KIB: i64 = 2 * 1024;

/// The page size of the files this store creates. Every commit writes each
/// page it changed to the WAL, and a record changes one page in each of
/// its fifteen B-trees: halving SQLite's default of 4096 bytes halves most
/// of those writes while a 2 KB record still fits a page or two. Existing
/// files keep the page size they were made with.
const NEW_FILE_PAGE_SIZE: i64 = 2048;

/// How much of the file readers map into memory.
const READER_MMAP_BYTES: i64 = 1 << 30;

/// WAL pages after which the writer checkpoints by itself. Checkpoints
/// normally run on the checkpoint thread; this bounds the log (about 80 MB)
/// should that thread fall behind.
const WRITER_AUTOCHECKPOINT_PAGES: i64 = 20_000;

/// What a connection is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// The one connection that writes, and that migrates.
    Writer,
    /// A pooled connection that only reads.
    Reader,
    /// The connection that copies the WAL into the database in the
    /// background.
    Checkpointer,
}

/// Opens `location` for `role`. Files are created on first use; the
/// writer switches them to WAL with `synchronous=FULL`, so that a commit is
/// on disk when it returns.
///
/// # Errors
///
/// [`StoreError::Unavailable`] naming the file when it cannot be opened.
pub(crate) fn open(location: &SqliteLocation, role: Role) -> Result<Connection, StoreError> {
    let conn = match location {
        SqliteLocation::Memory => Connection::open_in_memory(),
        SqliteLocation::File(path) => {
            let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            Connection::open_with_flags(path, flags)
        }
    };
    let unavailable = |err: rusqlite::Error| match classify(&err) {
        StoreError::Unavailable { message } | StoreError::Backend { message } => {
            StoreError::Unavailable { message: format!("cannot open '{location}': {message}") }
        }
        other => other,
    };
    let conn = conn.map_err(unavailable)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(unavailable)?;
    conn.set_prepared_statement_cache_capacity(32);
    if role == Role::Writer {
        if matches!(location, SqliteLocation::File(_)) {
            // Only a file without any content takes a new page size, and
            // only before the switch to WAL writes its first page.
            conn.pragma_update(None, "page_size", NEW_FILE_PAGE_SIZE).map_err(unavailable)?;
            let mode: String = with_busy_retry(|| {
                conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            })
            .map_err(unavailable)?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(StoreError::Unavailable {
                    message: format!(
                        "cannot switch '{location}' to write-ahead logging: journal mode is {mode}"
                    ),
                });
            }
        }
        conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB).map_err(unavailable)?;
        conn.pragma_update(None, "wal_autocheckpoint", WRITER_AUTOCHECKPOINT_PAGES)
            .map_err(unavailable)?;
    }
    if role == Role::Reader {
        conn.pragma_update(None, "query_only", true).map_err(unavailable)?;
        // Reading through a memory map saves a system call per page, which
        // is most of the cost of reading every record.
        conn.pragma_update(None, "mmap_size", READER_MMAP_BYTES).map_err(unavailable)?;
    }
    conn.pragma_update(None, "synchronous", "FULL").map_err(unavailable)?;
    add_functions(&conn).map_err(unavailable)?;
    Ok(conn)
}

/// The name of the SQL function that reads a stored timestamp, in any form
/// the store reads, and gives it in the form the store writes (UTC,
/// `YYYY-MM-DD HH:MM:SS.ffffff`), or NULL when it is not a timestamp.
pub(crate) const STORED_UTC: &str = "aistamp_stored_utc";

/// Adds the store's SQL functions to `conn`.
pub(crate) fn add_functions(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8
        | FunctionFlags::SQLITE_DETERMINISTIC
        | FunctionFlags::SQLITE_INNOCUOUS;
    conn.create_scalar_function(STORED_UTC, 1, flags, |ctx| {
        let text = ctx.get_raw(0).as_str().ok();
        Ok(text.and_then(|text| Timestamp::parse(text).ok()).map(Timestamp::to_sql_string))
    })
}

/// Runs `step` again while the database is busy or locked, for up to the
/// busy timeout. Switching a new file to WAL can fail at once with
/// SQLITE_BUSY, without calling the busy handler, while another process is
/// creating the same file; such a step is simply tried again.
fn with_busy_retry<T>(mut step: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let started = std::time::Instant::now();
    loop {
        match step() {
            Err(rusqlite::Error::SqliteFailure(err, _))
                if matches!(
                    err.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) && started.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            other => return other,
        }
    }
}
