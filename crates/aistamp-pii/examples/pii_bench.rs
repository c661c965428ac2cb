//! Measures single-threaded scan throughput on 10 MB of clean prose and of
//! PII-dense prose, printing one JSON object per workload (`--quick`: 1 MB,
//! fewer runs; `--cpu`: time on CPU rather than wall time, on Linux;
//! `--only=<workload>`: one workload).

#[path = "../benches/support/corpus.rs"]
mod corpus;

use std::io::Write;
use std::time::Instant;

use aistamp_pii::Scanner;

/// Nanoseconds this thread has spent on a CPU, from the kernel's scheduler
/// statistics; useful on a busy machine where wall time mostly measures
/// waiting.
fn cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

fn median_mb_per_s(scanner: &Scanner, text: &str, runs: usize, cpu: bool) -> (f64, usize) {
    let mut rates = Vec::with_capacity(runs);
    let mut found = scanner.scan(text).len();
    for _ in 0..runs {
        let t = Instant::now();
        let c = cpu.then(cpu_ns).flatten();
        found = std::hint::black_box(scanner.scan(std::hint::black_box(text))).len();
        let secs = match (c, cpu.then(cpu_ns).flatten()) {
            (Some(a), Some(b)) => (b - a) as f64 / 1e9,
            _ => t.elapsed().as_secs_f64(),
        };
        rates.push(text.len() as f64 / 1e6 / secs);
    }
    rates.sort_by(f64::total_cmp);
    (rates[rates.len() / 2], found)
}

fn main() -> std::io::Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let cpu = std::env::args().any(|a| a == "--cpu");
    let only: Option<String> =
        std::env::args().find_map(|a| a.strip_prefix("--only=").map(str::to_owned));
    let (bytes, runs) = if quick { (1_000_000, 5) } else { (10_000_000, 11) };
    let scanner = Scanner::new();

    let clean = corpus::clean(0x5eed, bytes);
    let (dense, items) = corpus::dense(0x5eed, bytes);

    let mut out = std::io::stdout().lock();
    for (workload, text, expected) in
        [("pii_scan_clean", &clean, Some(0)), ("pii_scan_dense", &dense, Some(items))]
    {
        if only.as_deref().is_some_and(|o| o != workload) {
            continue;
        }
        let (rate, found) = median_mb_per_s(&scanner, text, runs, cpu);
        if expected.is_some_and(|n| n != found) {
            writeln!(
                std::io::stderr(),
                "warning: {workload}: {found} matches, expected {}",
                expected.unwrap_or_default()
            )?;
        }
        writeln!(
            out,
            "{{\"workload\":\"{workload}\",\"value\":{rate:.1},\"unit\":\"MB/s\",\"runs\":{runs}}}"
        )?;
    }
    Ok(())
}
