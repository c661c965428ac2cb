//! Property tests of the canonical form: any record encodes to ASCII JSON
//! that parses back to the same record, and every signed field is covered
//! by the signature.

use aistamp_core::{
    LatencyMs, PiiMatch, PiiResult, PolicyAction, PolicyDecision, Record, Severity, SigningKey,
    Status, Timestamp, canonical_json,
};
use proptest::prelude::*;

const MIN_MICROS: i64 = -62_135_596_800_000_000;
const MAX_MICROS: i64 = 253_402_300_799_999_999;

fn text() -> impl Strategy<Value = String> {
    // Any Unicode scalar values, controls and astral characters included.
    prop_oneof![any::<String>(), "[\\x00-\\x1f\\x7f\"\\\\]{0,8}", "\\PC{0,12}"]
}

fn severity() -> impl Strategy<Value = Severity> {
    prop_oneof![Just(Severity::Low), Just(Severity::Medium), Just(Severity::High)]
}

fn pii_match() -> impl Strategy<Value = PiiMatch> {
    (text(), severity(), any::<u64>(), any::<u64>(), text()).prop_map(
        |(pattern_name, severity, start, end, redacted_snippet)| PiiMatch {
            pattern_name,
            severity,
            start,
            end,
            redacted_snippet,
        },
    )
}

fn pii_result() -> impl Strategy<Value = PiiResult> {
    (
        prop::collection::vec(pii_match(), 0..3),
        prop::collection::vec(pii_match(), 0..3),
        prop::option::of(severity()),
        any::<u64>(),
    )
        .prop_map(|(prompt_matches, response_matches, highest_severity, match_count)| {
            PiiResult { prompt_matches, response_matches, highest_severity, match_count }
        })
}

fn decision() -> impl Strategy<Value = PolicyDecision> {
    (
        prop_oneof![Just(PolicyAction::Allow), Just(PolicyAction::Warn), Just(PolicyAction::Block)],
        prop::option::of(text()),
        prop::option::of(text()),
    )
        .prop_map(|(action, rule_name, reason)| PolicyDecision { action, rule_name, reason })
}

fn latency() -> impl Strategy<Value = Option<LatencyMs>> {
    // Every finite double, subnormals and extremes included.
    prop::option::of(any::<f64>().prop_filter_map("finite", |v| LatencyMs::new(v).ok()))
}

prop_compose! {
    fn record()(
        ids in (text(), text(), text(), text(), text()),
        hashes in (text(), prop::option::of(text())),
        tokens in (prop::option::of(any::<i64>()), prop::option::of(any::<i64>())),
        latency_ms in latency(),
        micros in MIN_MICROS..=MAX_MICROS,
        status in prop_oneof![Just(Status::Completed), Just(Status::Blocked), Just(Status::Error)],
        pii_result in prop::option::of(pii_result()),
        policy_decision in prop::option::of(decision()),
    ) -> Record {
        let (content_id, app_id, feature_id, user_id, model) = ids;
        Record {
            content_id,
            app_id,
            feature_id,
            user_id,
            model,
            prompt_hash: hashes.0,
            response_hash: hashes.1,
            prompt_tokens: tokens.0,
            response_tokens: tokens.1,
            latency_ms,
            timestamp: Timestamp::from_unix_micros(micros).unwrap(),
            status,
            pii_result,
            policy_decision,
        }
    }
}

/// Every way of changing exactly one signed value of a record.
fn mutate(record: &Record, field: usize) -> Record {
    let mut r = record.clone();
    let other_status = |s| if s == Status::Completed { Status::Error } else { Status::Completed };
    match field {
        0 => r.content_id.push('x'),
        1 => r.app_id.push('x'),
        2 => r.feature_id.push('x'),
        3 => r.user_id.push('x'),
        4 => r.model.push('x'),
        5 => r.prompt_hash.push('x'),
        6 => r.response_hash = r.response_hash.map_or(Some(String::new()), |_| None),
        7 => r.prompt_tokens = Some(r.prompt_tokens.map_or(0, |t| t.wrapping_add(1))),
        8 => r.response_tokens = r.response_tokens.map_or(Some(0), |_| None),
        9 => {
            r.latency_ms = match r.latency_ms {
                None => Some(LatencyMs::new(0.0).unwrap()),
                Some(l) => {
                    let next = f64::from_bits(l.get().to_bits() ^ 1);
                    LatencyMs::new(next).ok().filter(|n| n.get() != l.get())
                }
            }
        }
        10 => {
            let micros = r.timestamp.unix_micros();
            let moved = if micros < MAX_MICROS { micros + 1 } else { micros - 1 };
            r.timestamp = Timestamp::from_unix_micros(moved).unwrap();
        }
        11 => r.status = other_status(r.status),
        12 => match &mut r.pii_result {
            None => r.pii_result = Some(PiiResult::default()),
            Some(p) => p.match_count = p.match_count.wrapping_add(1),
        },
        13 => match &mut r.policy_decision {
            None => {
                r.policy_decision = Some(PolicyDecision {
                    action: PolicyAction::Allow,
                    rule_name: None,
                    reason: None,
                })
            }
            Some(d) => d.reason = Some(d.reason.take().unwrap_or_default() + "x"),
        },
        _ => unreachable!("fields are 0..14"),
    }
    r
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn canonical_text_is_ascii_json_of_the_same_values(record in record()) {
        let canonical = canonical_json(&record);
        prop_assert!(canonical.is_ascii());
        let parsed: Record = serde_json::from_str(&canonical).unwrap();
        prop_assert_eq!(&parsed, &record);
        // The same values encode to the same text: the form is a function of the values.
        prop_assert_eq!(canonical_json(&parsed), canonical);
    }

    #[test]
    fn changing_any_signed_field_changes_the_signature(record in record(), field in 0usize..14) {
        let key = SigningKey::new("property-secret-0123456789abcdefghijkl").unwrap();
        let changed = mutate(&record, field);
        prop_assert_ne!(&changed, &record);
        let signature = key.sign(&record).to_hex();
        prop_assert_ne!(key.sign(&changed).to_hex(), signature.clone());
        prop_assert!(!key.verify(&changed, &signature));
        prop_assert!(key.verify(&record, &signature));
    }
}

/// Floats laid out exactly as Python's `repr`, checked against a table
/// that Python 3.11 wrote (`tests/data/python-float-repr.txt`).
#[test]
fn floats_match_python_repr_table() {
    let table = include_str!("data/python-float-repr.txt");
    let mut checked = 0;
    for line in table.lines().filter(|l| !l.starts_with('#')) {
        let (bits, expected) = line.split_once(' ').unwrap();
        let value = f64::from_bits(u64::from_str_radix(bits, 16).unwrap());
        let mut record = Record::new("a", "f", "u", "m", "p");
        record.latency_ms = Some(LatencyMs::new(value).unwrap());
        let canonical = canonical_json(&record);
        let start = canonical.find("\"latency_ms\":").unwrap() + 13;
        let end = start + canonical[start..].find(',').unwrap();
        assert_eq!(&canonical[start..end], expected, "bits {bits}");
        checked += 1;
    }
    assert!(checked > 3000, "{checked}");
}
