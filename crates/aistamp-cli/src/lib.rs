//! The `aistamp` command line, installed under two names (`aistamp` and
//! `provenance`); both binaries call [`run`].

/// Runs the command line and returns the process exit code.
pub fn run() -> std::process::ExitCode {
    std::process::ExitCode::SUCCESS
}
