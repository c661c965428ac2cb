//! The SQLite record store of aistamp, the embedded default: durable,
//! fast under concurrency, and schema-compatible with ai-stamp 0.1.0, so
//! that databases made by either program open in the other.
//!
//! # Opening a store
//!
//! [`SqliteStore::open`] takes the database URL of the configuration
//! (`sqlite:///relative.db`, `sqlite:////absolute.db`,
//! `sqlite:///:memory:`) and creates the file and its table on first use.
//! The store implements both [`RecordStore`](aistamp_core::RecordStore)
//! (blocking) and [`AsyncRecordStore`](aistamp_core::AsyncRecordStore)
//! (Tokio) over one implementation.
//!
//! ```
//! use aistamp_core::{Record, RecordQuery, RecordStore, SignedRecord, SigningKey};
//! use aistamp_store_sqlite::SqliteStore;
//!
//! let dir = tempfile::tempdir()?;
//! let store = SqliteStore::open_path(dir.path().join("aistamp.db"))?;
//!
//! let key = SigningKey::new("an-example-secret-of-at-least-32-bytes")?;
//! let record = Record::new("my_app", "summarizer", "user_42", "gpt-4o", "the prompt");
//! let signature = key.sign(&record);
//! store.write(SignedRecord { record: record.clone(), signature })?;
//!
//! let stored = store.get(&record.content_id)?.expect("just written");
//! assert!(key.verify(&stored.record, stored.signature.as_deref().unwrap_or("")));
//!
//! let page = store.query(&RecordQuery { user_id: Some("user_42".into()), ..Default::default() })?;
//! assert_eq!(page.total_count, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Durability and concurrency
//!
//! The database runs in WAL mode with `synchronous=FULL`: when `write`
//! returns `Ok`, the record is on disk. Concurrent writes go to one writer
//! thread, which commits all the writes waiting at that moment in one
//! transaction and then answers each writer (group commit), so many
//! concurrent writers cost about as many disk flushes as one. A blocking
//! writer alone commits its write on its own thread. Several processes may
//! share a file: each waits for the others' locks (up to a minute) instead
//! of failing with "database is locked". A duplicate content id fails only
//! its own write.
//!
//! # Schema and migrations
//!
//! The table, its columns and its indexes are exactly those of ai-stamp
//! 0.1.0 (migration `V1`); later migrations only add (`V2` adds the indexes
//! that keep every report filter fast, `V3` an index of timestamps stored
//! in other forms than the written one). The SQL is embedded in the binary.
//! [`migrate`] (or [`SqliteStore::migrate`]) applies what is missing and
//! adopts a database made by the reference's `aistamp migrate` or
//! `create_tables` without touching its rows; it is idempotent.
//!
//! # Reading
//!
//! Results come ordered by timestamp, then row id. Rows written by the
//! reference read back exactly: timestamps with a space or a `T`, with or
//! without a fraction or an offset; JSON columns in any key order and
//! spacing. A row that is not a valid record (an unknown status, an
//! unknown key inside a JSON column, a malformed timestamp) is reported as
//! [`StoreError::InvalidRow`](aistamp_core::StoreError::InvalidRow) naming
//! its content id and column, never a panic.
//! [`RecordStore::for_each`](aistamp_core::RecordStore::for_each) streams
//! rows from a cursor for `verify --all` over any number of records.
//!
//! # Limits
//!
//! - Results are ordered by the stored timestamp text. Both programs always
//!   store `YYYY-MM-DD HH:MM:SS.ffffff` in UTC, in which text order is time
//!   order; a row edited by hand into another form (with a `T`, say) reads,
//!   verifies and is filtered by its time, but within its day it sorts by
//!   its text. Time filters are exact for every form: migration `V3`
//!   indexes the rows in other forms, and a filter judges those near its
//!   bound by their parsed time.
//! - `for_each` on a database in memory reads every match before visiting
//!   (its one connection cannot stay locked while the visitor runs); on a
//!   file it streams.
//! - The JSON filters (PII severity, policy action) never match a row whose
//!   JSON column is malformed; such a row is reported when read.
//! - A database opened by [`SqliteStore::open`] is switched to WAL, which
//!   ai-stamp 0.1.0 reads as well; the `-wal` and `-shm` files beside it
//!   belong to the database.
#![deny(missing_docs)]

mod connection;
mod error;
mod location;
mod migrate;
mod query;
mod row;
mod store;
mod writer;

pub use location::SqliteLocation;
pub use migrate::{Adoption, AppliedMigration, MigrationReport};
pub use store::{SqliteStore, migrate};
