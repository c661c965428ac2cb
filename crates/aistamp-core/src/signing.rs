//! The signing key and HMAC-SHA256 signatures over the canonical text.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::canonical::write_canonical;
use crate::hash::hex_lower;
use crate::record::Record;

type HmacSha256 = Hmac<Sha256>;

/// The shortest secret accepted, in bytes.
const MIN_SECRET_BYTES: usize = 32;

/// The secret that signs and verifies records.
///
/// Built from a secret of at least 32 bytes that is not all whitespace. The
/// secret is wiped from memory when the key is dropped, and neither `Debug`
/// nor `Display` shows it: only its length.
#[derive(Clone)]
pub struct SigningKey {
    secret: Zeroizing<Vec<u8>>,
    // Keyed once; cloning the keyed state is cheaper than re-keying per record.
    mac: HmacSha256,
}

/// A secret that cannot sign records.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Fewer than 32 bytes.
    #[error("secret key is {len} bytes long: expected at least 32 bytes")]
    TooShort {
        /// The secret's length in bytes.
        len: usize,
    },
    /// Only whitespace.
    #[error("secret key is only whitespace: expected at least 32 bytes of real secret")]
    Blank,
}

impl SigningKey {
    /// Builds a key from `secret`, whose UTF-8 bytes are the HMAC key.
    ///
    /// # Errors
    ///
    /// [`KeyError::TooShort`] below 32 bytes, [`KeyError::Blank`] when the
    /// secret is only whitespace.
    pub fn new(secret: &str) -> Result<SigningKey, KeyError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(KeyError::TooShort { len: secret.len() });
        }
        if secret.trim().is_empty() {
            return Err(KeyError::Blank);
        }
        let secret = Zeroizing::new(secret.as_bytes().to_vec());
        let mac = HmacSha256::new_from_slice(&secret).map_err(|_| KeyError::Blank)?;
        Ok(SigningKey { secret, mac })
    }

    /// The secret's length in bytes, the only thing about it ever shown.
    pub fn len(&self) -> usize {
        self.secret.len()
    }

    /// Always false: a key holds at least 32 bytes.
    pub fn is_empty(&self) -> bool {
        self.secret.is_empty()
    }

    /// Signs `record`: HMAC-SHA256 over its canonical text.
    pub fn sign(&self, record: &Record) -> Signature {
        let mut text = Vec::with_capacity(1024);
        write_canonical(record, &mut text);
        self.sign_bytes(&text)
    }

    /// Signs arbitrary bytes with the key.
    pub fn sign_bytes(&self, message: &[u8]) -> Signature {
        let mut mac = self.mac.clone();
        mac.update(message);
        Signature(mac.finalize().into_bytes().into())
    }

    /// Whether `signature_hex` (as stored) is the signature of `record`.
    /// The comparison takes the same time wherever the first difference is;
    /// text that is not 64 hex digits never verifies.
    pub fn verify(&self, record: &Record, signature_hex: &str) -> bool {
        let Some(expected) = Signature::from_hex(signature_hex) else {
            return false;
        };
        let mut text = Vec::with_capacity(1024);
        write_canonical(record, &mut text);
        let mut mac = self.mac.clone();
        mac.update(&text);
        mac.verify_slice(&expected.0).is_ok()
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey(<{} bytes redacted>)", self.secret.len())
    }
}

impl fmt::Display for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<secret key, {} bytes>", self.secret.len())
    }
}

/// An HMAC-SHA256 signature. Stored as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature([u8; 32]);

impl Signature {
    /// The stored form: 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex_lower(&self.0)
    }

    /// Parses the stored form, 64 lowercase hex digits; `None` for anything
    /// else, as the stored text must equal the signature's text exactly.
    pub fn from_hex(text: &str) -> Option<Signature> {
        fn nibble(b: u8) -> Option<u8> {
            match b {
                b'0'..=b'9' => Some(b - b'0'),
                b'a'..=b'f' => Some(b - b'a' + 10),
                _ => None,
            }
        }
        let bytes = text.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            *slot = nibble(pair[0])? << 4 | nibble(pair[1])?;
        }
        Some(Signature(out))
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", self.to_hex())
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "vector-secret-key-0123456789abcdefXYZ";

    #[test]
    fn short_and_blank_secrets_are_refused() {
        assert_eq!(SigningKey::new("short").unwrap_err(), KeyError::TooShort { len: 5 });
        assert_eq!(SigningKey::new(&" ".repeat(40)).unwrap_err(), KeyError::Blank);
        // 11 characters but 33 bytes: bytes are what count.
        assert!(SigningKey::new("ééééééééééééééééx").is_ok());
        assert!(SigningKey::new("ééééééééééééééé").is_err());
    }

    #[test]
    fn the_secret_never_shows() {
        let key = SigningKey::new(SECRET).unwrap();
        for shown in [format!("{key:?}"), format!("{key}")] {
            assert!(!shown.contains("vector"), "{shown}");
            assert!(shown.contains("37 bytes"), "{shown}");
        }
    }

    #[test]
    fn signature_hex_round_trips_and_rejects_junk() {
        let sig = SigningKey::new(SECRET).unwrap().sign_bytes(b"x");
        assert_eq!(Signature::from_hex(&sig.to_hex()), Some(sig));
        assert_eq!(Signature::from_hex(&sig.to_hex().to_uppercase()), None);
        assert_eq!(Signature::from_hex("zz"), None);
        assert_eq!(Signature::from_hex(&"g".repeat(64)), None);
        assert_eq!(Signature::from_hex(&"é".repeat(32)), None);
    }
}
