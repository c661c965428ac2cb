//! `cargo xtask ci`: every check CI makes, in order, stopping at the first
//! failure.

use crate::cmd::cargo;
use crate::pg;

/// The facade's features, each of which must build alone.
const FACADE_FEATURES: &[&str] = &["sqlite", "postgres", "providers"];

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if let Some(extra) = args.first() {
        return Err(format!("unexpected argument '{extra}': `cargo xtask ci` takes none"));
    }

    cargo(&["fmt", "--all", "--check"]).run()?;
    cargo(&["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"]).run()?;

    // The PostgreSQL tests run against one server for the whole suite: the
    // one named by AISTAMP_TEST_POSTGRES_URL, or a throwaway one started here
    // and stopped when `server` is dropped.
    let (url, _server) = match std::env::var("AISTAMP_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => (url, None),
        _ => {
            let server = pg::Server::start()?;
            (server.url().to_string(), Some(server))
        }
    };
    cargo(&["test", "--workspace", "--locked"]).env("AISTAMP_TEST_POSTGRES_URL", &url).run()?;

    cargo(&["doc", "--workspace", "--no-deps", "--locked"])
        .env("RUSTDOCFLAGS", "-D warnings")
        .run()?;

    cargo(&["check", "-p", "aistamp-pii", "--no-default-features", "--locked"]).run()?;
    cargo(&["check", "-p", "aistamp", "--no-default-features", "--locked"]).run()?;
    for feature in FACADE_FEATURES {
        cargo(&[
            "check",
            "-p",
            "aistamp",
            "--no-default-features",
            "--features",
            feature,
            "--locked",
        ])
        .run()?;
    }
    eprintln!("xtask ci: all checks passed");
    Ok(())
}
