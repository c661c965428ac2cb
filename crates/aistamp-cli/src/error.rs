//! The one error type of the command line: a message for stderr and the
//! exit code it stands for.

use std::fmt;
use std::process::ExitCode;

use aistamp_core::{ConfigError, StoreError, VerifyError};

/// The operation ran and failed: not verified, not found, blocked, a
/// database or provider failure.
pub(crate) const EXIT_FAILURE: u8 = 1;
/// The invocation is wrong: a bad flag or value, an unreadable or invalid
/// input file, an unusable configuration.
pub(crate) const EXIT_USAGE: u8 = 2;

/// A failed command: what to tell the user and how to exit.
#[derive(Debug)]
pub(crate) struct CliError {
    code: u8,
    message: String,
}

impl CliError {
    /// A usage error (exit code 2).
    pub(crate) fn usage(message: impl Into<String>) -> CliError {
        CliError { code: EXIT_USAGE, message: message.into() }
    }

    /// A failure of the operation (exit code 1).
    pub(crate) fn failure(message: impl Into<String>) -> CliError {
        CliError { code: EXIT_FAILURE, message: message.into() }
    }

    /// A failure that has already been reported on stdout or stderr and
    /// needs no further message, only the exit code.
    pub(crate) fn silent(code: u8) -> CliError {
        CliError { code, message: String::new() }
    }

    pub(crate) fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code)
    }

    pub(crate) fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<ConfigError> for CliError {
    fn from(err: ConfigError) -> CliError {
        CliError::usage(err.to_string())
    }
}

impl From<StoreError> for CliError {
    fn from(err: StoreError) -> CliError {
        match err {
            // A URL that cannot be used is the user's to fix before anything
            // runs; everything else is the database failing the operation.
            StoreError::InvalidUrl { .. } => CliError::usage(err.to_string()),
            _ => CliError::failure(err.to_string()),
        }
    }
}

impl From<VerifyError> for CliError {
    fn from(err: VerifyError) -> CliError {
        match err {
            VerifyError::Store(err) => err.into(),
            other => CliError::failure(other.to_string()),
        }
    }
}
