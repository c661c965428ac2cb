//! Project automation, run as `cargo xtask <command>`: `ci`, `pg`,
//! `migrate`, `bench` and `release-check`. Each command lives in a file of
//! its own; this one only dispatches.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool reports on its terminal"
)]

mod bench;
mod ci;
mod cmd;
mod pg;
mod release;
#[cfg(test)]
mod tidy;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  ci                          everything CI checks, in order, failing fast
  pg start|stop|status        a throwaway PostgreSQL server for local work
  migrate --database-url URL  bring a database to the latest schema
  bench [--quick] [--json]    the project's standard workloads
  release-check               packaging, versions, licences, docs, no stubs
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = match command.as_str() {
        "ci" => ci::run(rest),
        "pg" => pg::run(rest),
        "migrate" => migrate(rest),
        "bench" => bench::run(rest),
        "release-check" => release::run(rest),
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            Ok(())
        }
        other => Err(format!(
            "unknown command '{other}': expected one of ci, pg, migrate, bench, release-check"
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the CLI's own `migrate`, so both apply exactly the same migrations.
fn migrate(args: &[String]) -> Result<(), String> {
    let url = match args {
        [flag, url] if flag == "--database-url" => url.clone(),
        [flag] if flag.starts_with("--database-url=") => {
            flag["--database-url=".len()..].to_string()
        }
        _ => return Err("usage: cargo xtask migrate --database-url URL".into()),
    };
    cmd::cargo(&[
        "run",
        "--quiet",
        "--release",
        "-p",
        "aistamp-cli",
        "--bin",
        "aistamp",
        "--",
        "migrate",
        "--database-url",
        &url,
    ])
    .run()
}
