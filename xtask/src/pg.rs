//! `cargo xtask pg start|stop|status`: a throwaway PostgreSQL server for
//! local work, and the server `ci` and `bench` start for themselves.

use std::path::PathBuf;

use aistamp_testkit::{TestPostgres, start_detached, stop_detached};

/// A server that lives as long as this value, for the test suite or the
/// benchmarks.
pub(crate) struct Server(TestPostgres);

impl Server {
    pub(crate) fn start() -> Result<Server, String> {
        eprintln!("starting a throwaway PostgreSQL server");
        TestPostgres::start().map(Server).map_err(|e| e.to_string())
    }

    pub(crate) fn url(&self) -> &str {
        self.0.url()
    }
}

/// Where `cargo xtask pg start` keeps its server between commands.
fn dev_dir() -> PathBuf {
    crate::cmd::root().join("target/xtask-pg")
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let dir = dev_dir();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["start"] => {
            let url = start_detached(&dir).map_err(|e| e.to_string())?;
            println!("{url}");
            eprintln!(
                "stop it with `cargo xtask pg stop`; use it with AISTAMP_TEST_POSTGRES_URL={url}"
            );
            Ok(())
        }
        ["stop"] => stop_detached(&dir).map_err(|e| e.to_string()),
        ["status"] => {
            match std::fs::read_to_string(dir.join("url")) {
                Ok(url) if dir.join("data/postmaster.pid").exists() => {
                    println!("running at {}", url.trim())
                }
                _ => println!("not running"),
            }
            Ok(())
        }
        _ => Err("usage: cargo xtask pg start|stop|status".into()),
    }
}
