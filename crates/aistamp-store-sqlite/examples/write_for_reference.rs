//! Writes a small database with this crate, for the reference (ai-stamp
//! 0.1.0) to read and verify: `write_for_reference <db path>`. Prints one
//! JSON line per record: its content id and the response text to verify.

use std::io::Write;

use aistamp_core::{
    LatencyMs, PiiMatch, PiiResult, PolicyAction, PolicyDecision, Record, RecordStore, Severity,
    SignedRecord, SigningKey, Status, Timestamp, sha256_hex,
};
use aistamp_store_sqlite::SqliteStore;

/// The key the checking script verifies with.
const SECRET: &str = "reference-fixture-secret-0123456789-abcdef";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: write_for_reference <db path>")?;
    let store = SqliteStore::open_path(&path)?;
    let key = SigningKey::new(SECRET)?;
    let email = PiiMatch {
        pattern_name: "EMAIL".into(),
        severity: Severity::Medium,
        start: 13,
        end: 33,
        redacted_snippet: "Please email [REDACTED] about \"it\"\t😀".into(),
    };
    let ssn = PiiMatch { pattern_name: "SSN".into(), severity: Severity::High, ..email.clone() };
    let decision = |action, rule: Option<&str>| PolicyDecision {
        action,
        rule_name: rule.map(str::to_string),
        reason: Some(format!("decided {action}")),
    };

    let mut cases: Vec<(Record, &str)> = Vec::new();
    let mut plain = Record::new("docs_app", "qa", "user_1", "gpt-4o", "What is the capital?");
    plain.response_hash = Some(sha256_hex("Paris."));
    plain.prompt_tokens = Some(12);
    plain.response_tokens = Some(3);
    plain.latency_ms = LatencyMs::new(812.5).ok();
    plain.pii_result = Some(PiiResult::from_matches(vec![], vec![]));
    plain.policy_decision = Some(decision(PolicyAction::Allow, None));
    cases.push((plain.clone(), "Paris."));

    let mut warn = Record::new("docs_app", "email", "user_2", "gpt-4o", "Please email ...");
    warn.response_hash = Some(sha256_hex("Will do."));
    warn.pii_result = Some(PiiResult::from_matches(vec![email.clone()], vec![email]));
    warn.policy_decision = Some(decision(PolicyAction::Warn, Some("warn_medium_pii")));
    cases.push((warn, "Will do."));

    let mut blocked = Record::new("docs_app", "hr", "user_3", "gpt-4o", "My SSN is ...");
    blocked.status = Status::Blocked;
    blocked.pii_result = Some(PiiResult::from_matches(vec![ssn], vec![]));
    blocked.policy_decision = Some(decision(PolicyAction::Block, Some("block_high_pii")));
    cases.push((blocked, ""));

    let mut error = Record::new("docs_app", "qa", "user_1", "gpt-4o-mini", "Summarize.");
    error.status = Status::Error;
    cases.push((error, ""));

    let mut unicode =
        Record::new("приложение", "fonctionnalité", "ユーザー😀", "модель", "你好 👋");
    unicode.response_hash = Some(sha256_hex("Привет! 👋"));
    unicode.latency_ms = LatencyMs::new(1e-5).ok();
    unicode.prompt_tokens = Some(1 << 60);
    cases.push((unicode, "Привет! 👋"));

    let mut whole_second = plain.clone();
    whole_second.content_id = aistamp_core::new_content_id();
    whole_second.timestamp = Timestamp::parse("2025-01-02 03:04:05")?;
    cases.push((whole_second, "Paris."));

    let mut out = std::io::stdout().lock();
    for (record, text) in cases {
        let line = serde_json::json!({ "content_id": record.content_id, "text": text });
        let signature = key.sign(&record);
        store.write(SignedRecord { record, signature })?;
        writeln!(out, "{line}")?;
    }
    Ok(())
}
