//! The clients' stores: opening the one a database URL names, and a boxed
//! form of the async store interface so that the async client need not be
//! generic over its store.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use aistamp_core::{AsyncRecordStore, RecordStore, SignedRecord, StoreError, StoredRecord};

use crate::error::ClientError;

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// [`AsyncRecordStore`] with boxed futures, so that it can live behind a
/// `dyn`. Every async store has it.
pub(crate) trait DynAsyncStore: Send + Sync {
    fn write(&self, record: SignedRecord) -> BoxFuture<'_, Result<(), StoreError>>;

    fn get<'a>(
        &'a self,
        content_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredRecord>, StoreError>>;
}

impl<S: AsyncRecordStore> DynAsyncStore for S {
    fn write(&self, record: SignedRecord) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(AsyncRecordStore::write(self, record))
    }

    fn get<'a>(
        &'a self,
        content_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredRecord>, StoreError>> {
        Box::pin(AsyncRecordStore::get(self, content_id))
    }
}

/// Which store a URL names.
enum Backend {
    Sqlite,
    Postgres,
}

/// The backend of `url`, by its scheme (a `+driver` suffix is ignored).
fn backend(url: &str) -> Result<Backend, ClientError> {
    let scheme = url.trim().split_once("://").map_or("", |(scheme, _)| scheme);
    let dialect = scheme.split('+').next().unwrap_or_default().to_ascii_lowercase();
    let shown = || scheme.chars().take(32).collect::<String>();
    match dialect.as_str() {
        "sqlite" if cfg!(feature = "sqlite") => Ok(Backend::Sqlite),
        "sqlite" => Err(ClientError::StoreNotBuilt { scheme: shown(), feature: "sqlite" }),
        "postgres" | "postgresql" if cfg!(feature = "postgres") => Ok(Backend::Postgres),
        "postgres" | "postgresql" => {
            Err(ClientError::StoreNotBuilt { scheme: shown(), feature: "postgres" })
        }
        _ => Err(ClientError::UnsupportedUrl { scheme: shown() }),
    }
}

/// Logs a failed schema migration of a PostgreSQL store. A user without
/// the right to change the schema can still write to a current one; a
/// missing table shows at the first write as `SchemaMissing`.
#[cfg(feature = "postgres")]
fn schema_ready(migrated: Result<aistamp_store_pg::MigrationReport, StoreError>) {
    if let Err(error) = migrated {
        tracing::warn!(error = %error, "cannot migrate the PostgreSQL record store");
    }
}

/// Opens the blocking store `url` names, creating the database's table
/// when missing (an SQLite file too), as ai-stamp does.
pub(crate) fn open_blocking(url: &str) -> Result<Arc<dyn RecordStore>, ClientError> {
    match backend(url)? {
        #[cfg(feature = "sqlite")]
        Backend::Sqlite => Ok(Arc::new(aistamp_store_sqlite::SqliteStore::open(url)?)),
        #[cfg(feature = "postgres")]
        Backend::Postgres => {
            let store = aistamp_store_pg::BlockingPgStore::connect(url)?;
            schema_ready(store.migrate());
            Ok(Arc::new(store))
        }
        #[allow(unreachable_patterns)]
        _ => Err(ClientError::UnsupportedUrl { scheme: String::new() }),
    }
}

/// Opens the async store `url` names, as [`open_blocking`] does.
pub(crate) async fn open_async(url: &str) -> Result<Arc<dyn DynAsyncStore>, ClientError> {
    match backend(url)? {
        #[cfg(feature = "sqlite")]
        Backend::Sqlite => Ok(Arc::new(aistamp_store_sqlite::SqliteStore::open(url)?)),
        #[cfg(feature = "postgres")]
        Backend::Postgres => {
            let store = aistamp_store_pg::PgStore::connect(url).await?;
            schema_ready(store.migrate().await);
            Ok(Arc::new(store))
        }
        #[allow(unreachable_patterns)]
        _ => Err(ClientError::UnsupportedUrl { scheme: String::new() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_their_store_by_scheme() {
        assert!(matches!(backend("sqlite:///x.db"), Ok(Backend::Sqlite)));
        assert!(matches!(backend("sqlite+aiosqlite:///x.db"), Ok(Backend::Sqlite)));
        let err = backend("mysql://u:secret@h/db").err().unwrap();
        assert_eq!(
            err.to_string(),
            "unsupported database URL scheme 'mysql': expected sqlite:// or postgres://"
        );
        let pg = backend("postgresql+asyncpg://u:secret@h/db");
        if cfg!(feature = "postgres") {
            assert!(matches!(pg, Ok(Backend::Postgres)));
        } else {
            let err = pg.err().unwrap().to_string();
            assert!(
                err.contains("needs the 'postgres' feature") && !err.contains("secret"),
                "{err}"
            );
        }
    }
}
