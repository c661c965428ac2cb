//! `policy check FILE`: loads a policy the way `stamp` would and
//! summarizes its tiers and rules.

use std::io::Write;
use std::path::Path;

use aistamp_policy::PolicyEngine;

use crate::error::CliError;
use crate::write_error;

pub(crate) fn check(path: &Path, out: &mut dyn Write) -> Result<(), CliError> {
    let policy = load(path)?;
    write!(out, "Policy OK: {}\n\n{}", path.display(), policy.summary()).map_err(write_error)
}

/// Loads the policy file at `path`.
///
/// # Errors
///
/// A usage error naming the file and the problem.
pub(crate) fn load(path: &Path) -> Result<PolicyEngine, CliError> {
    PolicyEngine::from_yaml_file(path).map_err(|e| CliError::usage(e.to_string()))
}
