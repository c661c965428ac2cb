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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use aistamp_core::{PiiMatch, Severity};
    use tracing_subscriber::layer::{Context, SubscriberExt};

    use super::*;

    fn found(pattern_name: &str, severity: Severity) -> PiiMatch {
        PiiMatch {
            pattern_name: pattern_name.into(),
            severity,
            start: 0,
            end: 4,
            redacted_snippet: "[REDACTED]".into(),
        }
    }

    fn input<'a>(model: &'a str, pii: Option<&'a PiiResult>) -> PolicyInput<'a> {
        PolicyInput { app_id: "app", feature_id: "feature", user_id: "user", model, pii }
    }

    /// The name of the rule that decides, `None` for the default.
    fn decider(policy: &PolicyEngine, input: &PolicyInput<'_>) -> Option<String> {
        policy.evaluate(input).rule_name
    }

    fn one_rule(rule: Rule) -> PolicyEngine {
        PolicyEngine::builder().tier("approved", ["gpt-4o"]).rule(rule).build().unwrap()
    }

    #[test]
    fn the_engine_is_send_and_sync() {
        fn shared<T: Send + Sync + 'static>() {}
        shared::<PolicyEngine>();
        shared::<PolicyBlocked>();
        shared::<PolicyError>();
    }

    #[test]
    fn without_a_match_the_call_is_allowed_by_default() {
        for policy in [
            PolicyEngine::allow_all(),
            one_rule(Rule::new("never", PolicyAction::Block).when_model(["nothing"])),
        ] {
            let decision = policy.evaluate(&input("gpt-4o", None));
            assert_eq!(
                decision,
                PolicyDecision {
                    action: PolicyAction::Allow,
                    rule_name: None,
                    reason: Some("No matching rule. Default action applied.".into()),
                }
            );
        }
        assert!(PolicyEngine::allow_all().is_allow_all());
    }

    #[test]
    fn a_rule_without_conditions_matches_everything() {
        let policy = one_rule(Rule::new("catch_all", PolicyAction::Warn));
        let high = PiiResult::from_matches(vec![found("SSN", Severity::High)], vec![]);
        for model in ["gpt-4o", "other"] {
            for pii in [None, Some(&high)] {
                assert_eq!(decider(&policy, &input(model, pii)).as_deref(), Some("catch_all"));
            }
        }
    }

    #[test]
    fn the_first_matching_rule_decides() {
        let policy = PolicyEngine::builder()
            .rule(Rule::new("allow_admin", PolicyAction::Allow).when_user_id(["admin"]))
            .rule(
                Rule::new("block_medium", PolicyAction::Block).when_pii_severity(Severity::Medium),
            )
            .rule(Rule::new("warn_low", PolicyAction::Warn).when_pii_severity(Severity::Low))
            .build()
            .unwrap();
        let medium = PiiResult::from_matches(vec![found("EMAIL", Severity::Medium)], vec![]);
        let low = PiiResult::from_matches(vec![], vec![found("IP_ADDRESS", Severity::Low)]);
        let admin = PolicyInput { user_id: "admin", ..input("m", Some(&medium)) };
        let decision = policy.evaluate(&admin);
        assert_eq!(decision.action, PolicyAction::Allow);
        assert_eq!(
            decision.reason.as_deref(),
            Some("Matched rule 'allow_admin' with action ALLOW")
        );
        assert_eq!(decider(&policy, &input("m", Some(&medium))).as_deref(), Some("block_medium"));
        assert_eq!(decider(&policy, &input("m", Some(&low))).as_deref(), Some("warn_low"));
        assert_eq!(decider(&policy, &input("m", None)), None);
    }

    #[test]
    fn pii_severity_is_a_minimum_and_needs_pii() {
        let policy =
            one_rule(Rule::new("r", PolicyAction::Block).when_pii_severity(Severity::Medium));
        let result = |severity| PiiResult::from_matches(vec![found("X", severity)], vec![]);
        let (low, medium, high) =
            (result(Severity::Low), result(Severity::Medium), result(Severity::High));
        let none = PiiResult::from_matches(vec![], vec![]);
        assert!(decider(&policy, &input("m", Some(&medium))).is_some());
        assert!(decider(&policy, &input("m", Some(&high))).is_some());
        assert!(decider(&policy, &input("m", Some(&low))).is_none());
        assert!(decider(&policy, &input("m", Some(&none))).is_none());
        assert!(decider(&policy, &input("m", None)).is_none());
    }

    #[test]
    fn pii_type_matches_pattern_names_in_prompt_or_response() {
        let policy = one_rule(
            Rule::new("keys", PolicyAction::Block).when_pii_type(["api_key", "employee_id"]),
        );
        let key = PiiResult::from_matches(vec![], vec![found("API_KEY", Severity::High)]);
        let custom = PiiResult::from_matches(vec![found("employee_id", Severity::Low)], vec![]);
        let email = PiiResult::from_matches(vec![found("EMAIL", Severity::High)], vec![]);
        assert!(decider(&policy, &input("m", Some(&key))).is_some());
        assert!(decider(&policy, &input("m", Some(&custom))).is_some());
        assert!(decider(&policy, &input("m", Some(&email))).is_none());
        assert!(decider(&policy, &input("m", None)).is_none());
    }

    #[test]
    fn id_and_model_conditions_take_one_value_or_a_list() {
        let base = input("gpt-4o", None);
        let cases = [
            (Rule::new("r", PolicyAction::Warn).when_app_id(["app", "other"]), "app_id"),
            (Rule::new("r", PolicyAction::Warn).when_feature_id(["feature"]), "feature_id"),
            (Rule::new("r", PolicyAction::Warn).when_user_id(["z", "user", "a"]), "user_id"),
            (Rule::new("r", PolicyAction::Warn).when_model(["gpt-4o"]), "model"),
        ];
        for (rule, key) in cases {
            let policy = one_rule(rule);
            assert!(decider(&policy, &base).is_some(), "{key}");
            let other = match key {
                "app_id" => PolicyInput { app_id: "App", ..base },
                "feature_id" => PolicyInput { feature_id: "x", ..base },
                "user_id" => PolicyInput { user_id: "user2", ..base },
                _ => PolicyInput { model: "gpt-4o-mini", ..base },
            };
            assert!(decider(&policy, &other).is_none(), "{key}");
        }
    }

    #[test]
    fn all_conditions_of_a_rule_must_hold() {
        let policy = one_rule(
            Rule::new("r", PolicyAction::Block)
                .when_model_tier("approved")
                .when_app_id(["app"])
                .when_pii_severity(Severity::High),
        );
        let high = PiiResult::from_matches(vec![found("SSN", Severity::High)], vec![]);
        assert!(decider(&policy, &input("gpt-4o", Some(&high))).is_some());
        assert!(decider(&policy, &input("other", Some(&high))).is_none());
        assert!(decider(&policy, &input("gpt-4o", None)).is_none());
        let elsewhere = PolicyInput { app_id: "other", ..input("gpt-4o", Some(&high)) };
        assert!(decider(&policy, &elsewhere).is_none());
    }

    #[test]
    fn model_tiers_match_in_any_case_and_unlisted_models_by_default() {
        let approved = one_rule(Rule::new("r", PolicyAction::Warn).when_model_tier("APPROVED"));
        assert!(decider(&approved, &input("gpt-4o", None)).is_some());
        assert!(decider(&approved, &input("GPT-4O", None)).is_none());
        for tier in ["unknown", "Unapproved"] {
            let policy = one_rule(Rule::new("r", PolicyAction::Warn).when_model_tier(tier));
            assert!(decider(&policy, &input("local", None)).is_some(), "{tier}");
            assert!(decider(&policy, &input("gpt-4o", None)).is_none(), "{tier}");
        }

        let with_default = PolicyEngine::builder()
            .model_tier("gpt-4o", "approved")
            .default_tier("sandbox")
            .rule(Rule::new("r", PolicyAction::Warn).when_model_tier("sandbox"))
            .build()
            .unwrap();
        assert_eq!(with_default.model_tier("local"), "sandbox");
        assert!(decider(&with_default, &input("local", None)).is_some());
        assert!(decider(&with_default, &input("gpt-4o", None)).is_none());
        let err = PolicyEngine::builder()
            .default_tier("sandbox")
            .rule(Rule::new("r", PolicyAction::Warn).when_model_tier("unapproved"))
            .build()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid policy: rules[0] 'r': condition 'model_tier' names unknown tier \
             'unapproved': expected 'sandbox'"
        );
    }

    #[test]
    fn builder_errors_name_the_rule() {
        let err = PolicyEngine::builder()
            .rule(Rule::new("a", PolicyAction::Warn))
            .rule(Rule::new("b", PolicyAction::Warn))
            .rule(Rule::new("a", PolicyAction::Block))
            .build()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid policy: rules[2] 'a': duplicate rule name: already used by rules[0]"
        );
        assert_eq!((err.rule_index(), err.rule_name()), (Some(2), Some("a")));
        let err = PolicyEngine::builder()
            .rule(Rule::new("ids", PolicyAction::Warn).when_user_id(Vec::<String>::new()))
            .build()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid policy: rules[0] 'ids': condition 'user_id' lists no values: expected at least one"
        );
        let err =
            PolicyEngine::builder().rule(Rule::new("", PolicyAction::Warn)).build().unwrap_err();
        assert_eq!(err.to_string(), "invalid policy: rules[0]: the rule name is empty");
    }

    #[test]
    fn input_from_a_record() {
        let mut record = Record::new("app", "feature", "user", "gpt-4o", "prompt");
        record.pii_result =
            Some(PiiResult::from_matches(vec![found("SSN", Severity::High)], vec![]));
        let policy = one_rule(
            Rule::new("r", PolicyAction::Block).when_pii_type(["SSN"]).when_model_tier("approved"),
        );
        let blocked =
            policy.enforce(&PolicyInput::from_record(&record), &record.content_id).unwrap_err();
        assert_eq!(blocked.content_id, record.content_id);
        assert_eq!(blocked.decision.rule_name.as_deref(), Some("r"));
    }

    #[test]
    fn summaries_show_tiers_default_and_rules() {
        let policy = PolicyEngine::builder()
            .tier("approved", ["gpt-4o", "claude"])
            .tier("restricted", Vec::<String>::new())
            .default_tier("restricted")
            .rule(
                Rule::new("keys", PolicyAction::Block)
                    .when_pii_type(["API_KEY"])
                    .with_reason("no keys"),
            )
            .rule(Rule::new("rest", PolicyAction::Allow))
            .build()
            .unwrap();
        assert_eq!(
            policy.summary().to_string(),
            "model tiers:
  approved: gpt-4o, claude
  restricted: (no models)
  unlisted models: restricted (default_tier)
rules, the first match decides:
  [0] keys: BLOCK if pii_type in [API_KEY]
      no keys
  [1] rest: ALLOW if always
no match: ALLOW
"
        );
        let tiers: Vec<_> = policy.tiers().map(|(tier, models)| (tier, models.len())).collect();
        assert_eq!(tiers, [("approved", 2), ("restricted", 0)]);
        assert_eq!(
            PolicyEngine::allow_all().summary().to_string(),
            "model tiers:
  unlisted models: unknown (matched by model_tier 'unknown' or 'unapproved')
rules: none, every call is allowed
"
        );
    }

    /// An event's fields as (name, value) pairs.
    type Fields = Vec<(String, String)>;

    /// Keeps the level and fields of every event.
    #[derive(Clone, Default)]
    struct Events(Arc<Mutex<Vec<(tracing::Level, Fields)>>>);

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Events {
        fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
            struct Visitor(Fields);
            impl tracing::field::Visit for Visitor {
                fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
                    self.0.push((field.name().to_string(), format!("{value:?}")));
                }
                fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                    self.0.push((field.name().to_string(), value.to_string()));
                }
            }
            let mut fields = Visitor(Vec::new());
            event.record(&mut fields);
            self.0.lock().unwrap().push((*event.metadata().level(), fields.0));
        }
    }

    fn warnings(run: impl FnOnce()) -> Vec<Fields> {
        let events = Events::default();
        let subscriber = tracing_subscriber::registry().with(events.clone());
        tracing::subscriber::with_default(subscriber, run);
        let all = events.0.lock().unwrap();
        all.iter()
            .filter(|(level, _)| *level == tracing::Level::WARN)
            .map(|(_, f)| f.clone())
            .collect()
    }

    #[test]
    fn warn_emits_exactly_one_structured_event() {
        let policy = PolicyEngine::builder()
            .tier("approved", ["gpt-4o"])
            .rule(
                Rule::new("warn_unapproved", PolicyAction::Warn)
                    .when_model_tier("unapproved")
                    .with_reason("not approved"),
            )
            .rule(Rule::new("warn_all", PolicyAction::Warn))
            .build()
            .unwrap();
        let found = warnings(|| {
            let decision = policy.enforce(&input("local", None), "cid-1").unwrap();
            assert_eq!(decision.rule_name.as_deref(), Some("warn_unapproved"));
        });
        let field = |name: &str, value: &str| (name.to_string(), value.to_string());
        assert_eq!(
            found,
            [vec![
                field("message", "policy warning"),
                field("rule", "warn_unapproved"),
                field("content_id", "cid-1"),
                field("model_tier", "unknown"),
                field("rule_reason", "not approved"),
            ]]
        );

        let found = warnings(|| {
            policy.enforce(&input("gpt-4o", None), "cid-2").unwrap();
        });
        assert_eq!(found.len(), 1);
        assert!(found[0].contains(&field("model_tier", "approved")));
        assert!(found[0].contains(&field("rule", "warn_all")));
        assert!(!found[0].iter().any(|(name, _)| name == "rule_reason"));
    }

    #[test]
    fn allow_and_block_emit_no_warning() {
        let policy = PolicyEngine::builder()
            .rule(Rule::new("block_keys", PolicyAction::Block).when_pii_type(["API_KEY"]))
            .build()
            .unwrap();
        let key = PiiResult::from_matches(vec![found("API_KEY", Severity::High)], vec![]);
        let found = warnings(|| {
            assert!(policy.enforce(&input("m", None), "cid").is_ok());
            let blocked = policy.enforce(&input("m", Some(&key)), "cid").unwrap_err();
            assert_eq!(blocked.decision.action, PolicyAction::Block);
        });
        assert!(found.is_empty(), "{found:?}");
    }
}
