//! Reads a policy from YAML into a [`PolicyBuilder`], refusing every key and
//! value it does not understand.

use aistamp_core::{PolicyAction, Severity};
use yaml_serde::{Mapping, Value};

use crate::engine::{PolicyBuilder, PolicyEngine};
use crate::error::{PolicyError, PolicyErrorKind, RuleProblem, TierProblem, clip};
use crate::rule::Rule;

/// Parses policy YAML. Null or empty text is a policy without rules.
pub(crate) fn parse(text: &str) -> Result<PolicyBuilder, PolicyError> {
    let value: Value = yaml_serde::from_str(text)
        .map_err(|e| PolicyError::new(PolicyErrorKind::Yaml(e.to_string())))?;
    let top = match value {
        Value::Null => return Ok(PolicyEngine::builder()),
        Value::Mapping(top) => top,
        other => {
            return Err(PolicyError::document(format!(
                "expected a mapping with model_tiers, default_tier and rules at the top level, \
                 found {}",
                describe(&other)
            )));
        }
    };

    let mut builder = PolicyEngine::builder();
    let mut rules = Value::Null;
    for (key, value) in top {
        match key.as_str() {
            Some("model_tiers") => builder = tiers(builder, value)?,
            Some("default_tier") => match value {
                Value::Null => {}
                Value::String(tier) => builder = builder.default_tier(tier),
                other => {
                    let found = describe(&other);
                    return Err(PolicyError::tiers(TierProblem::BadDefault { found }));
                }
            },
            Some("rules") => rules = value,
            _ => {
                return Err(PolicyError::document(format!(
                    "unknown top-level key '{}': expected model_tiers, default_tier or rules",
                    key_text(&key)
                )));
            }
        }
    }

    let rules = match rules {
        Value::Null => Vec::new(),
        Value::Sequence(rules) => rules,
        other => {
            return Err(PolicyError::document(format!(
                "'rules' must be a list of rules, found {}",
                describe(&other)
            )));
        }
    };
    for (index, value) in rules.into_iter().enumerate() {
        builder = builder.rule(rule(index, value)?);
    }
    Ok(builder)
}

/// Adds the entries of `model_tiers`, in either shape, to `builder`.
fn tiers(mut builder: PolicyBuilder, value: Value) -> Result<PolicyBuilder, PolicyError> {
    let entries = match value {
        Value::Null => return Ok(builder),
        Value::Mapping(entries) => entries,
        other => {
            let found = describe(&other);
            return Err(PolicyError::tiers(TierProblem::NotAMapping { found }));
        }
    };
    for (key, value) in entries {
        let Value::String(key) = key else {
            return Err(PolicyError::tiers(TierProblem::BadKey { found: describe(&key) }));
        };
        match value {
            // Model to tier, as ai-stamp 0.1.0's code reads it.
            Value::String(tier) => builder = builder.model_tier(key, tier),
            // Tier to models, as ai-stamp 0.1.0's README writes it.
            Value::Sequence(items) => {
                let mut models = Vec::with_capacity(items.len());
                for item in items {
                    let Value::String(model) = item else {
                        let found = describe(&item);
                        return Err(PolicyError::tiers(TierProblem::BadModel {
                            tier: clip(&key),
                            found,
                        }));
                    };
                    models.push(model);
                }
                builder = builder.tier(key, models);
            }
            other => {
                let found = describe(&other);
                return Err(PolicyError::tiers(TierProblem::BadEntry { key: clip(&key), found }));
            }
        }
    }
    Ok(builder)
}

/// Reads the rule at `index`.
fn rule(index: usize, value: Value) -> Result<Rule, PolicyError> {
    let Value::Mapping(mut fields) = value else {
        let problem = RuleProblem::NotAMapping { found: describe(&value) };
        return Err(PolicyError::rule(index, None, problem));
    };

    // The name first, so that every later error can show it.
    let name = match fields.remove("name") {
        None => return Err(PolicyError::rule(index, None, RuleProblem::MissingName)),
        Some(Value::String(name)) => name,
        Some(other) => {
            let problem = wrong_type("name", "a string", &other);
            return Err(PolicyError::rule(index, None, problem));
        }
    };
    let named = (!name.is_empty()).then_some(name.as_str());
    let fail = |problem| PolicyError::rule(index, named, problem);

    for key in fields.keys() {
        if !matches!(key.as_str(), Some("action" | "reason" | "conditions")) {
            return Err(fail(RuleProblem::UnknownKey(key_text(key))));
        }
    }
    let action = match fields.remove("action") {
        None => return Err(fail(RuleProblem::MissingAction)),
        Some(Value::String(action)) => action
            .parse::<PolicyAction>()
            .map_err(|_| fail(RuleProblem::UnknownAction(clip(&action))))?,
        Some(other) => return Err(fail(wrong_type("action", "ALLOW, WARN or BLOCK", &other))),
    };
    let mut rule = Rule::new(name.as_str(), action);
    match fields.remove("reason") {
        None | Some(Value::Null) => {}
        Some(Value::String(reason)) => rule = rule.with_reason(reason),
        Some(other) => return Err(fail(wrong_type("reason", "a string", &other))),
    }
    match fields.remove("conditions") {
        None | Some(Value::Null) => Ok(rule),
        Some(Value::Mapping(conditions)) => add_conditions(rule, conditions).map_err(fail),
        Some(other) => Err(fail(wrong_type("conditions", "a mapping of conditions", &other))),
    }
}

/// Adds every condition of `conditions` to `rule`.
fn add_conditions(mut rule: Rule, conditions: Mapping) -> Result<Rule, RuleProblem> {
    for (key, value) in conditions {
        let key = match key.as_str() {
            Some(key) => key,
            None => return Err(RuleProblem::UnknownCondition(key_text(&key))),
        };
        rule = match key {
            "model_tier" => match value {
                Value::String(tier) => rule.when_model_tier(tier),
                other => return Err(wrong_type(key, "a tier name (a string)", &other)),
            },
            "pii_severity" => match value {
                Value::String(severity) => rule.when_pii_severity(
                    severity
                        .parse::<Severity>()
                        .map_err(|_| RuleProblem::UnknownSeverity(clip(&severity)))?,
                ),
                other => return Err(wrong_type(key, "HIGH, MEDIUM or LOW", &other)),
            },
            "pii_type" => rule.when_pii_type(strings(key, value)?),
            "app_id" => rule.when_app_id(strings(key, value)?),
            "feature_id" => rule.when_feature_id(strings(key, value)?),
            "user_id" => rule.when_user_id(strings(key, value)?),
            "model" => rule.when_model(strings(key, value)?),
            _ => return Err(RuleProblem::UnknownCondition(clip(key))),
        };
    }
    Ok(rule)
}

/// One string or a list of strings.
fn strings(key: &str, value: Value) -> Result<Vec<String>, RuleProblem> {
    const EXPECTED: &str = "a string or a list of strings";
    match value {
        Value::String(one) => Ok(vec![one]),
        Value::Sequence(items) => items
            .into_iter()
            .map(|item| match item {
                Value::String(text) => Ok(text),
                other => Err(RuleProblem::WrongType {
                    key: key.to_string(),
                    expected: EXPECTED,
                    found: describe_item(&other),
                }),
            })
            .collect(),
        other => Err(wrong_type(key, EXPECTED, &other)),
    }
}

fn wrong_type(key: &str, expected: &'static str, found: &Value) -> RuleProblem {
    RuleProblem::WrongType { key: key.to_string(), expected, found: describe(found) }
}

/// What a value is, in words.
fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// What an item of a list is, in words.
fn describe_item(value: &Value) -> &'static str {
    match value {
        Value::Null => "a list with an empty item",
        Value::Bool(_) => "a list holding a boolean",
        Value::Number(_) => "a list holding a number",
        Value::String(_) => "a list of strings",
        Value::Sequence(_) => "a list holding a list",
        Value::Mapping(_) => "a list holding a mapping",
        Value::Tagged(_) => "a list holding a tagged value",
    }
}

/// A mapping key as shown in a message.
fn key_text(key: &Value) -> String {
    match key {
        Value::String(text) => clip(text),
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        other => describe(other).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use aistamp_core::{PolicyAction, Severity};

    use crate::{PolicyEngine, PolicyError};

    fn error(yaml: &str) -> PolicyError {
        PolicyEngine::from_yaml_str(yaml).expect_err("the policy is refused")
    }

    /// Loads `rules:` followed by `rule` and returns the error message.
    fn rule_error(rule: &str) -> String {
        let yaml = format!(
            "model_tiers:\n  approved: [gpt-4o]\nrules:\n  - name: first\n    action: ALLOW\n\
             {rule}"
        );
        let err = error(&yaml);
        assert_eq!(err.rule_index(), Some(1), "{err}");
        err.to_string()
    }

    #[test]
    fn empty_text_or_no_rules_allow_everything() {
        for yaml in ["", "# only a comment\n", "rules:\n", "rules: []\n", "model_tiers:\nrules:\n"]
        {
            let policy = PolicyEngine::from_yaml_str(yaml).unwrap();
            assert!(policy.is_allow_all(), "{yaml:?}");
            assert_eq!(policy.rules().len(), 0);
        }
    }

    #[test]
    fn both_tier_shapes_load() {
        let lists = "model_tiers:\n  approved: [gpt-4o, claude]\n  restricted: []\n";
        let pairs = "model_tiers:\n  gpt-4o: approved\n  claude: APPROVED\n";
        for yaml in [lists, pairs] {
            let yaml = format!(
                "{yaml}rules:\n  - {{name: r, action: warn, conditions: {{model_tier: Approved}}}}\n"
            );
            let policy = PolicyEngine::from_yaml_str(&yaml).unwrap();
            assert_eq!(policy.model_tier("gpt-4o"), "approved");
            assert_eq!(policy.model_tier("claude"), "approved");
            assert_eq!(policy.model_tier("other"), "unknown");
            assert_eq!(policy.rules().next().unwrap().action(), PolicyAction::Warn);
        }
        let mixed = "model_tiers:\n  approved: [gpt-4o]\n  local-llm: restricted\n\
                     default_tier: restricted\n";
        let policy = PolicyEngine::from_yaml_str(mixed).unwrap();
        assert_eq!(policy.model_tier("local-llm"), "restricted");
        assert_eq!(policy.model_tier("other"), "restricted");
        assert_eq!(policy.default_tier(), Some("restricted"));
    }

    #[test]
    fn every_condition_loads() {
        let yaml = "model_tiers: {approved: [gpt-4o]}\nrules:\n  - name: all\n    action: Block\n    \
                    reason: everything at once\n    conditions:\n      model_tier: approved\n      \
                    pii_severity: medium\n      pii_type: [API_KEY, email]\n      app_id: app\n      \
                    feature_id: [f1, f2]\n      user_id: u\n      model: gpt-4o\n";
        let policy = PolicyEngine::from_yaml_str(yaml).unwrap();
        let rule = policy.rule("all").unwrap();
        assert_eq!(rule.action(), PolicyAction::Block);
        assert_eq!(rule.reason(), Some("everything at once"));
        let conditions = rule.conditions();
        assert_eq!(conditions.model_tier(), Some("approved"));
        assert_eq!(conditions.pii_severity(), Some(Severity::Medium));
        assert_eq!(conditions.pii_types().unwrap(), ["API_KEY", "email"]);
        assert_eq!(conditions.app_ids().unwrap(), ["app"]);
        assert_eq!(conditions.feature_ids().unwrap(), ["f1", "f2"]);
        assert_eq!(conditions.user_ids().unwrap(), ["u"]);
        assert_eq!(conditions.models().unwrap(), ["gpt-4o"]);
    }

    #[test]
    fn a_missing_name_or_action_is_named() {
        assert_eq!(
            rule_error("  - action: WARN\n"),
            "invalid policy: rules[1]: missing key 'name'"
        );
        assert_eq!(
            rule_error("  - name: warn_x\n"),
            "invalid policy: rules[1] 'warn_x': missing key 'action': expected ALLOW, WARN or BLOCK"
        );
        assert_eq!(
            rule_error("  - name: ''\n    action: WARN\n"),
            "invalid policy: rules[1]: the rule name is empty"
        );
        assert_eq!(
            rule_error("  - name: 42\n    action: WARN\n"),
            "invalid policy: rules[1]: 'name' must be a string, found a number"
        );
    }

    #[test]
    fn unknown_actions_and_severities_are_named() {
        assert_eq!(
            rule_error("  - name: warn_x\n    action: WARNN\n"),
            "invalid policy: rules[1] 'warn_x': unknown action 'WARNN': expected ALLOW, WARN or BLOCK"
        );
        assert_eq!(
            rule_error("  - name: warn_x\n    action: [WARN]\n"),
            "invalid policy: rules[1] 'warn_x': 'action' must be ALLOW, WARN or BLOCK, found a list"
        );
        assert_eq!(
            rule_error(
                "  - name: b\n    action: BLOCK\n    conditions: {pii_severity: CRITICAL}\n"
            ),
            "invalid policy: rules[1] 'b': unknown pii_severity 'CRITICAL': \
             expected HIGH, MEDIUM or LOW"
        );
        assert_eq!(
            rule_error("  - name: b\n    action: BLOCK\n    conditions: {pii_severity: 3}\n"),
            "invalid policy: rules[1] 'b': 'pii_severity' must be HIGH, MEDIUM or LOW, \
             found a number"
        );
    }

    #[test]
    fn conditions_of_the_wrong_type_fail_at_load() {
        let cases = [
            ("model_tier: 3", "'model_tier' must be a tier name (a string), found a number"),
            ("model_tier: [approved]", "'model_tier' must be a tier name (a string), found a list"),
            ("model_tier:", "'model_tier' must be a tier name (a string), found nothing"),
            ("app_id: {a: b}", "'app_id' must be a string or a list of strings, found a mapping"),
            (
                "user_id: [u1, 42]",
                "'user_id' must be a string or a list of strings, found a list holding a number",
            ),
            ("model: true", "'model' must be a string or a list of strings, found a boolean"),
        ];
        for (condition, message) in cases {
            let rule =
                format!("  - name: r\n    action: WARN\n    conditions:\n      {condition}\n");
            assert_eq!(rule_error(&rule), format!("invalid policy: rules[1] 'r': {message}"));
        }
        assert_eq!(
            rule_error("  - name: r\n    action: WARN\n    conditions: [model_tier]\n"),
            "invalid policy: rules[1] 'r': 'conditions' must be a mapping of conditions, \
             found a list"
        );
        assert_eq!(
            rule_error("  - name: r\n    action: WARN\n    reason: [x]\n"),
            "invalid policy: rules[1] 'r': 'reason' must be a string, found a list"
        );
        assert_eq!(
            rule_error("  - just a string\n"),
            "invalid policy: rules[1]: expected a mapping with name, action and conditions, \
             found a string"
        );
    }

    #[test]
    fn unknown_keys_do_not_silently_widen_a_rule() {
        assert_eq!(
            rule_error("  - name: r\n    action: WARN\n    conditions: {model_teir: unapproved}\n"),
            "invalid policy: rules[1] 'r': unknown condition 'model_teir': expected model_tier, \
             pii_severity, pii_type, app_id, feature_id, user_id or model"
        );
        assert_eq!(
            rule_error("  - name: r\n    action: WARN\n    condition: {model_tier: unapproved}\n"),
            "invalid policy: rules[1] 'r': unknown key 'condition': \
             expected name, action, reason or conditions"
        );
        assert_eq!(
            error("rule:\n  - name: r\n    action: WARN\n").to_string(),
            "invalid policy: unknown top-level key 'rule': \
             expected model_tiers, default_tier or rules"
        );
    }

    #[test]
    fn duplicate_names_empty_lists_and_unknown_tiers_are_refused() {
        assert_eq!(
            rule_error("  - name: first\n    action: WARN\n"),
            "invalid policy: rules[1] 'first': duplicate rule name: already used by rules[0]"
        );
        assert_eq!(
            rule_error("  - name: r\n    action: WARN\n    conditions: {model: []}\n"),
            "invalid policy: rules[1] 'r': condition 'model' lists no values: \
             expected at least one"
        );
        assert_eq!(
            rule_error("  - name: r\n    action: WARN\n    conditions: {app_id: ''}\n"),
            "invalid policy: rules[1] 'r': condition 'app_id' holds an empty value"
        );
        assert_eq!(
            rule_error("  - name: r\n    action: WARN\n    conditions: {model_tier: aproved}\n"),
            "invalid policy: rules[1] 'r': condition 'model_tier' names unknown tier 'aproved': \
             expected 'approved', 'unknown' or 'unapproved'"
        );
    }

    #[test]
    fn the_document_and_its_tiers_must_have_the_right_shape() {
        let cases = [
            (
                "- a\n",
                "expected a mapping with model_tiers, default_tier and rules at the top \
                       level, found a list",
            ),
            ("rules: {name: r}\n", "'rules' must be a list of rules, found a mapping"),
            (
                "model_tiers: [gpt-4o]\n",
                "model_tiers must be a mapping of tiers to lists of \
                                         models or of models to tiers, found a list",
            ),
            (
                "model_tiers: {approved: 3}\n",
                "model_tiers entry 'approved' must be a list of \
              model names (tier to models) or a tier name (model to tier), found a number",
            ),
            (
                "model_tiers:\n  gpt-4o:\n",
                "model_tiers entry 'gpt-4o' must be a list of \
              model names (tier to models) or a tier name (model to tier), found nothing",
            ),
            (
                "model_tiers: {approved: [gpt-4o, 4]}\n",
                "model_tiers entry 'approved' must \
              list model names (strings), found a number",
            ),
            ("model_tiers: {1: approved}\n", "model_tiers keys must be strings, found a number"),
            (
                "default_tier: [a]\n",
                "default_tier must be a tier name (a non-empty string), \
              found a list",
            ),
            (
                "model_tiers: {a: [m], b: [m]}\n",
                "model 'm' is in tier 'a' and in tier 'b': \
              expected one tier",
            ),
        ];
        for (yaml, message) in cases {
            let err = error(yaml);
            assert_eq!(err.to_string(), format!("invalid policy: {message}"), "{yaml:?}");
            assert_eq!(err.rule_index(), None);
        }
    }

    #[test]
    fn invalid_yaml_is_reported() {
        let err = error("rules:\n  - name: [\n");
        assert!(err.to_string().starts_with("invalid policy: invalid YAML: "), "{err}");
        let err = error("rules:\n  - name: a\n    name: b\n    action: WARN\n");
        assert!(err.to_string().contains("duplicate entry"), "{err}");
    }

    #[test]
    fn file_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.yaml");
        let err = PolicyEngine::from_yaml_file(&missing).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("cannot read policy file '{}': ", missing.display())),
            "{err}"
        );
        assert!(std::error::Error::source(&err).is_some());

        let bad = dir.path().join("bad.yaml");
        std::fs::write(&bad, "rules:\n  - name: x\n    action: SOMETIMES\n").unwrap();
        let err = PolicyEngine::from_yaml_file(&bad).unwrap_err();
        assert_eq!(err.path(), Some(bad.as_path()));
        assert_eq!((err.rule_index(), err.rule_name()), (Some(0), Some("x")));
        assert_eq!(
            err.to_string(),
            format!(
                "invalid policy file '{}': rules[0] 'x': unknown action 'SOMETIMES': \
                 expected ALLOW, WARN or BLOCK",
                bad.display()
            )
        );

        std::fs::write(&bad, b"rules: \xff\n").unwrap();
        let err = PolicyEngine::from_yaml_file(&bad).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("invalid policy file '{}': the file is not valid UTF-8", bad.display())
        );
    }

    #[test]
    fn long_or_odd_values_are_clipped_in_messages() {
        let long = "x".repeat(200);
        let err = error(&format!("rules:\n  - name: r\n    action: {long}\n"));
        assert_eq!(
            err.to_string(),
            format!(
                "invalid policy: rules[0] 'r': unknown action '{}': expected ALLOW, WARN or BLOCK",
                "x".repeat(64)
            )
        );
        let err = error("rules:\n  - name: \"a\\nb\"\n    action: nope\n");
        assert_eq!(err.rule_name(), Some("a\\nb"));
    }
}
