//! Records to rows and rows back to records.
//!
//! Writing renders every column on the caller's thread, so that the single
//! writer thread only binds ready values. Reading is lenient where the
//! reference is (timestamps with a space or `T`, JSON in any key order and
//! spacing) and strict where leniency would let tampering hide (enum names
//! in exact case, no unknown JSON keys).

use aistamp_core::{
    LatencyMs, PiiResult, PolicyDecision, Record, SignedRecord, Status, StoreError, StoredRecord,
    Timestamp,
};
use rusqlite::Row;
use rusqlite::types::ValueRef;
use serde::de::DeserializeOwned;

/// The columns every read selects, in this order.
pub(crate) const SELECT_COLUMNS: &str = "id, content_id, app_id, feature_id, user_id, model, \
     prompt_hash, response_hash, hmac_signature, prompt_tokens, response_tokens, latency_ms, \
     timestamp, status, pii_result, policy_decision";

/// The one insert statement, prepared once by the writer.
pub(crate) const INSERT_SQL: &str = "INSERT INTO provenance_records (content_id, app_id, \
     feature_id, user_id, model, prompt_hash, response_hash, hmac_signature, prompt_tokens, \
     response_tokens, latency_ms, timestamp, status, pii_result, policy_decision) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)";

/// A record's column values, ready to bind.
#[derive(Debug)]
pub(crate) struct RowValues {
    pub(crate) record: Record,
    signature: String,
    timestamp: String,
    pii_result: Option<String>,
    policy_decision: Option<String>,
}

impl RowValues {
    /// Renders the columns of `signed`.
    pub(crate) fn new(signed: SignedRecord) -> Result<RowValues, StoreError> {
        let record = signed.record;
        Ok(RowValues {
            signature: signed.signature.to_hex(),
            timestamp: record.timestamp.to_sql_string(),
            pii_result: encode_json(record.pii_result.as_ref(), &record.content_id)?,
            policy_decision: encode_json(record.policy_decision.as_ref(), &record.content_id)?,
            record,
        })
    }

    /// Inserts the row with the writer's prepared statement.
    pub(crate) fn insert(&self, statement: &mut rusqlite::Statement<'_>) -> rusqlite::Result<()> {
        let r = &self.record;
        statement.execute(rusqlite::params![
            r.content_id,
            r.app_id,
            r.feature_id,
            r.user_id,
            r.model,
            r.prompt_hash,
            r.response_hash,
            self.signature,
            r.prompt_tokens,
            r.response_tokens,
            r.latency_ms.map(LatencyMs::get),
            self.timestamp,
            r.status.as_str(),
            self.pii_result,
            self.policy_decision,
        ])?;
        Ok(())
    }
}

/// Encodes a JSON column; `None` is stored as SQL NULL.
fn encode_json<T: serde::Serialize>(
    value: Option<&T>,
    content_id: &str,
) -> Result<Option<String>, StoreError> {
    value.map(serde_json::to_string).transpose().map_err(|err| StoreError::Backend {
        message: format!("cannot encode record '{content_id}': {err}"),
    })
}

/// Reads one row selected with [`SELECT_COLUMNS`].
///
/// # Errors
///
/// [`StoreError::InvalidRow`] naming the content id and the column when a
/// value is not what a record holds.
pub(crate) fn decode(row: &Row<'_>) -> Result<StoredRecord, StoreError> {
    let value = |index: usize| row.get_ref(index).unwrap_or(ValueRef::Null);
    let content_id = match value(1) {
        ValueRef::Text(text) => String::from_utf8_lossy(text).into_owned(),
        _ => {
            let id = match value(0) {
                ValueRef::Integer(id) => id.to_string(),
                _ => "?".to_string(),
            };
            return Err(StoreError::InvalidRow {
                content_id: format!("<row id {id}>"),
                reason: "column content_id is not text".to_string(),
            });
        }
    };
    let reader = Reader { row, content_id: &content_id };
    let mut record = Record {
        content_id: String::new(),
        app_id: reader.text(2, "app_id")?,
        feature_id: reader.text(3, "feature_id")?,
        user_id: reader.text(4, "user_id")?,
        model: reader.text(5, "model")?,
        prompt_hash: reader.text(6, "prompt_hash")?,
        response_hash: reader.optional_text(7, "response_hash")?,
        prompt_tokens: reader.integer(9, "prompt_tokens")?,
        response_tokens: reader.integer(10, "response_tokens")?,
        latency_ms: reader.latency(11)?,
        timestamp: reader.timestamp(12)?,
        status: reader.status(13)?,
        pii_result: reader.json::<PiiResult>(14, "pii_result")?,
        policy_decision: reader.json::<PolicyDecision>(15, "policy_decision")?,
    };
    let signature = reader.optional_text(8, "hmac_signature")?;
    record.content_id = content_id;
    Ok(StoredRecord { record, signature })
}

struct Reader<'a, 'r> {
    row: &'a Row<'r>,
    content_id: &'a str,
}

impl Reader<'_, '_> {
    fn invalid(&self, column: &str, expected: &str) -> StoreError {
        StoreError::InvalidRow {
            content_id: self.content_id.to_string(),
            reason: format!("column {column}: expected {expected}"),
        }
    }

    fn value(&self, index: usize) -> ValueRef<'_> {
        self.row.get_ref(index).unwrap_or(ValueRef::Null)
    }

    fn optional_str(&self, index: usize, column: &str) -> Result<Option<&str>, StoreError> {
        match self.value(index) {
            ValueRef::Null => Ok(None),
            ValueRef::Text(bytes) => {
                std::str::from_utf8(bytes).map(Some).map_err(|_| self.invalid(column, "UTF-8 text"))
            }
            _ => Err(self.invalid(column, "text")),
        }
    }

    fn optional_text(&self, index: usize, column: &str) -> Result<Option<String>, StoreError> {
        Ok(self.optional_str(index, column)?.map(str::to_string))
    }

    fn text(&self, index: usize, column: &str) -> Result<String, StoreError> {
        self.optional_text(index, column)?.ok_or_else(|| self.invalid(column, "text, not NULL"))
    }

    fn integer(&self, index: usize, column: &str) -> Result<Option<i64>, StoreError> {
        match self.value(index) {
            ValueRef::Null => Ok(None),
            ValueRef::Integer(n) => Ok(Some(n)),
            _ => Err(self.invalid(column, "an integer or NULL")),
        }
    }

    fn latency(&self, index: usize) -> Result<Option<LatencyMs>, StoreError> {
        let ms = match self.value(index) {
            ValueRef::Null => return Ok(None),
            ValueRef::Real(ms) => ms,
            // SQLite may keep a whole REAL as an integer on disk.
            ValueRef::Integer(ms) => ms as f64,
            _ => return Err(self.invalid("latency_ms", "a number or NULL")),
        };
        LatencyMs::new(ms).map(Some).map_err(|_| self.invalid("latency_ms", "a finite number"))
    }

    fn timestamp(&self, index: usize) -> Result<Timestamp, StoreError> {
        let text = self
            .optional_str(index, "timestamp")?
            .ok_or_else(|| self.invalid("timestamp", "a date and time, not NULL"))?;
        Timestamp::parse(text).map_err(|_| {
            self.invalid("timestamp", "a date and time such as 2025-03-14 15:09:26.535897")
        })
    }

    fn status(&self, index: usize) -> Result<Status, StoreError> {
        match self.optional_str(index, "status")? {
            Some("COMPLETED") => Ok(Status::Completed),
            Some("BLOCKED") => Ok(Status::Blocked),
            Some("ERROR") => Ok(Status::Error),
            _ => Err(self.invalid("status", "COMPLETED, BLOCKED or ERROR")),
        }
    }

    /// A JSON column; SQL NULL and JSON `null` both mean none.
    fn json<T: DeserializeOwned>(
        &self,
        index: usize,
        column: &str,
    ) -> Result<Option<T>, StoreError> {
        let Some(text) = self.optional_str(index, column)? else {
            return Ok(None);
        };
        aistamp_core::parse_json_column(text).map_err(|reason| StoreError::InvalidRow {
            content_id: self.content_id.to_string(),
            reason: format!("column {column}: {reason}"),
        })
    }
}
