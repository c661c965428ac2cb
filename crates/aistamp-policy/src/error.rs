//! Errors found while loading or building a policy: every one names where it
//! is, down to the rule's index and name.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// A policy that cannot be loaded or built.
///
/// Every problem in a policy is found when it is loaded, never when a call is
/// evaluated. The message names the file (when loaded from one), the rule by
/// its index in `rules` and its name, the offending value and what was
/// expected, for example
/// `invalid policy file 'policy.yaml': rules[1] 'warn_unapproved_model':
/// unknown action 'WARNN': expected ALLOW, WARN or BLOCK`.
#[derive(Debug)]
pub struct PolicyError {
    path: Option<PathBuf>,
    kind: PolicyErrorKind,
}

/// What is wrong with a policy.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyErrorKind {
    /// The policy file could not be read.
    #[error("cannot read the file: {0}")]
    Read(#[source] io::Error),
    /// The file is not valid UTF-8.
    #[error("the file is not valid UTF-8")]
    NotUtf8,
    /// The text is not valid YAML.
    #[error("invalid YAML: {0}")]
    Yaml(String),
    /// The document does not have the shape of a policy: not a mapping, an
    /// unknown top-level key, or a key whose value has the wrong type.
    #[error("{0}")]
    Document(String),
    /// A problem in `model_tiers` or `default_tier`.
    #[error("{0}")]
    Tiers(TierProblem),
    /// A problem in one rule.
    #[error("rules[{index}]{}: {problem}", NameSuffix(name.as_deref()))]
    Rule {
        /// The rule's position in `rules`, counting from 0.
        index: usize,
        /// The rule's name, when it has one.
        name: Option<String>,
        /// What is wrong with it.
        problem: RuleProblem,
    },
}

/// A problem in the model tiers.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TierProblem {
    /// `model_tiers` is not a mapping.
    #[error(
        "model_tiers must be a mapping of tiers to lists of models or of models to tiers, \
         found {found}"
    )]
    NotAMapping {
        /// What it was.
        found: &'static str,
    },
    /// An entry of `model_tiers` is neither a tier with a list of models nor
    /// a model with a tier name.
    #[error(
        "model_tiers entry '{key}' must be a list of model names (tier to models) \
         or a tier name (model to tier), found {found}"
    )]
    BadEntry {
        /// The entry's key.
        key: String,
        /// What its value was.
        found: &'static str,
    },
    /// A model in a tier's list is not a string.
    #[error("model_tiers entry '{tier}' must list model names (strings), found {found}")]
    BadModel {
        /// The tier.
        tier: String,
        /// What the item was.
        found: &'static str,
    },
    /// A key of `model_tiers` is not a string.
    #[error("model_tiers keys must be strings, found {found}")]
    BadKey {
        /// What the key was.
        found: &'static str,
    },
    /// A tier or model name is empty.
    #[error("model_tiers has an empty {what} name")]
    EmptyName {
        /// `tier` or `model`.
        what: &'static str,
    },
    /// One model is listed in two tiers.
    #[error("model '{model}' is in tier '{first}' and in tier '{second}': expected one tier")]
    ModelInTwoTiers {
        /// The model.
        model: String,
        /// The tier it was first given.
        first: String,
        /// The other tier.
        second: String,
    },
    /// `default_tier` is not a non-empty string.
    #[error("default_tier must be a tier name (a non-empty string), found {found}")]
    BadDefault {
        /// What it was.
        found: &'static str,
    },
}

/// A problem in one rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuleProblem {
    /// The rule is not a mapping.
    #[error("expected a mapping with name, action and conditions, found {found}")]
    NotAMapping {
        /// What it was.
        found: &'static str,
    },
    /// The rule has no `name`.
    #[error("missing key 'name'")]
    MissingName,
    /// The rule's name is empty.
    #[error("the rule name is empty")]
    EmptyName,
    /// The rule has no `action`.
    #[error("missing key 'action': expected ALLOW, WARN or BLOCK")]
    MissingAction,
    /// The action is not ALLOW, WARN or BLOCK.
    #[error("unknown action '{0}': expected ALLOW, WARN or BLOCK")]
    UnknownAction(String),
    /// The `pii_severity` condition is not HIGH, MEDIUM or LOW.
    #[error("unknown pii_severity '{0}': expected HIGH, MEDIUM or LOW")]
    UnknownSeverity(String),
    /// A key of the rule is not one of name, action, reason and conditions.
    #[error("unknown key '{0}': expected name, action, reason or conditions")]
    UnknownKey(String),
    /// A condition key is not one the engine knows; a typo would otherwise
    /// silently widen the rule.
    #[error(
        "unknown condition '{0}': expected model_tier, pii_severity, pii_type, \
         app_id, feature_id, user_id or model"
    )]
    UnknownCondition(String),
    /// A key or a condition has a value of the wrong type.
    #[error("'{key}' must be {expected}, found {found}")]
    WrongType {
        /// The key or condition.
        key: String,
        /// What it must be.
        expected: &'static str,
        /// What it was.
        found: &'static str,
    },
    /// A list condition lists nothing, so the rule could never match.
    #[error("condition '{0}' lists no values: expected at least one")]
    EmptyList(&'static str),
    /// A list condition holds an empty string.
    #[error("condition '{0}' holds an empty value")]
    EmptyValue(&'static str),
    /// Another rule has the same name.
    #[error("duplicate rule name: already used by rules[{first_index}]")]
    DuplicateName {
        /// The index of the first rule with this name.
        first_index: usize,
    },
    /// The `model_tier` condition names a tier that no model can have, so the
    /// rule could never match.
    #[error("condition 'model_tier' names unknown tier '{tier}': expected {expected}")]
    UnknownTier {
        /// The tier named.
        tier: String,
        /// The tiers that exist, in words.
        expected: String,
    },
}

/// Displays `" 'name'"` for a named rule and nothing otherwise.
struct NameSuffix<'a>(Option<&'a str>);

impl fmt::Display for NameSuffix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(name) => write!(f, " '{name}'"),
            None => Ok(()),
        }
    }
}

impl PolicyError {
    pub(crate) fn new(kind: PolicyErrorKind) -> PolicyError {
        PolicyError { path: None, kind }
    }

    pub(crate) fn rule(index: usize, name: Option<&str>, problem: RuleProblem) -> PolicyError {
        PolicyError::new(PolicyErrorKind::Rule { index, name: name.map(clip), problem })
    }

    pub(crate) fn tiers(problem: TierProblem) -> PolicyError {
        PolicyError::new(PolicyErrorKind::Tiers(problem))
    }

    pub(crate) fn document(message: String) -> PolicyError {
        PolicyError::new(PolicyErrorKind::Document(message))
    }

    pub(crate) fn in_file(mut self, path: &Path) -> PolicyError {
        self.path = Some(path.to_path_buf());
        self
    }

    /// What is wrong.
    pub fn kind(&self) -> &PolicyErrorKind {
        &self.kind
    }

    /// The file the policy was loaded from, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The index in `rules` of the rule at fault, for a problem in a rule.
    pub fn rule_index(&self) -> Option<usize> {
        match &self.kind {
            PolicyErrorKind::Rule { index, .. } => Some(*index),
            _ => None,
        }
    }

    /// The name of the rule at fault, for a problem in a rule that has one.
    pub fn rule_name(&self) -> Option<&str> {
        match &self.kind {
            PolicyErrorKind::Rule { name, .. } => name.as_deref(),
            _ => None,
        }
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.path, &self.kind) {
            (Some(path), PolicyErrorKind::Read(source)) => {
                write!(f, "cannot read policy file '{}': {source}", path.display())
            }
            (Some(path), kind) => write!(f, "invalid policy file '{}': {kind}", path.display()),
            (None, kind) => write!(f, "invalid policy: {kind}"),
        }
    }
}

impl std::error::Error for PolicyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            PolicyErrorKind::Read(source) => Some(source),
            _ => None,
        }
    }
}

/// A user-written value as shown in a message: at most 64 characters, with
/// control characters escaped.
pub(crate) fn clip(value: &str) -> String {
    let mut shown = String::new();
    for c in value.chars().take(64) {
        if c.is_control() {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
    }
    shown
}
