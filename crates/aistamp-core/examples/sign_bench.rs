//! Measures signing and verifying a typical record (nanoseconds per record,
//! median of several runs) and prints one JSON object per workload.
//!
//! Run with `cargo run --release -p aistamp-core --example sign_bench [-- --quick]`.
#![allow(clippy::print_stdout)]

use std::hint::black_box;
use std::time::Instant;

use aistamp_core::{
    LatencyMs, PiiMatch, PiiResult, PolicyAction, PolicyDecision, Record, Severity, SigningKey,
    sha256_hex,
};

fn typical_record() -> Record {
    let mut record =
        Record::new("support_app", "answer_drafts", "user_4242", "gpt-4o", &"p".repeat(500));
    record.response_hash = Some(sha256_hex(&"r".repeat(1500)));
    record.prompt_tokens = Some(125);
    record.response_tokens = Some(380);
    record.latency_ms = LatencyMs::new(812.337).ok();
    let email = PiiMatch {
        pattern_name: "EMAIL".into(),
        severity: Severity::Medium,
        start: 31,
        end: 51,
        redacted_snippet: "...reach me at [REDACTED] tomorrow...".into(),
    };
    record.pii_result = Some(PiiResult::from_matches(vec![email], vec![]));
    record.policy_decision = Some(PolicyDecision {
        action: PolicyAction::Allow,
        rule_name: None,
        reason: Some("No matching rule. Default action applied.".into()),
    });
    record
}

fn median_ns(runs: usize, iterations: u32, mut work: impl FnMut()) -> f64 {
    let mut samples: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iterations {
                work();
            }
            start.elapsed().as_nanos() as f64 / f64::from(iterations)
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[runs / 2]
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (runs, iterations) = if quick { (5, 20_000) } else { (11, 100_000) };
    let key = SigningKey::new("bench-secret-key-0123456789abcdefghijklmnop").expect("valid key");
    let record = typical_record();
    let signature = key.sign(&record).to_hex();

    let sign = median_ns(runs, iterations, || {
        black_box(key.sign(black_box(&record)));
    });
    let verify = median_ns(runs, iterations, || {
        assert!(key.verify(black_box(&record), black_box(&signature)));
    });
    for (workload, value) in [("sign_record", sign), ("verify_record", verify)] {
        println!(
            r#"{{"workload":"{workload}","value":{value:.1},"unit":"ns/record","runs":{runs}}}"#
        );
    }
}
