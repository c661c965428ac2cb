//! Turning SQLite failures into the backend-neutral [`StoreError`].

use aistamp_core::StoreError;
use rusqlite::ErrorCode;

/// Classifies a database failure. Constraint failures are classified where
/// the content id is known, by [`is_unique_violation`].
pub(crate) fn classify(err: &rusqlite::Error) -> StoreError {
    let message = err.to_string();
    let rusqlite::Error::SqliteFailure(failure, _) = err else {
        return StoreError::Backend { message };
    };
    match failure.code {
        ErrorCode::DiskFull => StoreError::DiskFull { message },
        ErrorCode::DatabaseBusy
        | ErrorCode::DatabaseLocked
        | ErrorCode::CannotOpen
        | ErrorCode::PermissionDenied
        | ErrorCode::ReadOnly
        | ErrorCode::SystemIoFailure
        | ErrorCode::NotADatabase
        | ErrorCode::NoLargeFileSupport
        | ErrorCode::FileLockingProtocolFailed => StoreError::Unavailable { message },
        _ if message.contains("no such table: provenance_records")
            || message.starts_with("no such column") =>
        {
            StoreError::SchemaMissing { message }
        }
        _ => StoreError::Backend { message },
    }
}

/// Whether `err` is a UNIQUE or PRIMARY KEY constraint failure.
pub(crate) fn is_unique_violation(err: &rusqlite::Error) -> bool {
    matches!(
        err,
        rusqlite::Error::SqliteFailure(failure, _)
            if failure.code == ErrorCode::ConstraintViolation
                && (failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
    )
}

/// The same error again: [`StoreError`] is not `Clone`, and one failed
/// commit has to be reported to every writer in it.
pub(crate) fn duplicate(err: &StoreError) -> StoreError {
    match err {
        StoreError::InvalidUrl { url, reason } => {
            StoreError::InvalidUrl { url: url.clone(), reason: reason.clone() }
        }
        StoreError::DuplicateContentId { content_id } => {
            StoreError::DuplicateContentId { content_id: content_id.clone() }
        }
        StoreError::Unavailable { message } => StoreError::Unavailable { message: message.clone() },
        StoreError::DiskFull { message } => StoreError::DiskFull { message: message.clone() },
        StoreError::SchemaMissing { message } => {
            StoreError::SchemaMissing { message: message.clone() }
        }
        StoreError::InvalidRow { content_id, reason } => {
            StoreError::InvalidRow { content_id: content_id.clone(), reason: reason.clone() }
        }
        StoreError::InvalidQuery { message } => {
            StoreError::InvalidQuery { message: message.clone() }
        }
        other => StoreError::Backend { message: other.to_string() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_table_means_run_migrate() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let err = conn.execute("SELECT * FROM provenance_records", []).unwrap_err();
        let classified = classify(&err);
        assert!(matches!(classified, StoreError::SchemaMissing { .. }), "{classified:?}");
        assert!(classified.to_string().contains("run `aistamp migrate`"));
    }

    #[test]
    fn unique_violations_are_recognized() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (a TEXT UNIQUE); INSERT INTO t VALUES ('x');").unwrap();
        let err = conn.execute("INSERT INTO t VALUES ('x')", []).unwrap_err();
        assert!(is_unique_violation(&err));
        let other = conn.execute("INSERT INTO nowhere VALUES (1)", []).unwrap_err();
        assert!(!is_unique_violation(&other));
        assert!(matches!(classify(&other), StoreError::Backend { .. }));
    }
}
