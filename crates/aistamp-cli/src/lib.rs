//! The `aistamp` command line, installed under two names (`aistamp` and
//! `provenance`); both binaries call [`run`].
//!
//! It stamps model calls from the shell (`stamp`), shows and exports the
//! stored provenance records (`audit`, `report`), checks texts and
//! signatures against them (`verify`), scans files for PII (`scan`),
//! checks policy files (`policy check`), prepares databases (`migrate`)
//! and shows the configuration (`config check`), on SQLite and PostgreSQL.
//!
//! # Configuration
//!
//! Every command applies one precedence rule: flags (`--database-url`,
//! `--log-level`), then the YAML file named by `--config`, then the
//! environment (`AISTAMP_SECRET_KEY`, `AISTAMP_DATABASE_URL`,
//! `AISTAMP_LOG_LEVEL`), then the defaults (`sqlite:///./aistamp.db`,
//! `INFO`). The secret key is never taken from a flag.
//!
//! # Output and exit codes
//!
//! stdout carries only the command's output (text, JSON laid out as
//! ai-stamp 0.1.0 prints it, or CSV with `\r\n` line endings); log events
//! go to stderr. Exit codes: 0 success; 1 the operation failed (not
//! verified, not found, blocked, database or provider error); 2 usage
//! error (bad flag or value, unreadable or invalid input file, unusable
//! configuration).
//!
//! # Example
//!
//! ```text
//! $ export AISTAMP_SECRET_KEY=$(head -c 32 /dev/urandom | base64)
//! $ aistamp migrate
//! $ echo 'What is provenance?' | aistamp stamp --model echo --format json --exec cat
//! $ aistamp report --format csv
//! $ aistamp verify --all
//! ```
#![deny(missing_docs)]

mod backends;
mod cli;
mod cmd;
mod error;
mod format;
mod input;
mod json;
mod logging;
mod settings;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command, ConfigCommand, PolicyCommand};
use crate::error::{CliError, EXIT_FAILURE, EXIT_USAGE};
use crate::settings::Settings;

/// Runs the command line with the process's arguments and returns the
/// exit code. Never panics on any input: every failure becomes a message
/// on stderr and exit code 1 or 2.
pub fn run() -> ExitCode {
    // Failures are messages, never backtraces; the hook keeps an
    // unexpected panic to one line.
    std::panic::set_hook(Box::new(|info| {
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "error: internal error: {info}");
    }));
    match std::panic::catch_unwind(run_inner) {
        Ok(code) => code,
        Err(_) => ExitCode::from(EXIT_FAILURE),
    }
}

fn run_inner() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            let code = u8::try_from(err.exit_code()).unwrap_or(EXIT_USAGE);
            return ExitCode::from(code);
        }
    };

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let result = execute(cli, &mut out).and_then(|()| out.flush().map_err(write_error));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // Whatever was printed before the failure still goes out.
            let _ = out.flush();
            if !err.message().is_empty() {
                tracing::debug!(message = err.message(), "command failed");
                let mut stderr = std::io::stderr().lock();
                let _ = writeln!(stderr, "error: {err}");
            }
            err.exit_code()
        }
    }
}

fn execute(cli: Cli, out: &mut dyn Write) -> Result<(), CliError> {
    // Completions need no configuration at all.
    if let Command::Completions(args) = &cli.command {
        return cmd::completions::run(args, out);
    }

    let settings = Settings::load(&cli.global)?;
    logging::init(settings.log_level()?);

    match cli.command {
        Command::Stamp(args) => cmd::stamp::run(args, &settings, out),
        Command::Audit(args) => cmd::audit::run(&args, &settings, out),
        Command::Verify(args) => cmd::verify::run(args, &settings, out),
        Command::Report(args) => cmd::report::run(&args, &settings, out),
        Command::Scan(args) => cmd::scan::run(&args, out),
        Command::Migrate(_) => cmd::migrate::run(&settings, out),
        Command::Policy(PolicyCommand::Check { file }) => cmd::policy::check(&file, out),
        Command::Config(ConfigCommand::Check) | Command::ConfigCheck => {
            cmd::config::check(&settings, out)
        }
        Command::Completions(_) => Ok(()),
    }
}

/// A failure to write the command's output. A closed pipe (`| head`) ends
/// the command quietly.
pub(crate) fn write_error(err: std::io::Error) -> CliError {
    if err.kind() == std::io::ErrorKind::BrokenPipe {
        return CliError::silent(0);
    }
    CliError::failure(format!("cannot write output: {}", input::io_reason(&err)))
}
