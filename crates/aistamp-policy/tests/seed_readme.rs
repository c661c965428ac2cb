//! The policy example of ai-stamp 0.1.0's README, committed verbatim, behaves
//! as its readers expect: an unlisted model warns, gpt-4o passes, HIGH PII
//! is blocked.

use std::path::Path;

use aistamp_core::{PiiMatch, PiiResult, PolicyAction, PolicyDecision, Severity};
use aistamp_policy::{DEFAULT_REASON, PolicyEngine, PolicyInput};

fn seed_policy() -> PolicyEngine {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/seed-readme-policy.yaml");
    PolicyEngine::from_yaml_file(path).expect("the README's policy loads")
}

fn pii(severity: Severity) -> PiiResult {
    let found = PiiMatch {
        pattern_name: "SSN".into(),
        severity,
        start: 4,
        end: 15,
        redacted_snippet: "SSN [REDACTED]".into(),
    };
    PiiResult::from_matches(vec![found], vec![])
}

fn input<'a>(model: &'a str, pii: Option<&'a PiiResult>) -> PolicyInput<'a> {
    PolicyInput { app_id: "my_app", feature_id: "summarizer", user_id: "user_42", model, pii }
}

fn decision(action: PolicyAction, rule: &str) -> PolicyDecision {
    PolicyDecision {
        action,
        rule_name: Some(rule.into()),
        reason: Some(format!("Matched rule '{rule}' with action {action}")),
    }
}

#[test]
fn an_unlisted_model_warns() {
    let policy = seed_policy();
    assert_eq!(policy.model_tier("local-model"), "unknown");
    // The very decision ai-stamp 0.1.0 stores for this rule.
    let expected = PolicyDecision {
        action: PolicyAction::Warn,
        rule_name: Some("warn_unapproved_model".into()),
        reason: Some("Matched rule 'warn_unapproved_model' with action WARN".into()),
    };
    assert_eq!(policy.evaluate(&input("local-model", None)), expected);
    let low = pii(Severity::Low);
    assert_eq!(policy.evaluate(&input("local-model", Some(&low))), expected);
    let medium = pii(Severity::Medium);
    assert_eq!(policy.evaluate(&input("gpt-4o-mini", Some(&medium))), expected);
    assert_eq!(policy.enforce(&input("local-model", None), "id-1"), Ok(expected));
}

#[test]
fn approved_models_pass() {
    let policy = seed_policy();
    let allowed = PolicyDecision {
        action: PolicyAction::Allow,
        rule_name: None,
        reason: Some(DEFAULT_REASON.into()),
    };
    let medium = pii(Severity::Medium);
    for model in ["gpt-4o", "internal-safe-model"] {
        assert_eq!(policy.model_tier(model), "approved");
        assert_eq!(policy.evaluate(&input(model, None)), allowed, "{model}");
        assert_eq!(policy.evaluate(&input(model, Some(&medium))), allowed, "{model}");
        assert_eq!(policy.enforce(&input(model, None), "id-2"), Ok(allowed.clone()));
    }
    assert_eq!(allowed.reason.as_deref(), Some("No matching rule. Default action applied."));
}

#[test]
fn high_pii_is_blocked_whatever_the_model() {
    let policy = seed_policy();
    let high = pii(Severity::High);
    for model in ["gpt-4o", "local-model"] {
        let expected = decision(PolicyAction::Block, "block_high_pii");
        assert_eq!(policy.evaluate(&input(model, Some(&high))), expected, "{model}");
        let blocked = policy.enforce(&input(model, Some(&high)), "content-7").unwrap_err();
        assert_eq!(blocked.decision, expected);
        assert_eq!(blocked.content_id, "content-7");
        assert_eq!(
            blocked.to_string(),
            "policy rule 'block_high_pii' blocked content content-7: \
             Matched rule 'block_high_pii' with action BLOCK"
        );
    }
}

#[test]
fn the_rules_keep_their_order_and_reasons() {
    let policy = seed_policy();
    let rules: Vec<_> = policy.rules().map(|r| (r.name(), r.action(), r.reason())).collect();
    assert_eq!(
        rules,
        [
            ("block_high_pii", PolicyAction::Block, Some("High-severity PII is not allowed")),
            (
                "warn_unapproved_model",
                PolicyAction::Warn,
                Some("Model is not in the approved tier")
            ),
        ]
    );
    assert_eq!(
        policy.summary().to_string(),
        "model tiers:
  approved: gpt-4o, internal-safe-model
  unlisted models: unknown (matched by model_tier 'unknown' or 'unapproved')
rules, the first match decides:
  [0] block_high_pii: BLOCK if pii_severity >= HIGH
      High-severity PII is not allowed
  [1] warn_unapproved_model: WARN if model_tier = unapproved
      Model is not in the approved tier
no match: ALLOW
"
    );
}
