//! Converting between records and `provenance_records` rows: reading
//! columns into records, and checking and encoding records for insertion.

use std::error::Error;
use std::time::SystemTime;

use aistamp_core::{
    LatencyMs, PiiResult, PolicyDecision, Record, SignedRecord, Status, StoreError, StoredRecord,
    Timestamp,
};
use serde::de::DeserializeOwned;
use tokio_postgres::Row;
use tokio_postgres::types::{FromSql, Type};

/// The columns every read selects, in this order.
pub(crate) const COLUMNS: &str = "content_id, app_id, feature_id, user_id, model, prompt_hash, \
     response_hash, hmac_signature, prompt_tokens, response_tokens, latency_ms, timestamp, \
     status, pii_result, policy_decision";

/// Number of columns in [`COLUMNS`].
pub(crate) const COLUMN_COUNT: usize = 15;

/// Microseconds between 1970-01-01 and 2000-01-01, PostgreSQL's epoch.
const PG_EPOCH_UNIX_MICROS: i64 = 946_684_800_000_000;

type BoxError = Box<dyn Error + Sync + Send>;

/// A `timestamp` or `timestamptz` column as microseconds since 2000-01-01.
struct PgMicros(i64);

impl<'a> FromSql<'a> for PgMicros {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<PgMicros, BoxError> {
        let bytes: [u8; 8] = raw.try_into().map_err(|_| "expected 8 bytes")?;
        Ok(PgMicros(i64::from_be_bytes(bytes)))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::TIMESTAMP || *ty == Type::TIMESTAMPTZ
    }
}

/// An integer column of any width.
struct PgInt(i64);

impl<'a> FromSql<'a> for PgInt {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<PgInt, BoxError> {
        match *ty {
            Type::INT2 => i16::from_sql(ty, raw).map(|v| PgInt(v.into())),
            Type::INT4 => i32::from_sql(ty, raw).map(|v| PgInt(v.into())),
            _ => i64::from_sql(ty, raw).map(PgInt),
        }
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::INT2 || *ty == Type::INT4 || *ty == Type::INT8
    }
}

/// A `json` or `jsonb` column as its text.
struct JsonText<'a>(&'a str);

impl<'a> FromSql<'a> for JsonText<'a> {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<JsonText<'a>, BoxError> {
        let raw = if *ty == Type::JSONB {
            match raw.split_first() {
                Some((1, rest)) => rest,
                _ => return Err("unsupported jsonb format version".into()),
            }
        } else {
            raw
        };
        Ok(JsonText(std::str::from_utf8(raw)?))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::JSON || *ty == Type::JSONB
    }
}

/// Reads a row selected with [`COLUMNS`] into a record.
///
/// # Errors
///
/// [`StoreError::InvalidRow`] naming the content id and the column.
pub(crate) fn decode(row: &Row) -> Result<StoredRecord, StoreError> {
    let content_id: String = match row.try_get::<_, String>(0) {
        Ok(id) => id,
        Err(err) => {
            return Err(StoreError::InvalidRow {
                content_id: "<unreadable>".into(),
                reason: format!(
                    "column content_id: {}",
                    err.source().map_or(err.to_string(), |e| e.to_string())
                ),
            });
        }
    };
    let invalid = |column: &str, what: String| StoreError::InvalidRow {
        content_id: content_id.clone(),
        reason: format!("column {column}: {what}"),
    };
    let get = |index: usize, column: &str| -> Result<Option<String>, StoreError> {
        row.try_get::<_, Option<String>>(index).map_err(|err| invalid(column, driver_reason(&err)))
    };
    let required = |index: usize, column: &str| -> Result<String, StoreError> {
        get(index, column)?.ok_or_else(|| invalid(column, "expected a value, found NULL".into()))
    };
    let int = |index: usize, column: &str| -> Result<Option<i64>, StoreError> {
        row.try_get::<_, Option<PgInt>>(index)
            .map(|v| v.map(|v| v.0))
            .map_err(|err| invalid(column, driver_reason(&err)))
    };

    let latency_ms = match row
        .try_get::<_, Option<f64>>(10)
        .map_err(|err| invalid("latency_ms", driver_reason(&err)))?
    {
        None => None,
        Some(ms) => Some(LatencyMs::new(ms).map_err(|err| invalid("latency_ms", err.to_string()))?),
    };
    let micros =
        row.try_get::<_, PgMicros>(11).map_err(|err| invalid("timestamp", driver_reason(&err)))?.0;
    let timestamp = micros
        .checked_add(PG_EPOCH_UNIX_MICROS)
        .and_then(|unix| Timestamp::from_unix_micros(unix).ok())
        .ok_or_else(|| invalid("timestamp", "expected a time between years 1 and 9999".into()))?;
    // Exactly as the reference writes it: its reader is case-sensitive.
    let status = match get(12, "status")?.as_deref() {
        Some("COMPLETED") => Status::Completed,
        Some("BLOCKED") => Status::Blocked,
        Some("ERROR") => Status::Error,
        _ => return Err(invalid("status", "expected COMPLETED, BLOCKED or ERROR".into())),
    };

    let record = Record {
        app_id: required(1, "app_id")?,
        feature_id: required(2, "feature_id")?,
        user_id: required(3, "user_id")?,
        model: required(4, "model")?,
        prompt_hash: required(5, "prompt_hash")?,
        response_hash: get(6, "response_hash")?,
        prompt_tokens: int(8, "prompt_tokens")?,
        response_tokens: int(9, "response_tokens")?,
        latency_ms,
        timestamp,
        status,
        pii_result: json::<PiiResult>(row, 13, "pii_result", &invalid)?,
        policy_decision: json::<PolicyDecision>(row, 14, "policy_decision", &invalid)?,
        content_id: content_id.clone(),
    };
    let signature = get(7, "hmac_signature")?;
    Ok(StoredRecord { record, signature })
}

fn json<T: DeserializeOwned>(
    row: &Row,
    index: usize,
    column: &str,
    invalid: &dyn Fn(&str, String) -> StoreError,
) -> Result<Option<T>, StoreError> {
    let Some(text) = row
        .try_get::<_, Option<JsonText<'_>>>(index)
        .map_err(|err| invalid(column, driver_reason(&err)))?
    else {
        return Ok(None);
    };
    // The reference stores an absent value either as SQL NULL or as the
    // JSON text `null`; both read as absent.
    aistamp_core::parse_json_column(text.0).map_err(|reason| invalid(column, reason))
}

fn driver_reason(err: &tokio_postgres::Error) -> String {
    match err.source() {
        Some(source) => format!("{err}: {source}"),
        None => err.to_string(),
    }
}

/// A record checked against the column limits and encoded for insertion.
#[derive(Debug)]
pub(crate) struct EncodedRow {
    pub(crate) content_id: String,
    pub(crate) app_id: String,
    pub(crate) feature_id: String,
    pub(crate) user_id: String,
    pub(crate) model: String,
    pub(crate) prompt_hash: String,
    pub(crate) response_hash: Option<String>,
    pub(crate) signature: String,
    pub(crate) prompt_tokens: Option<i32>,
    pub(crate) response_tokens: Option<i32>,
    pub(crate) latency_ms: Option<f64>,
    pub(crate) timestamp: SystemTime,
    pub(crate) status: &'static str,
    pub(crate) pii_result: Option<String>,
    pub(crate) policy_decision: Option<String>,
}

/// Checks `signed` against the reference schema's column limits and
/// encodes it.
///
/// # Errors
///
/// [`StoreError::Backend`] naming the column when a value does not fit,
/// so that one bad record never fails the writes batched with it.
pub(crate) fn encode(signed: SignedRecord) -> Result<EncodedRow, StoreError> {
    let SignedRecord { record, signature } = signed;
    let shown_id: String = record.content_id.chars().take(64).collect();
    let reject = |column: &str, what: String| StoreError::Backend {
        message: format!("record '{shown_id}' cannot be stored: column {column} {what}"),
    };
    let text = |value: String, column: &str, max: usize| -> Result<String, StoreError> {
        let chars = value.chars().count();
        if chars > max {
            return Err(reject(column, format!("holds at most {max} characters, got {chars}")));
        }
        if value.contains('\0') {
            return Err(reject(column, "cannot hold a NUL character".into()));
        }
        Ok(value)
    };
    let tokens = |value: Option<i64>, column: &str| -> Result<Option<i32>, StoreError> {
        value
            .map(|count| {
                i32::try_from(count).map_err(|_| {
                    reject(column, format!("is an INTEGER column: {count} is out of its range"))
                })
            })
            .transpose()
    };
    let to_json = |value: Result<String, serde_json::Error>, column: &str| {
        value.map_err(|err| reject(column, format!("cannot be encoded: {err}")))
    };

    Ok(EncodedRow {
        content_id: text(record.content_id, "content_id", 36)?,
        app_id: text(record.app_id, "app_id", 255)?,
        feature_id: text(record.feature_id, "feature_id", 255)?,
        user_id: text(record.user_id, "user_id", 255)?,
        model: text(record.model, "model", 255)?,
        prompt_hash: text(record.prompt_hash, "prompt_hash", 64)?,
        response_hash: record.response_hash.map(|h| text(h, "response_hash", 64)).transpose()?,
        signature: signature.to_hex(),
        prompt_tokens: tokens(record.prompt_tokens, "prompt_tokens")?,
        response_tokens: tokens(record.response_tokens, "response_tokens")?,
        latency_ms: record.latency_ms.map(LatencyMs::get),
        timestamp: record.timestamp.to_system_time(),
        status: record.status.as_str(),
        pii_result: record
            .pii_result
            .as_ref()
            .map(|p| to_json(serde_json::to_string(p), "pii_result"))
            .transpose()?,
        policy_decision: record
            .policy_decision
            .as_ref()
            .map(|p| to_json(serde_json::to_string(p), "policy_decision"))
            .transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_that_do_not_fit_are_refused_by_column() {
        let key = aistamp_core::SigningKey::new("a-test-secret-of-at-least-32-bytes!").unwrap();
        let mut record = Record::new("a", "f", "u", "m", "p");
        record.response_tokens = Some(i64::from(i32::MAX) + 1);
        let signature = key.sign(&record);
        let err = encode(SignedRecord { record, signature }).unwrap_err().to_string();
        assert!(err.contains("column response_tokens"), "{err}");
        let mut record = Record::new("a", "f", "u", "m", "p");
        record.model = "m".repeat(256);
        let signature = key.sign(&record);
        let err = encode(SignedRecord { record, signature }).unwrap_err().to_string();
        assert!(err.contains("column model holds at most 255 characters, got 256"), "{err}");
    }
}
