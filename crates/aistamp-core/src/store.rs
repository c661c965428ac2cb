//! The interface every record store implements, blocking and async.
//!
//! The store crates (`aistamp-store-sqlite`, `aistamp-store-pg`) are the only
//! code that speaks SQL; everything above them sees records, queries and
//! [`StoreError`]s that mean the same thing on every backend.

use std::future::Future;

use serde::de::DeserializeOwned;

use crate::record::{PolicyAction, Record, Severity, Status};
use crate::signing::Signature;
use crate::time::Timestamp;

/// A record with the signature to store beside it.
#[derive(Clone, Debug, PartialEq)]
pub struct SignedRecord {
    /// The record.
    pub record: Record,
    /// Its signature.
    pub signature: Signature,
}

/// A record as read back from a store, with the signature text stored
/// beside it (`None` when the row has none).
#[derive(Clone, Debug, PartialEq)]
pub struct StoredRecord {
    /// The record, rebuilt from the row's columns.
    pub record: Record,
    /// The `hmac_signature` column, exactly as stored.
    pub signature: Option<String>,
}

/// Filters for reading records; every filter that is set must hold.
///
/// Results come ordered by timestamp, then by insertion order (the row id),
/// on every backend. `limit: None` reads every match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecordQuery {
    /// Exactly this content id.
    pub content_id: Option<String>,
    /// Exactly this user.
    pub user_id: Option<String>,
    /// Exactly this application.
    pub app_id: Option<String>,
    /// Exactly this feature.
    pub feature_id: Option<String>,
    /// Exactly this model.
    pub model: Option<String>,
    /// Exactly this status.
    pub status: Option<Status>,
    /// The record's highest PII severity is exactly this.
    pub pii_severity: Option<Severity>,
    /// The policy decision's action is exactly this.
    pub policy_action: Option<PolicyAction>,
    /// At or after this instant.
    pub from: Option<Timestamp>,
    /// At or before this instant.
    pub to: Option<Timestamp>,
    /// At most this many records; `None` for all.
    pub limit: Option<u64>,
    /// Skip this many records first.
    pub offset: u64,
}

/// One page of query results.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryPage {
    /// The records of this page, in the documented order.
    pub records: Vec<StoredRecord>,
    /// How many records match the filters in all, regardless of the page.
    pub total_count: u64,
}

/// A store failure, classified the same way on every backend.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A database URL that cannot be used. The URL is shown without its
    /// password.
    #[error("invalid database URL '{url}': {reason}")]
    InvalidUrl {
        /// The URL, password removed.
        url: String,
        /// What was expected.
        reason: String,
    },
    /// A record with this content id is already stored.
    #[error("a record with content id '{content_id}' already exists")]
    DuplicateContentId {
        /// The content id.
        content_id: String,
    },
    /// The database cannot be reached or opened.
    #[error("database unavailable: {message}")]
    Unavailable {
        /// What failed.
        message: String,
    },
    /// The disk or the database is full.
    #[error("database full: {message}")]
    DiskFull {
        /// What failed.
        message: String,
    },
    /// The database has no `provenance_records` table, or an older one.
    #[error("database schema missing or out of date ({message}): run `aistamp migrate`")]
    SchemaMissing {
        /// What was missing.
        message: String,
    },
    /// A stored row that cannot be read back as a record.
    #[error("stored record '{content_id}' cannot be read: {reason}")]
    InvalidRow {
        /// The row's content id.
        content_id: String,
        /// Which column holds what instead of what was expected.
        reason: String,
    },
    /// A query the store cannot run.
    #[error("invalid query: {message}")]
    InvalidQuery {
        /// What is wrong.
        message: String,
    },
    /// Any other database failure.
    #[error("database error: {message}")]
    Backend {
        /// The database's own message.
        message: String,
    },
}

/// Checks one row of refinery's migration history table
/// (`refinery_schema_history`) before refinery reads it: refinery expects
/// `applied_on` to be an RFC 3339 time and `checksum` an unsigned 64-bit
/// integer, both as it wrote them, and panics on anything else. The stores
/// call this on every history row, so that a row edited by hand fails the
/// migration with an error instead.
///
/// # Errors
///
/// [`StoreError::Backend`] naming the migration version, the column and
/// the value found (at most 40 characters of it) and what was expected.
pub fn check_migration_history_entry(
    version: i64,
    applied_on: &str,
    checksum: &str,
) -> Result<(), StoreError> {
    let bad = |column: &str, value: &str, expected: &str| StoreError::Backend {
        message: format!(
            "migration history row for version {version} has {column} '{}': expected {expected}; \
             the refinery_schema_history table was edited by hand",
            value.chars().take(40).collect::<String>()
        ),
    };
    let rfc3339 = time::format_description::well_known::Rfc3339;
    if time::OffsetDateTime::parse(applied_on, &rfc3339).is_err() {
        return Err(bad("applied_on", applied_on, "an RFC 3339 time such as 2026-01-31T12:00:00Z"));
    }
    if checksum.parse::<u64>().is_err() {
        return Err(bad("checksum", checksum, "an unsigned 64-bit integer"));
    }
    Ok(())
}

/// Parses a stored JSON column (`pii_result` or `policy_decision`) into
/// its record type; the JSON text `null` is none, as SQL NULL is.
///
/// # Errors
///
/// A reason that names keys and the position but never quotes stored
/// values, which may hold anything: for example "unknown field `extra` at
/// line 1 column 60" or "malformed JSON at line 1 column 1". Each store
/// wraps it into [`StoreError::InvalidRow`] with the content id and column.
pub fn parse_json_column<T: DeserializeOwned>(text: &str) -> Result<Option<T>, String> {
    serde_json::from_str::<Option<T>>(text).map_err(|err| {
        let message = err.to_string();
        let position = format!("line {} column {}", err.line(), err.column());
        if message.starts_with("unknown field") || message.starts_with("missing field") {
            let first = message.split(", expected").next().unwrap_or(&message);
            let first: String = first.chars().take(80).collect();
            return format!("{first} at {position}");
        }
        match err.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                format!("malformed JSON at {position}")
            }
            _ => format!("JSON of the wrong shape at {position}"),
        }
    })
}

/// A blocking record store.
pub trait RecordStore: Send + Sync {
    /// Stores `record`. When this returns `Ok`, the record is durable.
    ///
    /// # Errors
    ///
    /// [`StoreError::DuplicateContentId`] when the content id is taken, or
    /// any failure of the database.
    fn write(&self, record: SignedRecord) -> Result<(), StoreError>;

    /// The record with `content_id`, or `None`.
    ///
    /// # Errors
    ///
    /// Database failures, and [`StoreError::InvalidRow`] for a row that is
    /// not a valid record.
    fn get(&self, content_id: &str) -> Result<Option<StoredRecord>, StoreError>;

    /// One page of the records that match `query`, with the total count.
    ///
    /// # Errors
    ///
    /// As [`RecordStore::get`].
    fn query(&self, query: &RecordQuery) -> Result<QueryPage, StoreError>;

    /// Calls `visit` with every record that matches `query`, in the query's
    /// order, without holding them all in memory. A row that cannot be
    /// read is passed as `Err` and the walk goes on. Returns how many rows
    /// were visited.
    ///
    /// # Errors
    ///
    /// Database failures that end the walk.
    fn for_each(
        &self,
        query: &RecordQuery,
        visit: &mut dyn FnMut(Result<StoredRecord, StoreError>),
    ) -> Result<u64, StoreError>;
}

/// An async record store, for use on a Tokio runtime.
pub trait AsyncRecordStore: Send + Sync {
    /// As [`RecordStore::write`].
    fn write(&self, record: SignedRecord) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// As [`RecordStore::get`].
    fn get(
        &self,
        content_id: &str,
    ) -> impl Future<Output = Result<Option<StoredRecord>, StoreError>> + Send;

    /// As [`RecordStore::query`].
    fn query(
        &self,
        query: &RecordQuery,
    ) -> impl Future<Output = Result<QueryPage, StoreError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::PolicyDecision;

    #[test]
    fn migration_history_rows_as_refinery_writes_them_pass() {
        let written = "2026-12-04T05:11:14.123456789Z";
        assert!(check_migration_history_entry(1, written, "18446744073709551615").is_ok());
        assert!(check_migration_history_entry(2, "2026-12-04T05:11:14+01:00", "0").is_ok());
    }

    #[test]
    fn migration_history_rows_edited_by_hand_name_the_value() {
        let err = check_migration_history_entry(2, "yesterday", "42").unwrap_err();
        let message = err.to_string();
        assert!(message.contains("version 2 has applied_on 'yesterday'"), "{message}");
        assert!(message.contains("expected an RFC 3339 time"), "{message}");

        let err = check_migration_history_entry(1, "2026-12-04T05:11:14Z", "-1").unwrap_err();
        assert!(err.to_string().contains("checksum '-1': expected an unsigned 64-bit"), "{err}");
        let err = check_migration_history_entry(1, "2026-13-04T05:11:14Z", "1").unwrap_err();
        assert!(err.to_string().contains("applied_on '2026-13-04T05:11:14Z'"), "{err}");
    }

    #[test]
    fn json_column_errors_name_keys_but_never_values() {
        let parse = parse_json_column::<PolicyDecision>;
        let unknown = parse(r#"{"action":"ALLOW","rule_name":null,"reason":null,"extra":1}"#);
        assert!(unknown.unwrap_err().starts_with("unknown field `extra` at line 1"));
        let missing = parse(r#"{"rule_name":null,"reason":null}"#).unwrap_err();
        assert!(missing.starts_with("missing field `action` at line 1"), "{missing}");
        let wrong = parse(r#"{"action":"secret@example.com","rule_name":null,"reason":null}"#);
        let wrong = wrong.unwrap_err();
        assert!(wrong.starts_with("JSON of the wrong shape"), "{wrong}");
        assert!(!wrong.contains("secret@"), "{wrong}");
        assert!(parse("{nope").unwrap_err().starts_with("malformed JSON at line 1"));
        assert_eq!(parse("null"), Ok(None));
        let ok = parse(r#"{ "reason": null, "rule_name": null, "action": "WARN" }"#).unwrap();
        assert_eq!(ok.map(|d| d.action), Some(crate::record::PolicyAction::Warn));
    }
}
