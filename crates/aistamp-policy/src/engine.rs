//! The policy engine: evaluates calls against the rules, first match wins.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use aistamp_core::{PiiResult, PolicyAction, PolicyDecision, Record};

use crate::error::{PolicyError, PolicyErrorKind, RuleProblem};
use crate::rule::{CompiledRule, Rule};
use crate::tiers::{ModelTiers, TierEntry, UNLISTED_ALIAS, UNLISTED_TIER};

/// The reason of the decision when no rule matches, in the words of
/// ai-stamp 0.1.0 (which stored reports contain).
pub const DEFAULT_REASON: &str = "No matching rule. Default action applied.";

/// What the policy sees of a call.
#[derive(Clone, Copy, Debug)]
pub struct PolicyInput<'a> {
    /// The calling application.
    pub app_id: &'a str,
    /// The feature of the application.
    pub feature_id: &'a str,
    /// The end user.
    pub user_id: &'a str,
    /// The model asked.
    pub model: &'a str,
    /// The PII found so far, if the call was scanned.
    pub pii: Option<&'a PiiResult>,
}

impl<'a> PolicyInput<'a> {
    /// The input describing `record`.
    pub fn from_record(record: &'a Record) -> PolicyInput<'a> {
        PolicyInput {
            app_id: &record.app_id,
            feature_id: &record.feature_id,
            user_id: &record.user_id,
            model: &record.model,
            pii: record.pii_result.as_ref(),
        }
    }
}

/// A call stopped by a rule with action BLOCK.
///
/// It carries the decision to store with the `BLOCKED` record and the
/// record's content id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyBlocked {
    /// The decision: action BLOCK, the rule's name and the reason.
    pub decision: PolicyDecision,
    /// The content id of the blocked call's record.
    pub content_id: String,
}

impl fmt::Display for PolicyBlocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rule = self.decision.rule_name.as_deref().unwrap_or("(none)");
        let reason = self.decision.reason.as_deref().unwrap_or("no reason given");
        write!(f, "policy rule '{rule}' blocked content {}: {reason}", self.content_id)
    }
}

impl std::error::Error for PolicyBlocked {}

/// An ordered list of rules plus model tiers: the first rule whose
/// conditions all hold decides, and without a match the call is allowed.
///
/// Load one with [`PolicyEngine::from_yaml_file`] or
/// [`PolicyEngine::from_yaml_str`], or build one with
/// [`PolicyEngine::builder`]. Every problem is found then; evaluation cannot
/// fail. The engine is immutable, `Send` and `Sync`: share it between
/// threads behind an `Arc`.
#[derive(Clone, Debug, Default)]
pub struct PolicyEngine {
    tiers: ModelTiers,
    rules: Vec<CompiledRule>,
}

/// Builds a [`PolicyEngine`] in code.
///
/// # Example
///
/// ```
/// use aistamp_core::{PolicyAction, Severity};
/// use aistamp_policy::{PolicyEngine, PolicyInput, Rule};
///
/// let policy = PolicyEngine::builder()
///     .tier("approved", ["gpt-4o", "internal-safe-model"])
///     .rule(Rule::new("block_high_pii", PolicyAction::Block).when_pii_severity(Severity::High))
///     .rule(Rule::new("warn_unapproved", PolicyAction::Warn).when_model_tier("unapproved"))
///     .build()?;
/// let input = PolicyInput {
///     app_id: "app",
///     feature_id: "feature",
///     user_id: "user",
///     model: "local-model",
///     pii: None,
/// };
/// assert_eq!(policy.evaluate(&input).action, PolicyAction::Warn);
/// # Ok::<(), aistamp_policy::PolicyError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct PolicyBuilder {
    tiers: Vec<TierEntry>,
    default_tier: Option<String>,
    rules: Vec<Rule>,
}

impl PolicyBuilder {
    /// Puts `models` in tier `name` (the README's shape, tier to models).
    pub fn tier<S: Into<String>>(
        mut self,
        name: impl Into<String>,
        models: impl IntoIterator<Item = S>,
    ) -> PolicyBuilder {
        let models = models.into_iter().map(Into::into).collect();
        self.tiers.push(TierEntry::Tier { tier: name.into(), models });
        self
    }

    /// Puts `model` in tier `tier` (the other shape, model to tier).
    pub fn model_tier(
        mut self,
        model: impl Into<String>,
        tier: impl Into<String>,
    ) -> PolicyBuilder {
        self.tiers.push(TierEntry::Model { model: model.into(), tier: tier.into() });
        self
    }

    /// Gives models that no tier lists the tier `tier`.
    ///
    /// Without a default tier, such models have the tier `unknown`, which a
    /// `model_tier` condition may also call `unapproved`.
    pub fn default_tier(mut self, tier: impl Into<String>) -> PolicyBuilder {
        self.default_tier = Some(tier.into());
        self
    }

    /// Adds a rule after those added so far.
    pub fn rule(mut self, rule: Rule) -> PolicyBuilder {
        self.rules.push(rule);
        self
    }

    /// Checks everything and builds the engine.
    ///
    /// # Errors
    ///
    /// A model in two tiers, an empty tier, model or rule name, two rules
    /// with one name, a list condition with no values or an empty one, and
    /// a `model_tier` condition naming a tier no model can have.
    pub fn build(self) -> Result<PolicyEngine, PolicyError> {
        let tiers = ModelTiers::build(self.tiers, self.default_tier)?;
        let mut rules = Vec::with_capacity(self.rules.len());
        let mut seen = HashMap::with_capacity(self.rules.len());
        for (index, rule) in self.rules.into_iter().enumerate() {
            if let Some(&first_index) = seen.get(rule.name()) {
                let problem = RuleProblem::DuplicateName { first_index };
                return Err(PolicyError::rule(index, Some(rule.name()), problem));
            }
            seen.insert(rule.name().to_string(), index);
            rules.push(CompiledRule::compile(index, rule, &tiers)?);
        }
        Ok(PolicyEngine { tiers, rules })
    }
}

impl PolicyEngine {
    /// A builder for a policy written in code.
    pub fn builder() -> PolicyBuilder {
        PolicyBuilder::default()
    }

    /// A policy without rules: every call is allowed.
    pub fn allow_all() -> PolicyEngine {
        PolicyEngine::default()
    }

    /// Loads a policy from YAML text (see the crate docs for the format).
    /// Empty text is a valid policy that allows everything.
    ///
    /// # Errors
    ///
    /// Invalid YAML, and every problem in the policy: see [`PolicyError`].
    pub fn from_yaml_str(text: &str) -> Result<PolicyEngine, PolicyError> {
        crate::yaml::parse(text)?.build()
    }

    /// Loads a policy from a YAML file.
    ///
    /// # Errors
    ///
    /// As [`PolicyEngine::from_yaml_str`], and when the file cannot be read
    /// or is not UTF-8; the error names the file.
    pub fn from_yaml_file(path: impl AsRef<Path>) -> Result<PolicyEngine, PolicyError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path)
            .map_err(|e| PolicyError::new(PolicyErrorKind::Read(e)).in_file(path))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| PolicyError::new(PolicyErrorKind::NotUtf8).in_file(path))?;
        PolicyEngine::from_yaml_str(&text).map_err(|e| e.in_file(path))
    }

    /// The first rule matching `input` and the tier index of its model.
    fn decide(&self, input: &PolicyInput<'_>) -> (Option<&CompiledRule>, Option<usize>) {
        let tier = self.tiers.tier_of(input.model);
        (self.rules.iter().find(|rule| rule.matches(input, tier)), tier)
    }

    /// Decides about a call. Pure: no logging, no allocation besides the
    /// decision's strings.
    pub fn evaluate(&self, input: &PolicyInput<'_>) -> PolicyDecision {
        decision(self.decide(input).0)
    }

    /// Decides about the call whose record has `content_id`, and acts on the
    /// decision: a WARN emits one `tracing` warning event with the fields
    /// `rule`, `content_id`, `model_tier` and, when the rule has one,
    /// `rule_reason` (never prompt or response text).
    ///
    /// # Errors
    ///
    /// [`PolicyBlocked`], carrying the decision and the content id, when a
    /// rule with action BLOCK matches.
    pub fn enforce(
        &self,
        input: &PolicyInput<'_>,
        content_id: &str,
    ) -> Result<PolicyDecision, PolicyBlocked> {
        let (matched, tier) = self.decide(input);
        let model_tier = self.tiers.name_of(tier);
        let Some(rule) = matched else {
            tracing::debug!(content_id, model_tier, "no policy rule matched");
            return Ok(decision(None));
        };

        let name = rule.rule.name();
        match rule.rule.action() {
            PolicyAction::Allow => {
                tracing::debug!(
                    rule = name,
                    content_id,
                    model_tier,
                    "policy rule allowed the call"
                );
                Ok(decision(matched))
            }
            PolicyAction::Warn => {
                let rule_reason = rule.rule.reason();
                tracing::warn!(rule = name, content_id, model_tier, rule_reason, "policy warning");
                Ok(decision(matched))
            }
            PolicyAction::Block => {
                tracing::debug!(
                    rule = name,
                    content_id,
                    model_tier,
                    "policy rule blocked the call"
                );
                Err(PolicyBlocked { decision: decision(matched), content_id: content_id.into() })
            }
        }
    }

    /// The tier of `model`: its tier's name, the default tier, or `unknown`.
    pub fn model_tier(&self, model: &str) -> &str {
        self.tiers.name_of(self.tiers.tier_of(model))
    }

    /// The rules, in the order they are tried.
    pub fn rules(&self) -> impl ExactSizeIterator<Item = &Rule> {
        self.rules.iter().map(|compiled| &compiled.rule)
    }

    /// The rule called `name`.
    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.rules().find(|rule| rule.name() == name)
    }

    /// The tiers in the order first written, each with its models.
    pub fn tiers(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.tiers.iter()
    }

    /// The tier of models no tier lists, when the policy names one.
    pub fn default_tier(&self) -> Option<&str> {
        self.tiers.default_tier()
    }

    /// Whether the policy has no rules and so allows every call.
    pub fn is_allow_all(&self) -> bool {
        self.rules.is_empty()
    }

    /// A readable summary: the tiers with their models, the tier of
    /// unlisted models, and the rules in order with action and conditions.
    ///
    /// ```text
    /// model tiers:
    ///   approved: gpt-4o, internal-safe-model
    ///   unlisted models: unknown (matched by model_tier 'unknown' or 'unapproved')
    /// rules, the first match decides:
    ///   [0] block_high_pii: BLOCK if pii_severity >= HIGH
    ///       High-severity PII is not allowed
    /// no match: ALLOW
    /// ```
    pub fn summary(&self) -> Summary<'_> {
        Summary(self)
    }
}

/// The decision for a matched rule, or the default.
fn decision(matched: Option<&CompiledRule>) -> PolicyDecision {
    match matched {
        Some(rule) => PolicyDecision {
            action: rule.rule.action(),
            rule_name: Some(rule.rule.name().to_string()),
            reason: Some(rule.decision_reason.clone()),
        },
        None => PolicyDecision {
            action: PolicyAction::Allow,
            rule_name: None,
            reason: Some(DEFAULT_REASON.to_string()),
        },
    }
}

/// A policy's summary; see [`PolicyEngine::summary`].
#[derive(Clone, Copy, Debug)]
pub struct Summary<'a>(&'a PolicyEngine);

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let policy = self.0;
        writeln!(f, "model tiers:")?;
        for (tier, models) in policy.tiers() {
            if models.is_empty() {
                writeln!(f, "  {tier}: (no models)")?;
            } else {
                writeln!(f, "  {tier}: {}", models.join(", "))?;
            }
        }
        match policy.default_tier() {
            Some(tier) => writeln!(f, "  unlisted models: {tier} (default_tier)")?,
            None => writeln!(
                f,
                "  unlisted models: {UNLISTED_TIER} \
                 (matched by model_tier '{UNLISTED_TIER}' or '{UNLISTED_ALIAS}')"
            )?,
        }

        if policy.is_allow_all() {
            return writeln!(f, "rules: none, every call is allowed");
        }
        writeln!(f, "rules, the first match decides:")?;
        for (index, rule) in policy.rules().enumerate() {
            let conditions = rule.conditions();
            writeln!(f, "  [{index}] {}: {} if {conditions}", rule.name(), rule.action())?;
            if let Some(reason) = rule.reason() {
                writeln!(f, "      {reason}")?;
            }
        }
        writeln!(f, "no match: ALLOW")
    }
}
