//! Measures policy evaluation: the seed README's policy, and a policy of a
//! hundred rules where the call matches only the last.

use std::hint::black_box;

use aistamp_core::{PiiMatch, PiiResult, PolicyAction, Severity};
use aistamp_policy::{PolicyEngine, PolicyInput, Rule};
use criterion::{Criterion, criterion_group, criterion_main};

const SEED_POLICY: &str = include_str!("../tests/data/seed-readme-policy.yaml");

fn input<'a>(model: &'a str, pii: Option<&'a PiiResult>) -> PolicyInput<'a> {
    PolicyInput { app_id: "app", feature_id: "feature", user_id: "user_42", model, pii }
}

fn pii(severity: Severity) -> PiiResult {
    let found = PiiMatch {
        pattern_name: "EMAIL".into(),
        severity,
        start: 0,
        end: 5,
        redacted_snippet: "[REDACTED]".into(),
    };
    PiiResult::from_matches(vec![found], vec![])
}

fn seed_policy(c: &mut Criterion) {
    let policy = PolicyEngine::from_yaml_str(SEED_POLICY).expect("the seed policy loads");
    let medium = pii(Severity::Medium);
    let high = pii(Severity::High);
    let mut group = c.benchmark_group("seed_policy");
    group.bench_function("allow_default", |b| {
        b.iter(|| policy.evaluate(black_box(&input("gpt-4o", Some(&medium)))))
    });
    group.bench_function("warn_unlisted", |b| {
        b.iter(|| policy.evaluate(black_box(&input("local-model", None))))
    });
    group.bench_function("block_high", |b| {
        b.iter(|| policy.evaluate(black_box(&input("gpt-4o", Some(&high)))))
    });
    group.finish();
}

fn hundred_rules(c: &mut Criterion) {
    let mut builder = PolicyEngine::builder().tier("approved", ["gpt-4o"]);
    for n in 0..99 {
        let users: Vec<String> = (0..100).map(|u| format!("user_{n}_{u}")).collect();
        builder = builder.rule(
            Rule::new(format!("rule_{n}"), PolicyAction::Warn)
                .when_user_id(users)
                .when_pii_type(["API_KEY"]),
        );
    }
    let policy = builder
        .rule(Rule::new("last", PolicyAction::Block).when_pii_severity(Severity::Medium))
        .build()
        .expect("the policy builds");
    let medium = pii(Severity::Medium);
    c.bench_function("hundred_rules_last_matches", |b| {
        b.iter(|| policy.evaluate(black_box(&input("gpt-4o", Some(&medium)))))
    });
}

criterion_group!(benches, seed_policy, hundred_rules);
criterion_main!(benches);
