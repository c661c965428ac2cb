//! `cargo xtask bench`: the project's standard workloads, each reported
//! with its unit and run count as the median of several runs.
//!
//! Every crate measures its own workloads in an example binary that prints
//! one JSON object per line (`workload`, `value`, `unit`, `runs`); this
//! file builds and runs them in release mode, adds the whole-process CLI
//! timings, and prints a table or one JSON object.

use std::path::Path;
use std::time::Instant;

use serde_json::{Value, json};

use crate::cmd::{cargo, root};
use crate::pg;

/// The CLI timings' database size.
const CLI_RECORDS: u64 = 100_000;

struct Options {
    quick: bool,
    json: bool,
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let mut options = Options { quick: false, json: false };
    for arg in args {
        match arg.as_str() {
            "--quick" => options.quick = true,
            "--json" => options.json = true,
            other => return Err(format!("unknown option '{other}': expected --quick or --json")),
        }
    }
    let quick: &[&str] = if options.quick { &["--quick"] } else { &[] };

    cargo(&["build", "--release", "--quiet", "-p", "aistamp-cli", "--bins", "--examples"]).run()?;
    let server = pg::Server::start()?;
    let pg_url = server.url().to_string();

    let mut results = Vec::new();
    let examples: [(&str, &str, Vec<&str>); 5] = [
        ("aistamp-pii", "pii_bench", vec![]),
        ("aistamp-core", "sign_bench", vec![]),
        ("aistamp-store-sqlite", "sqlite_bench", vec![]),
        ("aistamp-store-pg", "pg_bench", vec!["--database-url", &pg_url]),
        ("aistamp", "client_bench", vec!["--database-url", &pg_url]),
    ];
    for (package, example, extra) in examples {
        let mut argv = vec!["run", "--release", "--quiet", "-p", package, "--example", example];
        if package == "aistamp" {
            argv.extend(["--features", "sqlite,postgres"]);
        }
        argv.push("--");
        argv.extend(quick);
        argv.extend(extra);
        let output = cargo(&argv).output()?;
        for line in output.lines().filter(|l| l.trim_start().starts_with('{')) {
            let value: Value = serde_json::from_str(line)
                .map_err(|e| format!("{example} printed a line that is not JSON ({e}): {line}"))?;
            results.push(value);
        }
    }
    results.extend(cli_timings(options.quick)?);
    drop(server);

    if options.json {
        let object = json!({
            "quick": options.quick,
            "machine": { "cores": std::thread::available_parallelism().map_or(0, |n| n.get()) },
            "workloads": results,
        });
        println!("{}", serde_json::to_string_pretty(&object).unwrap_or_default());
    } else {
        println!("{:<28} {:>14}  {:<10} {:>5}", "workload", "median", "unit", "runs");
        for r in &results {
            println!(
                "{:<28} {:>14.2}  {:<10} {:>5}",
                r["workload"].as_str().unwrap_or("?"),
                r["value"].as_f64().unwrap_or(f64::NAN),
                r["unit"].as_str().unwrap_or("?"),
                r["runs"].as_u64().unwrap_or(0),
            );
        }
    }
    Ok(())
}

/// Whole-process times of the release CLI on a generated database:
/// `report --limit 1000 --format json`, `verify` of one record, and
/// `verify --all` throughput.
fn cli_timings(quick: bool) -> Result<Vec<Value>, String> {
    let records = if quick { CLI_RECORDS / 10 } else { CLI_RECORDS };
    let dir = std::env::temp_dir().join(format!("aistamp-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let db = dir.join("bench.db");
    let url = format!("sqlite:///{}", db.display());
    let secret = "bench-secret-key-0123456789abcdefghijklmnop";

    let generated = cargo(&[
        "run",
        "--release",
        "--quiet",
        "-p",
        "aistamp-cli",
        "--example",
        "gen_db",
        "--",
        &url,
        &records.to_string(),
    ])
    .env("AISTAMP_SECRET_KEY", secret)
    .output()?;
    // gen_db prints the content id and response text of one record to verify.
    let sample: Value = generated
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .ok_or("gen_db printed no sample record")?;
    let content_id = sample["content_id"].as_str().ok_or("gen_db sample lacks content_id")?;
    let text = sample["text"].as_str().ok_or("gen_db sample lacks text")?;

    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root().join("target"), std::path::PathBuf::from);
    let binary = target.join("release/aistamp");
    let runs = if quick { 5 } else { 20 };
    let report =
        median_ms(&binary, &["report", "--limit", "1000", "--format", "json"], &url, secret, runs)?;
    let verify = median_ms(
        &binary,
        &["verify", "--content-id", content_id, "--text", text],
        &url,
        secret,
        runs,
    )?;
    let all = median_ms(&binary, &["verify", "--all"], &url, secret, if quick { 3 } else { 5 })?;
    let _ = std::fs::remove_dir_all(&dir);

    let unit_runs = |workload: &str, value: f64, unit: &str, runs: usize| json!({ "workload": workload, "value": value, "unit": unit, "runs": runs, "records": records });
    Ok(vec![
        unit_runs("cli_report_1000_json", report, "ms", runs),
        unit_runs("cli_verify_one", verify, "ms", runs),
        unit_runs(
            "cli_verify_all",
            records as f64 / (all / 1000.0),
            "records/s",
            if quick { 3 } else { 5 },
        ),
    ])
}

/// The median wall time in milliseconds of running `binary args` `runs` times.
fn median_ms(
    binary: &Path,
    args: &[&str],
    url: &str,
    secret: &str,
    runs: usize,
) -> Result<f64, String> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let output = std::process::Command::new(binary)
            .args(args)
            .env("AISTAMP_DATABASE_URL", url)
            .env("AISTAMP_SECRET_KEY", secret)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        if !output.status.success() {
            return Err(format!(
                "aistamp {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
    }
    Ok(median(&mut times))
}

pub(crate) fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 }
}
