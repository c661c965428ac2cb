//! Helpers shared by the integration tests: a key and record builders.
#![allow(dead_code, unreachable_pub)]

use aistamp_core::{
    LatencyMs, PiiMatch, PiiResult, PolicyAction, PolicyDecision, Record, Severity, SignedRecord,
    SigningKey, Status, Timestamp, sha256_hex,
};

pub const SECRET: &str = "integration-test-secret-0123456789abcdef";

pub fn key() -> SigningKey {
    SigningKey::new(SECRET).unwrap()
}

/// A record with every field set, at `micros` after 2025-01-01.
pub fn full_record(content_id: &str, micros: i64) -> Record {
    let base = Timestamp::parse("2025-01-01 00:00:00").unwrap();
    let pii = PiiResult::from_matches(
        vec![PiiMatch {
            pattern_name: "EMAIL".into(),
            severity: Severity::Medium,
            start: 6,
            end: 26,
            redacted_snippet: "write [REDACTED] now é😀".into(),
        }],
        vec![],
    );
    Record {
        content_id: content_id.into(),
        app_id: "app".into(),
        feature_id: "feature".into(),
        user_id: "user".into(),
        model: "gpt-4o".into(),
        prompt_hash: sha256_hex("prompt"),
        response_hash: Some(sha256_hex("response")),
        prompt_tokens: Some(1 << 60),
        response_tokens: Some(7),
        latency_ms: Some(LatencyMs::new(12.5).unwrap()),
        timestamp: base.checked_add_micros(micros).unwrap(),
        status: Status::Completed,
        pii_result: Some(pii),
        policy_decision: Some(PolicyDecision {
            action: PolicyAction::Warn,
            rule_name: Some("warn_pii".into()),
            reason: Some("Matched rule 'warn_pii' with action WARN".into()),
        }),
    }
}

/// Signs `record` with the test key.
pub fn signed(record: Record) -> SignedRecord {
    let signature = key().sign(&record);
    SignedRecord { record, signature }
}

/// A record of about 2 KB on disk, as the benchmarks write.
pub fn sized_record(content_id: String) -> Record {
    let mut record = full_record(&content_id, 0);
    record.timestamp = Timestamp::now();
    let snippet = "x".repeat(300);
    let matches = (0..4)
        .map(|i| PiiMatch {
            pattern_name: "EMAIL".into(),
            severity: Severity::Medium,
            start: i * 10,
            end: i * 10 + 5,
            redacted_snippet: snippet.clone(),
        })
        .collect();
    record.pii_result = Some(PiiResult::from_matches(matches, vec![]));
    record
}
