//! Rules and their conditions, and the compiled form the engine evaluates.

use std::fmt;

use aistamp_core::{PolicyAction, Severity};

use crate::engine::PolicyInput;
use crate::error::{PolicyError, RuleProblem};
use crate::tiers::{ModelTiers, TierMatch};

/// One policy rule: a name, an action, and conditions that must all hold for
/// the rule to match. A rule without conditions matches every call.
///
/// # Example
///
/// ```
/// use aistamp_core::{PolicyAction, Severity};
/// use aistamp_policy::Rule;
///
/// let rule = Rule::new("block_keys", PolicyAction::Block)
///     .with_reason("API keys must not reach a model")
///     .when_pii_type(["API_KEY"]);
/// assert_eq!(rule.conditions().to_string(), "pii_type in [API_KEY]");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    name: String,
    action: PolicyAction,
    reason: Option<String>,
    conditions: Conditions,
}

/// The conditions of a rule. Unset conditions do not constrain; set ones
/// must all hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Conditions {
    model_tier: Option<String>,
    pii_severity: Option<Severity>,
    pii_types: Option<Vec<String>>,
    app_ids: Option<Vec<String>>,
    feature_ids: Option<Vec<String>>,
    user_ids: Option<Vec<String>>,
    models: Option<Vec<String>>,
}

impl Rule {
    /// A rule called `name` taking `action`, with no conditions yet.
    pub fn new(name: impl Into<String>, action: PolicyAction) -> Rule {
        Rule { name: name.into(), action, reason: None, conditions: Conditions::default() }
    }

    /// Sets the rule's own explanation, shown in summaries and logs.
    ///
    /// The stored decision keeps the reason naming the rule and action, as
    /// ai-stamp 0.1.0 records it.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Rule {
        self.reason = Some(reason.into());
        self
    }

    /// Matches when the model's tier is `tier` (any ASCII case).
    pub fn when_model_tier(mut self, tier: impl Into<String>) -> Rule {
        self.conditions.model_tier = Some(tier.into());
        self
    }

    /// Matches when the highest PII severity found is at least `severity`;
    /// a call without PII does not match.
    pub fn when_pii_severity(mut self, severity: Severity) -> Rule {
        self.conditions.pii_severity = Some(severity);
        self
    }

    /// Matches when a PII match has one of these pattern names (any ASCII
    /// case), such as `API_KEY` or a custom pattern's name.
    pub fn when_pii_type<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Rule {
        extend(&mut self.conditions.pii_types, names);
        self
    }

    /// Matches when the app id is one of these.
    pub fn when_app_id<S: Into<String>>(mut self, ids: impl IntoIterator<Item = S>) -> Rule {
        extend(&mut self.conditions.app_ids, ids);
        self
    }

    /// Matches when the feature id is one of these.
    pub fn when_feature_id<S: Into<String>>(mut self, ids: impl IntoIterator<Item = S>) -> Rule {
        extend(&mut self.conditions.feature_ids, ids);
        self
    }

    /// Matches when the user id is one of these.
    pub fn when_user_id<S: Into<String>>(mut self, ids: impl IntoIterator<Item = S>) -> Rule {
        extend(&mut self.conditions.user_ids, ids);
        self
    }

    /// Matches when the model name is one of these (exact).
    pub fn when_model<S: Into<String>>(mut self, models: impl IntoIterator<Item = S>) -> Rule {
        extend(&mut self.conditions.models, models);
        self
    }

    /// The rule's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the rule decides when it matches.
    pub fn action(&self) -> PolicyAction {
        self.action
    }

    /// The rule's own explanation, from its `reason` key.
    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }

    /// The rule's conditions.
    pub fn conditions(&self) -> &Conditions {
        &self.conditions
    }
}

fn extend<S: Into<String>>(list: &mut Option<Vec<String>>, values: impl IntoIterator<Item = S>) {
    list.get_or_insert_with(Vec::new).extend(values.into_iter().map(Into::into));
}

impl Conditions {
    /// The `model_tier` condition.
    pub fn model_tier(&self) -> Option<&str> {
        self.model_tier.as_deref()
    }

    /// The `pii_severity` condition.
    pub fn pii_severity(&self) -> Option<Severity> {
        self.pii_severity
    }

    /// The `pii_type` condition: pattern names.
    pub fn pii_types(&self) -> Option<&[String]> {
        self.pii_types.as_deref()
    }

    /// The `app_id` condition.
    pub fn app_ids(&self) -> Option<&[String]> {
        self.app_ids.as_deref()
    }

    /// The `feature_id` condition.
    pub fn feature_ids(&self) -> Option<&[String]> {
        self.feature_ids.as_deref()
    }

    /// The `user_id` condition.
    pub fn user_ids(&self) -> Option<&[String]> {
        self.user_ids.as_deref()
    }

    /// The `model` condition.
    pub fn models(&self) -> Option<&[String]> {
        self.models.as_deref()
    }

    /// Whether no condition is set, so that the rule matches every call.
    pub fn is_empty(&self) -> bool {
        *self == Conditions::default()
    }

    /// The list conditions with their YAML keys.
    fn lists(&self) -> [(&'static str, Option<&[String]>); 5] {
        [
            ("pii_type", self.pii_types()),
            ("app_id", self.app_ids()),
            ("feature_id", self.feature_ids()),
            ("user_id", self.user_ids()),
            ("model", self.models()),
        ]
    }
}

/// Shows the conditions as `model_tier = unapproved and pii_severity >= HIGH`,
/// or `always` when there are none.
impl fmt::Display for Conditions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut and = |f: &mut fmt::Formatter<'_>| {
            let sep = if first { "" } else { " and " };
            first = false;
            f.write_str(sep)
        };
        if let Some(tier) = &self.model_tier {
            and(f)?;
            write!(f, "model_tier = {tier}")?;
        }
        if let Some(severity) = self.pii_severity {
            and(f)?;
            write!(f, "pii_severity >= {severity}")?;
        }
        for (key, values) in self.lists() {
            if let Some(values) = values {
                and(f)?;
                write!(f, "{key} in [{}]", values.join(", "))?;
            }
        }
        if self.is_empty() {
            f.write_str("always")?;
        }
        Ok(())
    }
}

/// A rule checked against the policy's tiers and ready to evaluate.
#[derive(Clone, Debug)]
pub(crate) struct CompiledRule {
    pub(crate) rule: Rule,
    /// The decision's reason, in the words of ai-stamp 0.1.0.
    pub(crate) decision_reason: String,
    tier: Option<TierMatch>,
    /// The id lists, sorted for binary search.
    app_ids: Option<Vec<String>>,
    feature_ids: Option<Vec<String>>,
    user_ids: Option<Vec<String>>,
    models: Option<Vec<String>>,
}

impl CompiledRule {
    /// Checks `rule`, the one at `index`, against `tiers`.
    pub(crate) fn compile(
        index: usize,
        rule: Rule,
        tiers: &ModelTiers,
    ) -> Result<CompiledRule, PolicyError> {
        let fail = |problem| PolicyError::rule(index, Some(&rule.name), problem);
        if rule.name.is_empty() {
            return Err(PolicyError::rule(index, None, RuleProblem::EmptyName));
        }
        for (key, values) in rule.conditions.lists() {
            match values {
                Some([]) => return Err(fail(RuleProblem::EmptyList(key))),
                Some(values) if values.iter().any(String::is_empty) => {
                    return Err(fail(RuleProblem::EmptyValue(key)));
                }
                _ => {}
            }
        }
        let tier = match rule.conditions.model_tier.as_deref() {
            None => None,
            Some(wanted) => match tiers.resolve(wanted) {
                Some(tier) => Some(tier),
                None => {
                    return Err(fail(RuleProblem::UnknownTier {
                        tier: crate::error::clip(wanted),
                        expected: tiers.expected(),
                    }));
                }
            },
        };

        let sorted = |values: Option<&[String]>| {
            values.map(|values| {
                let mut values = values.to_vec();
                values.sort_unstable();
                values.dedup();
                values
            })
        };
        let conditions = &rule.conditions;
        Ok(CompiledRule {
            decision_reason: format!(
                "Matched rule {} with action {}",
                python_repr(&rule.name),
                rule.action
            ),
            tier,
            app_ids: sorted(conditions.app_ids()),
            feature_ids: sorted(conditions.feature_ids()),
            user_ids: sorted(conditions.user_ids()),
            models: sorted(conditions.models()),
            rule,
        })
    }

    /// Whether every condition holds for `input`, whose model has tier
    /// `tier` (`None`: unlisted).
    pub(crate) fn matches(&self, input: &PolicyInput<'_>, tier: Option<usize>) -> bool {
        fn listed(values: &Option<Vec<String>>, value: &str) -> bool {
            values.as_ref().is_none_or(|values| {
                values.binary_search_by(|known| known.as_str().cmp(value)).is_ok()
            })
        }

        if !(listed(&self.app_ids, input.app_id)
            && listed(&self.feature_ids, input.feature_id)
            && listed(&self.user_ids, input.user_id)
            && listed(&self.models, input.model))
        {
            return false;
        }
        if self.tier.is_some_and(|wanted| !wanted.accepts(tier)) {
            return false;
        }
        let conditions = &self.rule.conditions;
        if let Some(minimum) = conditions.pii_severity {
            let highest = input.pii.and_then(|pii| pii.highest_severity);
            if highest.is_none_or(|highest| highest < minimum) {
                return false;
            }
        }
        if let Some(names) = &conditions.pii_types {
            let Some(pii) = input.pii else { return false };
            let found = pii.matches().any(|found| {
                names.iter().any(|name| name.eq_ignore_ascii_case(&found.pattern_name))
            });
            if !found {
                return false;
            }
        }
        true
    }
}

/// `text` quoted as Python's `repr` quotes a string, so that decision
/// reasons read exactly as ai-stamp 0.1.0 writes them.
fn python_repr(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if is_unprintable(c) => {
                let code = u32::from(c);
                let escape = match code {
                    0..=0xff => format!("\\x{code:02x}"),
                    0x100..=0xffff => format!("\\u{code:04x}"),
                    _ => format!("\\U{code:08x}"),
                };
                out.push_str(&escape);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Whether Python's `str.isprintable()` rejects `c`, which makes `repr()`
/// escape it.
fn is_unprintable(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_control();
    }
    let code = u32::from(c);
    let ranges = crate::unprintable::UNPRINTABLE;
    // The first range that does not end before `code` is the only one
    // that can hold it.
    let first = ranges.partition_point(|&(_, end)| end < code);
    ranges.get(first).is_some_and(|&(start, _)| start <= code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_quote_names_as_the_reference_does() {
        assert_eq!(python_repr("warn_unapproved_model"), "'warn_unapproved_model'");
        assert_eq!(python_repr("don't"), "\"don't\"");
        assert_eq!(python_repr("a\"b'c"), "'a\"b\\'c'");
        assert_eq!(python_repr("x\ny\\z\u{1}"), "'x\\ny\\\\z\\x01'");
        assert_eq!(python_repr("é 🙂"), "'é 🙂'");
    }

    /// Expected values printed by Python 3.11's `repr()`.
    #[test]
    fn reasons_escape_what_python_finds_unprintable() {
        let cases = [
            ("zero\u{200b}width", r"'zero\u200bwidth'"),
            ("line\u{2028}sep", r"'line\u2028sep'"),
            ("soft\u{ad}hyphen", r"'soft\xadhyphen'"),
            ("nb\u{a0}sp", r"'nb\xa0sp'"),
            ("tag\u{e0001}x", r"'tag\U000e0001x'"),
            ("bom\u{feff}", r"'bom\ufeff'"),
            ("ok é 中 🙂", "'ok é 中 🙂'"),
            ("private\u{e000}", r"'private\ue000'"),
            ("unassigned\u{378}", r"'unassigned\u0378'"),
            ("ogham\u{1680}space", r"'ogham\u1680space'"),
        ];
        for (name, expected) in cases {
            assert_eq!(python_repr(name), expected, "{name:?}");
        }
    }

    #[test]
    fn unprintable_ranges_are_sorted_and_disjoint() {
        let ranges = crate::unprintable::UNPRINTABLE;
        assert!(ranges.iter().all(|&(start, end)| start <= end));
        assert!(ranges.windows(2).all(|pair| pair[0].1 + 1 < pair[1].0));
        // The lookup agrees with the table on both sides of every range
        // boundary, and the shortcut for ASCII on every ASCII character.
        let listed = |code: u32| ranges.iter().any(|&(start, end)| (start..=end).contains(&code));
        let edges = ranges
            .iter()
            .flat_map(|&(start, end)| [start.saturating_sub(1), start, end, end.saturating_add(1)]);
        for code in edges.chain(0..128) {
            if let Some(c) = char::from_u32(code) {
                assert_eq!(is_unprintable(c), listed(code), "U+{code:04X}");
            }
        }
    }

    #[test]
    fn conditions_display_in_order() {
        let rule = Rule::new("r", PolicyAction::Warn)
            .when_model_tier("unapproved")
            .when_pii_severity(Severity::Medium)
            .when_pii_type(["API_KEY", "EMAIL"])
            .when_app_id(["a"])
            .when_feature_id(["f"])
            .when_user_id(["u1", "u2"])
            .when_model(["m"]);
        assert_eq!(
            rule.conditions().to_string(),
            "model_tier = unapproved and pii_severity >= MEDIUM and pii_type in [API_KEY, EMAIL] \
             and app_id in [a] and feature_id in [f] and user_id in [u1, u2] and model in [m]"
        );
        assert_eq!(Rule::new("all", PolicyAction::Allow).conditions().to_string(), "always");
        assert!(Rule::new("all", PolicyAction::Allow).conditions().is_empty());
        assert!(!rule.conditions().is_empty());
    }
}
