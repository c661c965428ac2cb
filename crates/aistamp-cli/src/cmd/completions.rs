//! `completions SHELL`: a completion script for the shell.

use std::io::Write;

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::error::CliError;

pub(crate) fn run(args: &CompletionsArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let mut command = Cli::command();
    clap_complete::generate(args.shell, &mut command, "aistamp", out);
    Ok(())
}
