//! Classifies driver and pool errors into the backend-neutral
//! [`StoreError`] variants.

use aistamp_core::StoreError;
use tokio_postgres::error::SqlState;

/// The store error for a driver error.
pub(crate) fn classify(err: &tokio_postgres::Error) -> StoreError {
    let Some(db) = err.as_db_error() else {
        // Without an SQL state the failure is on the way to the server:
        // connecting, TLS, authentication exchange, a closed connection or
        // a timeout. Type conversion errors are the exception.
        let text = with_causes(err);
        let conversion = text.starts_with("error serializing")
            || text.starts_with("error deserializing")
            || text.starts_with("invalid column");
        return if conversion {
            StoreError::Backend { message: text }
        } else {
            StoreError::Unavailable { message: text }
        };
    };
    let message = format!("{} (SQLSTATE {})", db.message(), db.code().code());
    let code = db.code();
    // A missing function is one of migration V2's: the database was made by
    // the reference and never migrated here.
    if *code == SqlState::UNDEFINED_TABLE
        || *code == SqlState::UNDEFINED_COLUMN
        || *code == SqlState::UNDEFINED_FUNCTION
    {
        return StoreError::SchemaMissing { message: db.message().to_owned() };
    }
    if *code == SqlState::DISK_FULL {
        return StoreError::DiskFull { message };
    }
    let class = &code.code()[..2.min(code.code().len())];
    let unavailable = matches!(class, "08" | "28" | "57" | "3D")
        || *code == SqlState::TOO_MANY_CONNECTIONS
        || *code == SqlState::READ_ONLY_SQL_TRANSACTION;
    if unavailable { StoreError::Unavailable { message } } else { StoreError::Backend { message } }
}

/// `err` followed by each of its causes that its own text leaves out: a
/// failed TLS handshake, say, names the certificate problem only in its
/// cause.
pub(crate) fn with_causes(err: &tokio_postgres::Error) -> String {
    let mut text = err.to_string();
    let mut cause = std::error::Error::source(err);
    while let Some(current) = cause {
        let part = current.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = current.source();
    }
    text
}

/// The store error for a failure to get a pooled connection.
pub(crate) fn classify_pool(err: deadpool_postgres::PoolError) -> StoreError {
    use deadpool_postgres::PoolError;
    match err {
        PoolError::Backend(err) => classify(&err),
        PoolError::Timeout(kind) => StoreError::Unavailable {
            message: format!("timed out waiting for a connection ({kind:?})"),
        },
        PoolError::Closed => StoreError::Unavailable { message: "the store is closed".into() },
        other => StoreError::Unavailable { message: other.to_string() },
    }
}
