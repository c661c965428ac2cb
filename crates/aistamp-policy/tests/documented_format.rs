//! The complete YAML example in the crate docs loads and behaves as its
//! comments say.

use std::path::Path;

use aistamp_core::{PiiMatch, PiiResult, PolicyAction, Severity};
use aistamp_policy::{PolicyEngine, PolicyInput};

/// The ```yaml block of the crate docs in `src/lib.rs`.
fn documented_policy() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs");
    let source = std::fs::read_to_string(path).unwrap();
    let mut lines = source.lines().skip_while(|line| *line != "//! ```yaml").skip(1);
    let block: Vec<&str> = lines
        .by_ref()
        .take_while(|line| *line != "//! ```")
        .map(|line| line.strip_prefix("//! ").or(line.strip_prefix("//!")).unwrap())
        .collect();
    assert!(block.len() > 10, "no yaml block found in the crate docs");
    block.join("\n")
}

fn input<'a>(model: &'a str, pii: Option<&'a PiiResult>) -> PolicyInput<'a> {
    PolicyInput { app_id: "web", feature_id: "chat", user_id: "carol", model, pii }
}

fn pii(name: &str, severity: Severity) -> PiiResult {
    let found = PiiMatch {
        pattern_name: name.into(),
        severity,
        start: 0,
        end: 3,
        redacted_snippet: "[REDACTED]".into(),
    };
    PiiResult::from_matches(vec![], vec![found])
}

#[test]
fn the_documented_example_behaves_as_described() {
    let policy = PolicyEngine::from_yaml_str(&documented_policy()).unwrap();
    let rule = |input: &PolicyInput<'_>| policy.evaluate(input).rule_name;

    assert_eq!(policy.model_tier("claude-3-haiku"), "approved");
    assert_eq!(policy.model_tier("gpt-4o"), "approved");
    assert_eq!(policy.model_tier("some-local-model"), "restricted");
    assert_eq!(policy.default_tier(), Some("restricted"));

    let key = pii("API_KEY", Severity::Low);
    assert_eq!(rule(&input("gpt-4o", Some(&key))).as_deref(), Some("block_api_keys"));
    let ssn = pii("SSN", Severity::High);
    assert_eq!(rule(&input("gpt-4o", Some(&ssn))).as_deref(), Some("block_high_pii"));

    let eval = PolicyInput { app_id: "eval-harness", user_id: "bob", ..input("local", None) };
    let decision = policy.evaluate(&eval);
    assert_eq!(decision.action, PolicyAction::Allow);
    assert_eq!(decision.rule_name.as_deref(), Some("allow_eval_team"));

    let drafts = PolicyInput { feature_id: "drafts", ..input("local", None) };
    assert_eq!(rule(&drafts).as_deref(), Some("warn_restricted_model"));
    assert_eq!(rule(&input("gpt-4o", None)).as_deref(), Some("warn_everything_else"));
    assert_eq!(policy.rules().len(), 5);
}
