//! SHA-256 content hashes and content ids.

use sha2::{Digest, Sha256};

/// Lowercase hex of the SHA-256 of `text`'s UTF-8 bytes: the form of
/// `prompt_hash` and `response_hash`.
pub fn sha256_hex(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    hex_lower(&digest)
}

/// A fresh content id: a UUID v7 in its hyphenated lowercase form.
///
/// A v7 id starts with the creation time in milliseconds, and ids made by
/// one process increase strictly, so each new record's id lands at the end
/// of the stores' `content_id` indexes instead of at a random page of them:
/// a commit of many records then rewrites a few index pages rather than one
/// per record. The rest of the id is random, and ids from different
/// processes or machines stay unique as v4 ids do. Any string is accepted
/// as a content id when records are read or verified.
pub fn new_content_id() -> String {
    uuid::Uuid::now_v7().hyphenated().to_string()
}

pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_known_digests() {
        assert_eq!(
            sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex("café"),
            "850f7dc43910ff890f8879c0ed26fe697c93a067ad93a7d50f466a7028a9bf4e"
        );
    }

    #[test]
    fn content_ids_are_uuid_v7_and_increase() {
        let ids: Vec<String> = (0..1000).map(|_| new_content_id()).collect();
        for id in &ids {
            let parsed = uuid::Uuid::parse_str(id).unwrap();
            assert_eq!(parsed.get_version_num(), 7, "{id}");
            assert_eq!(id.len(), 36);
            assert_eq!(*id, id.to_ascii_lowercase());
        }
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "ids made in turn sort in turn");
    }
}
