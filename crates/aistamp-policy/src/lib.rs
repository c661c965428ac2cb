//! WARN and BLOCK policy rules for aistamp records.
#![deny(missing_docs)]

mod engine;
mod error;
mod rule;
mod tiers;
mod yaml;

pub use engine::{
    DEFAULT_REASON, PolicyBlocked, PolicyBuilder, PolicyEngine, PolicyInput, Summary,
};
pub use error::{PolicyError, PolicyErrorKind, RuleProblem, TierProblem};
pub use rule::{Conditions, Rule};
pub use tiers::{UNLISTED_ALIAS, UNLISTED_TIER};
