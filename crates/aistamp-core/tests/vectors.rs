//! The 25 signature vectors made by ai-stamp 0.1.0: canonical text and
//! signature must be byte-identical.

use aistamp_core::{Record, SigningKey, canonical_json};

#[derive(serde::Deserialize)]
struct Vector {
    name: String,
    secret: String,
    record: Record,
    canonical: String,
    hmac: String,
}

fn vectors() -> Vec<Vector> {
    include_str!("data/signature-v1.jsonl")
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).expect("vector parses"))
        .collect()
}

#[test]
fn all_vectors_canonicalize_and_sign_exactly() {
    let vectors = vectors();
    assert_eq!(vectors.len(), 25);
    for v in &vectors {
        assert_eq!(canonical_json(&v.record), v.canonical, "canonical text of {}", v.name);
        let key = SigningKey::new(&v.secret).unwrap();
        assert_eq!(key.sign(&v.record).to_hex(), v.hmac, "signature of {}", v.name);
        assert!(key.verify(&v.record, &v.hmac), "verify {}", v.name);
    }
}

#[test]
fn every_vector_breaks_under_another_key() {
    let other = SigningKey::new("another-secret-key-0123456789abcdefXYZ").unwrap();
    for v in vectors() {
        assert!(!other.verify(&v.record, &v.hmac), "{}", v.name);
    }
}
