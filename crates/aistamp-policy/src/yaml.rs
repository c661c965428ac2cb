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
