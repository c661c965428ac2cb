//! Checking that a text still matches its record and that the record is
//! unchanged since it was signed.

use serde::{Deserialize, Serialize};

use crate::hash::sha256_hex;
use crate::signing::SigningKey;
use crate::store::{RecordStore, StoreError, StoredRecord};

/// The outcome of verifying a text against a stored record, with the
/// fields ai-stamp 0.1.0 reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationResult {
    /// The record checked.
    pub content_id: String,
    /// `hash_match && hmac_valid`.
    pub verified: bool,
    /// The text's SHA-256 equals the stored response hash.
    pub hash_match: bool,
    /// The stored signature is the signature of the stored record.
    pub hmac_valid: bool,
    /// `!hash_match`: the text differs from what was generated.
    pub drift_detected: bool,
    /// The stored response hash, empty when the record has none.
    pub original_hash: String,
    /// SHA-256 of the text given.
    pub current_hash: String,
}

/// Why a verification could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// No record has this content id.
    #[error("no provenance record found for content id '{content_id}'")]
    NotFound {
        /// The content id asked for.
        content_id: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Verifies `current_text` against the record `content_id` in `store`.
///
/// `hash_match` compares the text's hash with the stored response hash (a
/// record without one never matches); `hmac_valid` recomputes the signature
/// from the stored columns and compares it with the stored one in constant
/// time (a record without a signature is never valid).
///
/// # Errors
///
/// [`VerifyError::NotFound`] for an unknown content id; store failures.
pub fn verify_record<S: RecordStore + ?Sized>(
    content_id: &str,
    current_text: &str,
    store: &S,
    key: &SigningKey,
) -> Result<VerificationResult, VerifyError> {
    let stored = store
        .get(content_id)?
        .ok_or_else(|| VerifyError::NotFound { content_id: content_id.to_string() })?;
    Ok(verify_stored(&stored, current_text, key))
}

/// Verifies `current_text` against a record already read from a store.
pub fn verify_stored(
    stored: &StoredRecord,
    current_text: &str,
    key: &SigningKey,
) -> VerificationResult {
    let record = &stored.record;
    let current_hash = sha256_hex(current_text);
    let hash_match = record.response_hash.as_deref() == Some(current_hash.as_str());
    let hmac_valid = stored.signature.as_deref().is_some_and(|sig| key.verify(record, sig));
    VerificationResult {
        content_id: record.content_id.clone(),
        verified: hash_match && hmac_valid,
        hash_match,
        hmac_valid,
        drift_detected: !hash_match,
        original_hash: record.response_hash.clone().unwrap_or_default(),
        current_hash,
    }
}
