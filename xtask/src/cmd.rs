//! Running child processes with their command line echoed.

use std::path::PathBuf;
use std::process::{Command, Output};

/// A command to run from the workspace root.
pub(crate) struct Cmd {
    command: Command,
    shown: String,
}

/// The workspace root (the parent of this crate's directory).
pub(crate) fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// `cargo` with `args`, from the workspace root.
pub(crate) fn cargo(args: &[&str]) -> Cmd {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    program(&cargo, args)
}

/// Any program with `args`, from the workspace root.
pub(crate) fn program(program: &str, args: &[&str]) -> Cmd {
    let mut command = Command::new(program);
    command.args(args).current_dir(root());
    let name = if program.ends_with("cargo") { "cargo" } else { program };
    Cmd { command, shown: format!("{name} {}", args.join(" ")) }
}

impl Cmd {
    /// Sets an environment variable for the child.
    pub(crate) fn env(mut self, key: &str, value: &str) -> Cmd {
        self.command.env(key, value);
        self
    }

    /// Runs with inherited output; an error names the command when it fails.
    pub(crate) fn run(mut self) -> Result<(), String> {
        eprintln!("$ {}", self.shown);
        let status =
            self.command.status().map_err(|e| format!("cannot run '{}': {e}", self.shown))?;
        if status.success() { Ok(()) } else { Err(format!("'{}' failed: {status}", self.shown)) }
    }

    /// Runs and captures stdout; stderr passes through.
    pub(crate) fn output(mut self) -> Result<String, String> {
        self.command.stderr(std::process::Stdio::inherit());
        let Output { status, stdout, .. } =
            self.command.output().map_err(|e| format!("cannot run '{}': {e}", self.shown))?;
        if !status.success() {
            return Err(format!("'{}' failed: {status}", self.shown));
        }
        String::from_utf8(stdout).map_err(|_| format!("'{}' printed invalid UTF-8", self.shown))
    }
}
