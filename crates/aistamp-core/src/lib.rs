//! The heart of aistamp: the provenance record, its canonical form, its
//! HMAC signature, the configuration and the interface every store implements.
//!
//! A record describes one model call: who asked (app, feature, user), which
//! model answered, SHA-256 hashes of the prompt and the response (never the
//! text), token counts, latency, time, status, the PII matches and the policy
//! decision. [`SigningKey::sign`] computes its signature over the canonical
//! text defined in `docs/signature-v1.md`, byte for byte what ai-stamp 0.1.0
//! signs, so records written by either implementation verify in the other.
//!
//! # Example
//!
//! ```
//! use aistamp_core::{Record, SigningKey, Status, Timestamp, sha256_hex};
//!
//! let key = SigningKey::new("an-example-secret-of-at-least-32-bytes")?;
//! let mut record = Record::new("my_app", "summarizer", "user_42", "gpt-4o", "the prompt");
//! record.response_hash = Some(sha256_hex("the response"));
//! record.status = Status::Completed;
//! let signature = key.sign(&record);
//! assert!(key.verify(&record, &signature.to_hex()));
//! # Ok::<(), aistamp_core::KeyError>(())
//! ```
#![deny(missing_docs)]

mod canonical;
mod config;
mod hash;
mod record;
mod signing;
mod store;
mod time;
mod verify;

pub use canonical::{canonical_json, write_canonical};
pub use config::{Config, ConfigError, ConfigLayer, DEFAULT_DATABASE_URL, LogLevel};
pub use hash::{new_content_id, sha256_hex};
pub use record::{
    LatencyMs, ParseEnumError, PiiMatch, PiiResult, PolicyAction, PolicyDecision, Record, Severity,
    Status,
};
pub use signing::{KeyError, Signature, SigningKey};
pub use store::{
    AsyncRecordStore, QueryPage, RecordQuery, RecordStore, SignedRecord, StoreError, StoredRecord,
    check_migration_history_entry, parse_json_column,
};
pub use time::{Timestamp, TimestampError};
pub use verify::{VerificationResult, VerifyError, verify_record, verify_stored};
