//! WARN and BLOCK policy rules for aistamp records.
//!
//! A policy decides, for every model call, whether it may go ahead. It is an
//! ordered list of rules plus model tiers. Each rule has a name, an action
//! (`ALLOW`, `WARN` or `BLOCK`) and conditions; the first rule whose
//! conditions all hold decides, a rule without conditions matches every
//! call, and when no rule matches the call is allowed with the reason
//! [`DEFAULT_REASON`].
//!
//! Loading is strict: every problem in a policy, from a typo in a condition
//! key to a number where a tier name belongs, is a [`PolicyError`] naming the
//! rule by index and name, raised when the policy is loaded. Evaluation
//! cannot fail, does no I/O, and allocates nothing but the decision.
//!
//! # Example
//!
//! ```
//! use aistamp_core::{PiiMatch, PiiResult, PolicyAction, Severity};
//! use aistamp_policy::{PolicyEngine, PolicyInput};
//!
//! let policy = PolicyEngine::from_yaml_str(
//!     "
//! model_tiers:
//!   approved: [gpt-4o, internal-safe-model]
//! rules:
//!   - name: block_high_pii
//!     action: BLOCK
//!     conditions:
//!       pii_severity: HIGH
//!   - name: warn_unapproved_model
//!     action: WARN
//!     conditions:
//!       model_tier: unapproved
//! ",
//! )?;
//!
//! let call = PolicyInput {
//!     app_id: "my_app",
//!     feature_id: "summarizer",
//!     user_id: "user_42",
//!     model: "local-model",
//!     pii: None,
//! };
//! let decision = policy.evaluate(&call);
//! assert_eq!(decision.action, PolicyAction::Warn);
//! assert_eq!(decision.rule_name.as_deref(), Some("warn_unapproved_model"));
//! assert_eq!(
//!     decision.reason.as_deref(),
//!     Some("Matched rule 'warn_unapproved_model' with action WARN")
//! );
//!
//! // `enforce` acts on the decision: BLOCK becomes an error that carries the
//! // decision and the content id, so that a BLOCKED record can be stored.
//! let ssn = PiiMatch {
//!     pattern_name: "SSN".into(),
//!     severity: Severity::High,
//!     start: 0,
//!     end: 11,
//!     redacted_snippet: "[REDACTED]".into(),
//! };
//! let pii = PiiResult::from_matches(vec![ssn], vec![]);
//! let call = PolicyInput { model: "gpt-4o", pii: Some(&pii), ..call };
//! let blocked = policy.enforce(&call, "content-1").unwrap_err();
//! assert_eq!(blocked.decision.rule_name.as_deref(), Some("block_high_pii"));
//! assert_eq!(blocked.content_id, "content-1");
//! # Ok::<(), aistamp_policy::PolicyError>(())
//! ```
//!
//! # The YAML format
//!
//! A policy file is a mapping with three keys, all optional. An empty file,
//! or one without rules, is a valid policy that allows every call.
//!
//! ```yaml
//! # Which tier each model belongs to. Two shapes are accepted and may be
//! # mixed: a tier with the list of its models, or a model with its tier.
//! model_tiers:
//!   approved:                  # tier -> models
//!     - gpt-4o
//!     - internal-safe-model
//!   restricted: []             # a tier may be empty
//!   claude-3-haiku: approved   # model -> tier
//!
//! # Optional: the tier of every model that no tier lists. Without it such
//! # a model has the tier `unknown`, which a rule may also call `unapproved`.
//! default_tier: restricted
//!
//! # Tried in order; the first rule whose conditions all hold decides.
//! rules:
//!   - name: block_api_keys     # required, unique
//!     action: BLOCK            # required: ALLOW, WARN or BLOCK, any case
//!     reason: "API keys must never reach a model"   # optional, for people
//!     conditions:
//!       pii_type: API_KEY      # a PII match with this pattern name
//!
//!   - name: block_high_pii
//!     action: BLOCK
//!     conditions:
//!       pii_severity: HIGH     # highest severity found is at least HIGH
//!
//!   - name: allow_eval_team
//!     action: ALLOW
//!     conditions:
//!       app_id: eval-harness   # one value ...
//!       user_id: [alice, bob]  # ... or a list: any of them
//!
//!   - name: warn_restricted_model
//!     action: WARN
//!     conditions:
//!       model_tier: restricted
//!       feature_id: [summarizer, drafts]
//!
//!   - name: warn_everything_else   # no conditions: matches every call
//!     action: WARN
//! ```
//!
//! ## Conditions
//!
//! | key | value | holds when |
//! |---|---|---|
//! | `model_tier` | a tier name | the model's tier has this name (any ASCII case) |
//! | `pii_severity` | `HIGH`, `MEDIUM` or `LOW` (any case) | the highest PII severity found is at least this (`LOW < MEDIUM < HIGH`); a call without PII does not match |
//! | `pii_type` | a name or a list | a PII match in prompt or response has one of these pattern names (any ASCII case), such as `API_KEY`, `EMAIL` or a custom pattern's name, whatever its severity |
//! | `app_id`, `feature_id`, `user_id` | a value or a list | the call's id is one of these (exact) |
//! | `model` | a name or a list | the model's name is one of these (exact) |
//!
//! ## Model tiers
//!
//! Model names are compared exactly, tier names without regard to ASCII
//! case. A model may be in one tier only. Without `default_tier`, a model in
//! no tier has the tier `unknown` and matches rules on `model_tier: unknown`
//! and on `model_tier: unapproved`; this is what makes ai-stamp 0.1.0's
//! README example warn about unlisted models. With `default_tier`, such a
//! model has that tier and nothing else.
//!
//! ## Errors found at load time
//!
//! Each is a [`PolicyError`] whose message names the rule as `rules[i]
//! 'name'` (the index counts from 0), the offending value, and what was
//! expected:
//!
//! - a rule without `name` or `action`, an empty or duplicate name;
//! - an action other than ALLOW, WARN and BLOCK, a severity other than HIGH,
//!   MEDIUM and LOW;
//! - a value of the wrong type, such as a number or a list for `model_tier`;
//! - an unknown key in a rule or in its conditions (a typo would otherwise
//!   silently widen the rule), or at the top level;
//! - a list condition with no values, or an empty value;
//! - a `model_tier` condition naming a tier that no model can have, since the
//!   rule could never match;
//! - a model listed in two tiers, and tier entries of the wrong shape.
//!
//! # Decisions, warnings and blocks
//!
//! [`PolicyEngine::evaluate`] returns an [`aistamp_core::PolicyDecision`]:
//! for a matched rule its action, its name and the reason `Matched rule
//! 'name' with action WARN`; without a match ALLOW, no rule name and
//! [`DEFAULT_REASON`]. These are the words ai-stamp 0.1.0 stores, so records
//! of both implementations read alike. A rule's own `reason` is kept for
//! people: [`PolicyEngine::summary`] and the WARN event show it.
//!
//! [`PolicyEngine::enforce`] evaluates and acts: on WARN it emits one
//! `tracing` event at level WARN with the fields `rule`, `content_id`,
//! `model_tier` and `rule_reason` (when the rule has one); prompt and
//! response text never reach a log. On BLOCK it returns [`PolicyBlocked`]
//! with the decision and the content id.
#![deny(missing_docs)]

mod engine;
mod error;
mod rule;
mod tiers;
mod unprintable;
mod yaml;

pub use engine::{
    DEFAULT_REASON, PolicyBlocked, PolicyBuilder, PolicyEngine, PolicyInput, Summary,
};
pub use error::{PolicyError, PolicyErrorKind, RuleProblem, TierProblem};
pub use rule::{Conditions, Rule};
pub use tiers::{UNLISTED_ALIAS, UNLISTED_TIER};
