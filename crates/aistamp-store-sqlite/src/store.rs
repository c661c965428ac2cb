//! [`SqliteStore`]: the blocking and the async record store over one file.

use std::path::Path;
use std::sync::{Arc, Mutex};

use aistamp_core::{
    AsyncRecordStore, QueryPage, RecordQuery, RecordStore, SignedRecord, StoreError, StoredRecord,
};
use rusqlite::{Connection, params_from_iter};
use tracing::info;

use crate::connection::{self, Role};
use crate::error::classify;
use crate::location::SqliteLocation;
use crate::migrate::{self, MigrationReport};
use crate::query;
use crate::row::{RowValues, SELECT_COLUMNS, decode};
use crate::writer::{Reply, WriteRequest, Writer, lock, stopped};

/// Idle reading connections kept for reuse.
const MAX_IDLE_READERS: usize = 8;

/// A record store in one SQLite database, for blocking and async callers.
///
/// Concurrent writes go through one writer thread that commits them
/// together (group commit), while a lone blocking writer commits on its own
/// thread; reads use a small pool of their own connections. The store is
/// cheap to share: wrap it in an `Arc`, or clone it (clones share the same
/// writer and pool).
#[derive(Clone, Debug)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    location: SqliteLocation,
    /// Field order matters: the writer thread is stopped (and joined)
    /// before the connections close.
    writer: Writer,
    writer_conn: Arc<Mutex<Connection>>,
    readers: Mutex<Vec<Connection>>,
}

impl SqliteStore {
    /// Opens the database that `url` names (see [`SqliteLocation::parse`]),
    /// creating the file on first use. A database without the records
    /// table is migrated at once, so that a new file just works; an
    /// existing one is checked but not upgraded (that is
    /// [`SqliteStore::migrate`]'s job).
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidUrl`] for a URL that is not an SQLite one,
    /// [`StoreError::Unavailable`] when the file cannot be opened, and
    /// [`StoreError::SchemaMissing`] when the records table lacks columns.
    pub fn open(url: &str) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_location(SqliteLocation::parse(url)?)
    }

    /// Opens the database file at `path`, as [`SqliteStore::open`] does.
    ///
    /// # Errors
    ///
    /// As [`SqliteStore::open`].
    pub fn open_path(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_location(SqliteLocation::File(path.as_ref().to_path_buf()))
    }

    /// Opens `location`, as [`SqliteStore::open`] does.
    ///
    /// # Errors
    ///
    /// As [`SqliteStore::open`].
    pub fn open_location(location: SqliteLocation) -> Result<SqliteStore, StoreError> {
        let mut conn = connection::open(&location, Role::Writer)?;
        if migrate::table_missing(&conn)? {
            let report = migrate::migrate(&mut conn)?;
            info!(%location, version = report.version, "created the record table");
        }
        let checkpoint_conn = match location {
            SqliteLocation::Memory => None,
            SqliteLocation::File(_) => Some(connection::open(&location, Role::Checkpointer)?),
        };
        let writer_conn = Arc::new(Mutex::new(conn));
        let writer = Writer::start(Arc::clone(&writer_conn), checkpoint_conn)?;
        let inner = Inner { location, writer, writer_conn, readers: Mutex::new(Vec::new()) };
        Ok(SqliteStore { inner: Arc::new(inner) })
    }

    /// Where this store lives.
    pub fn location(&self) -> &SqliteLocation {
        &self.inner.location
    }

    /// Brings the database to the latest schema: applies the migrations
    /// not yet applied, and first adopts a database made by ai-stamp 0.1.0
    /// (its `aistamp migrate` or `create_tables`) without touching a row.
    /// Idempotent.
    ///
    /// # Errors
    ///
    /// Database failures, and a table that is not ai-stamp's.
    pub fn migrate(&self) -> Result<MigrationReport, StoreError> {
        migrate::migrate(&mut lock(&self.inner.writer_conn))
    }

    /// Creates the table and its indexes when missing, without migration
    /// history, like the reference's `create_tables`. For development and
    /// tests; production databases use [`SqliteStore::migrate`].
    ///
    /// # Errors
    ///
    /// Database failures.
    pub fn create_tables(&self) -> Result<(), StoreError> {
        migrate::create_tables(&lock(&self.inner.writer_conn))
    }
}

/// Brings the database that `url` names to the latest schema, creating it
/// when missing; what `aistamp migrate` runs. See [`SqliteStore::migrate`].
///
/// # Errors
///
/// As [`SqliteStore::open`] and [`SqliteStore::migrate`].
pub fn migrate(url: &str) -> Result<MigrationReport, StoreError> {
    let location = SqliteLocation::parse(url)?;
    let mut conn = connection::open(&location, Role::Writer)?;
    migrate::migrate(&mut conn)
}

impl Inner {
    fn write(&self, record: SignedRecord) -> Result<(), StoreError> {
        self.writer.write_blocking(RowValues::new(record)?)
    }

    /// Runs `read` on a reading connection: one from the pool for a file,
    /// the only connection for a database in memory.
    fn with_reader<T>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.location == SqliteLocation::Memory {
            return read(&lock(&self.writer_conn));
        }
        let pooled = self.readers.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => connection::open(&self.location, Role::Reader)?,
        };
        let result = read(&conn);
        let mut idle = self.readers.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
        result
    }

    fn get(&self, content_id: &str) -> Result<Option<StoredRecord>, StoreError> {
        self.with_reader(|conn| {
            let sql =
                format!("SELECT {SELECT_COLUMNS} FROM provenance_records WHERE content_id = ?1");
            let mut statement = conn.prepare_cached(&sql).map_err(|e| classify(&e))?;
            let mut rows = statement.query([content_id]).map_err(|e| classify(&e))?;
            match rows.next().map_err(|e| classify(&e))? {
                Some(row) => decode(row).map(Some),
                None => Ok(None),
            }
        })
    }

    fn query(&self, query: &RecordQuery) -> Result<QueryPage, StoreError> {
        self.with_reader(|conn| {
            let db = |e: rusqlite::Error| classify(&e);
            // One read transaction, so that the page and the count agree.
            let transaction = conn.unchecked_transaction().map_err(db)?;
            let sql = query::build(query, query::other_forms_near(&transaction, query)?)?;
            let mut statement = transaction.prepare_cached(&sql.select).map_err(db)?;
            let mut rows = statement.query(params_from_iter(&sql.select_params)).map_err(db)?;
            let mut records = Vec::new();
            while let Some(row) = rows.next().map_err(db)? {
                records.push(decode(row)?);
            }
            drop(rows);
            drop(statement);
            let total: i64 = transaction
                .prepare_cached(&sql.count)
                .and_then(|mut s| s.query_row(params_from_iter(&sql.count_params), |r| r.get(0)))
                .map_err(db)?;
            Ok(QueryPage { records, total_count: u64::try_from(total).unwrap_or(0) })
        })
    }

    fn for_each(
        &self,
        query: &RecordQuery,
        visit: &mut dyn FnMut(Result<StoredRecord, StoreError>),
    ) -> Result<u64, StoreError> {
        if self.location == SqliteLocation::Memory {
            // The only connection must not stay locked while `visit` runs:
            // a visitor that uses the store would wait for itself. A
            // database in memory is in memory anyway, so read it whole.
            let mut rows = Vec::new();
            self.with_reader(|conn| walk(conn, query, &mut |row| rows.push(row)))?;
            let visited = rows.len() as u64;
            rows.into_iter().for_each(visit);
            return Ok(visited);
        }
        self.with_reader(|conn| walk(conn, query, visit))
    }
}

/// Streams the matches of `query` to `visit`, decoding one at a time.
fn walk(
    conn: &Connection,
    query: &RecordQuery,
    visit: &mut dyn FnMut(Result<StoredRecord, StoreError>),
) -> Result<u64, StoreError> {
    let db = |e: rusqlite::Error| classify(&e);
    // One read transaction, so that the rows read are those judged.
    let transaction = conn.unchecked_transaction().map_err(db)?;
    let sql = query::build(query, query::other_forms_near(&transaction, query)?)?;
    let mut statement = transaction.prepare(&sql.select).map_err(db)?;
    let mut rows = statement.query(params_from_iter(&sql.select_params)).map_err(db)?;
    let mut visited = 0;
    while let Some(row) = rows.next().map_err(db)? {
        visit(decode(row));
        visited += 1;
    }
    Ok(visited)
}

impl RecordStore for SqliteStore {
    fn write(&self, record: SignedRecord) -> Result<(), StoreError> {
        self.inner.write(record)
    }

    fn get(&self, content_id: &str) -> Result<Option<StoredRecord>, StoreError> {
        self.inner.get(content_id)
    }

    fn query(&self, query: &RecordQuery) -> Result<QueryPage, StoreError> {
        self.inner.query(query)
    }

    fn for_each(
        &self,
        query: &RecordQuery,
        visit: &mut dyn FnMut(Result<StoredRecord, StoreError>),
    ) -> Result<u64, StoreError> {
        self.inner.for_each(query, visit)
    }
}

/// Runs a blocking read off the async runtime's worker threads, or in
/// place when no Tokio runtime is running.
async fn off_runtime<T: Send + 'static>(
    inner: Arc<Inner>,
    read: impl FnOnce(&Inner) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    if tokio::runtime::Handle::try_current().is_err() {
        return read(&inner);
    }
    tokio::task::spawn_blocking(move || read(&inner)).await.unwrap_or_else(|err| {
        Err(StoreError::Backend { message: format!("the read task failed: {err}") })
    })
}

impl AsyncRecordStore for SqliteStore {
    async fn write(&self, record: SignedRecord) -> Result<(), StoreError> {
        let row = RowValues::new(record)?;
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.inner.writer.submit(WriteRequest { row, reply: Reply::Async(reply) })?;
        answer.await.unwrap_or_else(|_| Err(stopped()))
    }

    async fn get(&self, content_id: &str) -> Result<Option<StoredRecord>, StoreError> {
        let content_id = content_id.to_string();
        off_runtime(Arc::clone(&self.inner), move |inner| inner.get(&content_id)).await
    }

    async fn query(&self, query: &RecordQuery) -> Result<QueryPage, StoreError> {
        let query = query.clone();
        off_runtime(Arc::clone(&self.inner), move |inner| inner.query(&query)).await
    }
}
