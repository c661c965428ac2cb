//! PostgreSQL record store for aistamp, schema-compatible with ai-stamp 0.1.0.
//!
//! Records live in the table `provenance_records` exactly as the reference's
//! migration `0001` creates it (same columns, types and index names), so a
//! database written by ai-stamp 0.1.0 reads and verifies here, and the
//! reverse. Two stores share one implementation:
//!
//! - [`PgStore`], async, for use on a Tokio runtime; it implements
//!   [`AsyncRecordStore`].
//! - [`BlockingPgStore`], blocking, for callers without a runtime: it owns a
//!   small runtime of its own and implements [`RecordStore`].
//!
//! # Connecting
//!
//! URLs are `postgres://` or `postgresql://` as libpq writes them, also in
//! the reference's SQLAlchemy form `postgresql+psycopg2://` (the driver part
//! is ignored). `sslmode=require`, `verify-ca` or `verify-full` connect
//! over TLS (rustls), checking the server's certificate against the public
//! web roots, or against the PEM file named by `sslrootcert`; note that
//! this is stricter than libpq's `require`, which checks nothing.
//! `prefer`, libpq's default and the mode when the URL names none, uses TLS
//! when the server offers it and plain otherwise, checking the certificate
//! only against an `sslrootcert` given with it; a certificate that root
//! does not vouch for fails the connection, where libpq would fall back to
//! plain. `disable` and `allow` connect without TLS. A malformed URL is
//! [`StoreError::InvalidUrl`], shown without its password.
//!
//! # Schema
//!
//! [`PgStore::migrate`] brings a database to the latest schema with the SQL
//! files of `migrations/postgres/` (refinery, history in
//! `refinery_schema_history`). It creates a new database, does nothing the
//! second time, and adopts a database made by the reference's `aistamp
//! migrate` (Alembic at `0001`) or `create_tables` without touching a row.
//! [`PgStore::create_tables`] creates the same schema without history, for
//! development and tests. Writing to a database without the table is
//! [`StoreError::SchemaMissing`] ("run `aistamp migrate`").
//!
//! # Durability and group commit
//!
//! Every session commits synchronously (`synchronous_commit=on`): a write
//! that returned `Ok` is on disk. Sessions also compress new JSON values
//! with lz4 where the server has it (`default_toast_compression`), which
//! any reader decompresses transparently. Writes from concurrent callers are queued
//! and inserted together, many rows in one statement and so in one commit;
//! each caller is answered once the commit that holds its record returned.
//! A duplicate content id fails only its own writer
//! ([`StoreError::DuplicateContentId`]), and a record that does not fit the
//! reference's columns (a content id longer than 36 characters, a token
//! count beyond the INTEGER range) fails alone before it is queued. When the
//! connection breaks during a commit the writer gets
//! [`StoreError::Unavailable`] and cannot know whether the record was
//! stored; writing it again then reports a duplicate if it was.
//!
//! # Queries
//!
//! Filters are equalities (content id, user, app, feature, model, status,
//! the highest PII severity and the policy action inside the JSON columns)
//! and a time range (`from` and `to` both inclusive). Results come ordered
//! by timestamp, then by id (insertion order); `total_count` counts every
//! match, from the same snapshot as the page. [`PgStore::for_each`] streams
//! the matches through a server-side cursor. Every filter has an index
//! (the reference's, and those of migration V2: timestamp and id, feature,
//! and the two JSON fields through small SQL functions the planner knows
//! to be costly), so a page of 1,000 takes milliseconds over 100,000
//! records once the table has statistics (autovacuum gathers them within
//! a minute of a bulk load).
//!
//! # Example
//!
//! ```no_run
//! use aistamp_core::{Record, RecordQuery, RecordStore, SignedRecord, SigningKey};
//! use aistamp_store_pg::BlockingPgStore;
//!
//! let store = BlockingPgStore::connect("postgresql://aistamp@db.internal/audit")?;
//! store.migrate()?;
//!
//! let key = SigningKey::new("an-example-secret-of-at-least-32-bytes").expect("long enough");
//! let record = Record::new("my_app", "summarizer", "user_42", "gpt-4o", "the prompt");
//! let signature = key.sign(&record);
//! store.write(SignedRecord { record, signature })?;
//!
//! let page = store.query(&RecordQuery { user_id: Some("user_42".into()), ..Default::default() })?;
//! assert_eq!(page.total_count, 1);
//! # Ok::<(), aistamp_core::StoreError>(())
//! ```
#![deny(missing_docs)]

mod error;
mod migrate;
mod query;
mod row;
mod url;
mod writer;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use aistamp_core::{
    AsyncRecordStore, QueryPage, RecordQuery, RecordStore, SignedRecord, StoreError, StoredRecord,
};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::IsolationLevel;

pub use migrate::{Adoption, MigrationReport};
pub use url::PgUrl;

use error::{classify, classify_pool};
use writer::PendingWrite;

/// Rows fetched per round trip when streaming.
const STREAM_PAGE: i32 = 2000;

/// Tuning of a store's connections and group commit.
#[derive(Clone, Debug)]
pub struct PgOptions {
    max_connections: usize,
    write_connections: usize,
    max_batch: usize,
    wait_timeout: Duration,
}

impl Default for PgOptions {
    fn default() -> PgOptions {
        PgOptions {
            max_connections: 16,
            write_connections: 2,
            max_batch: 1000,
            wait_timeout: Duration::from_secs(30),
        }
    }
}

impl PgOptions {
    /// At most this many connections in all (default 16); at least the
    /// write connections plus one.
    pub fn max_connections(mut self, count: usize) -> PgOptions {
        self.max_connections = count.max(1);
        self
    }

    /// How many batches may commit at the same time (default 2: one
    /// commits while the next gathers the writers that arrive meanwhile;
    /// more connections split concurrent writers into smaller batches,
    /// which on a local server measured slower, not faster).
    pub fn write_connections(mut self, count: usize) -> PgOptions {
        self.write_connections = count.max(1);
        self
    }

    /// At most this many records in one commit (default 1000).
    pub fn max_batch(mut self, count: usize) -> PgOptions {
        self.max_batch = count.clamp(1, 10_000);
        self
    }

    /// How long a call waits for a free connection before it fails with
    /// [`StoreError::Unavailable`] (default 30 s).
    pub fn wait_timeout(mut self, timeout: Duration) -> PgOptions {
        self.wait_timeout = timeout;
        self
    }
}

/// The async PostgreSQL store. Cheap to clone: clones share the connection
/// pool and the write queue.
#[derive(Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    writes: mpsc::UnboundedSender<PendingWrite>,
    url: PgUrl,
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore")
            .field("url", &self.inner.url.redacted())
            .field("tls_required", &self.inner.url.requires_tls())
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects with the default [`PgOptions`]. Must be called on a Tokio
    /// runtime, which then runs the store's connections and write queue.
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidUrl`] for a malformed URL, and
    /// [`StoreError::Unavailable`] when the server cannot be reached, the
    /// login fails or the database does not exist.
    pub async fn connect(url: &str) -> Result<PgStore, StoreError> {
        PgStore::connect_with(url, PgOptions::default()).await
    }

    /// Connects with `options`.
    ///
    /// # Errors
    ///
    /// As [`PgStore::connect`].
    pub async fn connect_with(url: &str, options: PgOptions) -> Result<PgStore, StoreError> {
        let url = PgUrl::parse(url)?;
        let manager_config = ManagerConfig { recycling_method: RecyclingMethod::Fast };
        let manager = match url.tls_connector()? {
            Some(tls) => Manager::from_config(url.config().clone(), tls, manager_config),
            None => {
                Manager::from_config(url.config().clone(), tokio_postgres::NoTls, manager_config)
            }
        };
        let max_size = options.max_connections.max(options.write_connections + 1);
        let pool = Pool::builder(manager)
            .post_create(deadpool_postgres::Hook::async_fn(|client, _| {
                Box::pin(async move {
                    // lz4 compresses the JSON columns with about a quarter
                    // less server time per row than the default pglz, and
                    // every reader decompresses either. Servers without
                    // lz4 (before 14, or built without it) keep pglz.
                    let lz4 = client.batch_execute("SET default_toast_compression = lz4").await;
                    if let Err(err) = lz4 {
                        tracing::debug!(error = %err, "no lz4 compression on this server");
                    }
                    Ok(())
                })
            }))
            .max_size(max_size)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(options.wait_timeout))
            .build()
            .map_err(|err| StoreError::Backend {
                message: format!("cannot build the pool: {err}"),
            })?;

        // Connect once now, so that a wrong URL or an unreachable server is
        // reported here rather than at the first write.
        if let Err(err) = pool.get().await {
            return Err(match classify_pool(err) {
                StoreError::Unavailable { message } => {
                    StoreError::Unavailable { message: format!("{}: {message}", url.redacted()) }
                }
                other => other,
            });
        }
        let writes = writer::spawn(pool.clone(), options.write_connections, options.max_batch);
        tracing::debug!(url = %url.redacted(), tls_required = url.requires_tls(), "connected to postgres");
        Ok(PgStore { inner: Arc::new(Inner { pool, writes, url }) })
    }

    /// The URL this store connected to, password removed.
    pub fn url(&self) -> &PgUrl {
        &self.inner.url
    }

    /// Brings the database to the latest schema: creates it, does nothing
    /// when it is current, adopts a database made by ai-stamp 0.1.0 without
    /// touching its rows. Concurrent runs wait for each other.
    ///
    /// # Errors
    ///
    /// Database failures, and [`StoreError::Backend`] when an existing
    /// `provenance_records` table is not the reference's or Alembic is at
    /// an unknown revision.
    pub async fn migrate(&self) -> Result<MigrationReport, StoreError> {
        let object = self.inner.pool.get().await.map_err(classify_pool)?;
        // The connection leaves the pool and closes afterwards, so that the
        // session's advisory lock can never stay behind.
        let mut client = deadpool_postgres::Object::take(object);
        migrate::migrate(&mut client).await
    }

    /// Creates the table and indexes if missing, without migration history;
    /// for development and tests. Production databases use
    /// [`PgStore::migrate`], which later adopts such a database.
    ///
    /// # Errors
    ///
    /// Database failures.
    pub async fn create_tables(&self) -> Result<(), StoreError> {
        let mut client = self.inner.pool.get().await.map_err(classify_pool)?;
        migrate::create_tables(&mut client).await
    }

    /// Calls `visit` with every record that matches `query`, in the query's
    /// order, reading through a server-side cursor in pages so that memory
    /// stays flat. A row that cannot be read is passed as `Err` and the walk
    /// goes on. Returns how many rows were visited.
    ///
    /// # Errors
    ///
    /// Database failures, which end the walk.
    pub async fn for_each(
        &self,
        query: &RecordQuery,
        mut visit: impl FnMut(Result<StoredRecord, StoreError>),
    ) -> Result<u64, StoreError> {
        let sql = query::rows(query)?;
        let mut client = self.inner.pool.get().await.map_err(classify_pool)?;
        let transaction = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(|e| classify(&e))?;
        let statement = transaction.prepare_cached(&sql.text).await.map_err(|e| classify(&e))?;
        let portal = transaction.bind(&statement, &sql.params()).await.map_err(|e| classify(&e))?;
        let mut visited = 0u64;
        let mut rows =
            transaction.query_portal(&portal, STREAM_PAGE).await.map_err(|e| classify(&e))?;
        loop {
            let page = std::mem::take(&mut rows);
            let more = page.len() == STREAM_PAGE as usize;
            let visit_page = async {
                for row in &page {
                    visit(row::decode(row));
                }
            };
            if more {
                // The request for the next page goes out first, so that the
                // server reads and sends it while this page is visited.
                let (next, ()) =
                    tokio::join!(transaction.query_portal(&portal, STREAM_PAGE), visit_page);
                rows = next.map_err(|e| classify(&e))?;
            } else {
                visit_page.await;
            }
            visited += page.len() as u64;
            if !more {
                break;
            }
        }
        transaction.commit().await.map_err(|e| classify(&e))?;
        Ok(visited)
    }

    async fn get_record(&self, content_id: &str) -> Result<Option<StoredRecord>, StoreError> {
        let client = self.inner.pool.get().await.map_err(classify_pool)?;
        let sql = format!("SELECT {} FROM provenance_records WHERE content_id = $1", row::COLUMNS);
        let statement = client.prepare_cached(&sql).await.map_err(|e| classify(&e))?;
        let row = client.query_opt(&statement, &[&content_id]).await.map_err(|e| classify(&e))?;
        row.map(|row| row::decode(&row)).transpose()
    }

    async fn query_page(&self, query: &RecordQuery) -> Result<QueryPage, StoreError> {
        let sql = query::page(query)?;
        let client = self.inner.pool.get().await.map_err(classify_pool)?;
        let statement = client.prepare_cached(&sql.text).await.map_err(|e| classify(&e))?;
        let rows = client.query(&statement, &sql.params()).await.map_err(|e| classify(&e))?;

        let total_count = match rows.first() {
            Some(row) => row.try_get::<_, i64>(row::COLUMN_COUNT).map_err(|e| classify(&e))?,
            // An empty page past the end says nothing about the count.
            None if query.offset > 0 => {
                let sql = query::count(query);
                let statement = client.prepare_cached(&sql.text).await.map_err(|e| classify(&e))?;
                let row =
                    client.query_one(&statement, &sql.params()).await.map_err(|e| classify(&e))?;
                row.try_get::<_, i64>(0).map_err(|e| classify(&e))?
            }
            None => 0,
        };
        let records = rows.iter().map(row::decode).collect::<Result<Vec<_>, _>>()?;
        Ok(QueryPage { records, total_count: u64::try_from(total_count).unwrap_or(0) })
    }

    async fn write_record(&self, record: SignedRecord) -> Result<(), StoreError> {
        let row = row::encode(record)?;
        let (done, acknowledged) = oneshot::channel();
        let stopped =
            || StoreError::Unavailable { message: "the store's write queue has stopped".into() };
        self.inner.writes.send(PendingWrite { row, done }).map_err(|_| stopped())?;
        acknowledged.await.map_err(|_| stopped())?
    }
}

impl AsyncRecordStore for PgStore {
    fn write(&self, record: SignedRecord) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.write_record(record)
    }

    fn get(
        &self,
        content_id: &str,
    ) -> impl Future<Output = Result<Option<StoredRecord>, StoreError>> + Send {
        self.get_record(content_id)
    }

    fn query(
        &self,
        query: &RecordQuery,
    ) -> impl Future<Output = Result<QueryPage, StoreError>> + Send {
        self.query_page(query)
    }
}

/// The blocking PostgreSQL store: a [`PgStore`] driven by a small runtime
/// that the store owns (one worker thread), so callers need no runtime of
/// their own. Usable from any number of threads at once.
pub struct BlockingPgStore {
    store: PgStore,
    runtime: Option<tokio::runtime::Runtime>,
}

impl fmt::Debug for BlockingPgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingPgStore").field("store", &self.store).finish_non_exhaustive()
    }
}

impl BlockingPgStore {
    /// Connects with the default [`PgOptions`].
    ///
    /// # Errors
    ///
    /// As [`PgStore::connect`], and [`StoreError::Backend`] when the
    /// runtime's thread cannot be started.
    pub fn connect(url: &str) -> Result<BlockingPgStore, StoreError> {
        BlockingPgStore::connect_with(url, PgOptions::default())
    }

    /// Connects with `options`.
    ///
    /// # Errors
    ///
    /// As [`BlockingPgStore::connect`].
    pub fn connect_with(url: &str, options: PgOptions) -> Result<BlockingPgStore, StoreError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("aistamp-pg")
            .enable_all()
            .build()
            .map_err(|err| StoreError::Backend {
                message: format!("cannot start a runtime: {err}"),
            })?;
        match run_on(&runtime, PgStore::connect_with(url, options)) {
            Ok(store) => Ok(BlockingPgStore { store, runtime: Some(runtime) }),
            Err(err) => {
                // Dropping a runtime inside another one panics; this never
                // waits.
                runtime.shutdown_background();
                Err(err)
            }
        }
    }

    /// The async store inside, sharing connections and write queue.
    pub fn as_async(&self) -> &PgStore {
        &self.store
    }

    /// As [`PgStore::migrate`].
    ///
    /// # Errors
    ///
    /// As [`PgStore::migrate`].
    pub fn migrate(&self) -> Result<MigrationReport, StoreError> {
        self.run(self.store.migrate())
    }

    /// As [`PgStore::create_tables`].
    ///
    /// # Errors
    ///
    /// As [`PgStore::create_tables`].
    pub fn create_tables(&self) -> Result<(), StoreError> {
        self.run(self.store.create_tables())
    }

    fn run<T: Send>(&self, future: impl Future<Output = T> + Send) -> T {
        match &self.runtime {
            Some(runtime) => run_on(runtime, future),
            None => unreachable_runtime(),
        }
    }
}

/// Runs `future` to completion on `runtime` from a blocking caller.
fn run_on<T: Send>(runtime: &tokio::runtime::Runtime, future: impl Future<Output = T> + Send) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return runtime.block_on(future);
    }
    // Called from inside some other runtime, where blocking this thread on a
    // runtime is refused: block a helper thread instead.
    std::thread::scope(|scope| match scope.spawn(|| runtime.block_on(future)).join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

fn unreachable_runtime() -> ! {
    // The runtime is only taken out in `drop`.
    panic!("BlockingPgStore used after drop")
}

impl Drop for BlockingPgStore {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // Every write was acknowledged before its call returned, so
            // nothing is lost by not waiting; waiting could also be refused
            // when dropped inside another runtime.
            runtime.shutdown_background();
        }
    }
}

impl RecordStore for BlockingPgStore {
    fn write(&self, record: SignedRecord) -> Result<(), StoreError> {
        self.run(self.store.write_record(record))
    }

    fn get(&self, content_id: &str) -> Result<Option<StoredRecord>, StoreError> {
        self.run(self.store.get_record(content_id))
    }

    fn query(&self, query: &RecordQuery) -> Result<QueryPage, StoreError> {
        self.run(self.store.query_page(query))
    }

    fn for_each(
        &self,
        query: &RecordQuery,
        visit: &mut dyn FnMut(Result<StoredRecord, StoreError>),
    ) -> Result<u64, StoreError> {
        let Some(runtime) = &self.runtime else { unreachable_runtime() };
        if tokio::runtime::Handle::try_current().is_err() {
            return runtime.block_on(self.store.for_each(query, visit));
        }
        // Inside another runtime: stream from a helper thread through a
        // bounded channel, visiting on this thread.
        let (sender, receiver) = std::sync::mpsc::sync_channel(STREAM_PAGE as usize);
        std::thread::scope(|scope| {
            let walker = scope.spawn(move || {
                runtime.block_on(self.store.for_each(query, |item| {
                    let _ = sender.send(item);
                }))
            });
            for item in receiver {
                visit(item);
            }
            match walker.join() {
                Ok(result) => result,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }
}
