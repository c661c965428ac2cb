//! Uses aistamp-pii on its own, without the rest of aistamp: scans text given
//! on the command line (or a built-in sample) with the built-in recognizers
//! and one custom pattern, and prints each match as a line of JSON.

use std::io::Write;

use aistamp_pii::{CustomPattern, Scanner, Severity};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let text = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    let text = if text.is_empty() {
        "Ticket from jane.roe@example.com (555) 234-5678, employee EMP-004211, \
         card 4111 1111 1111 1111, server 10.0.0.12."
            .to_owned()
    } else {
        text
    };

    // Build once, share everywhere (clones are cheap and thread-safe).
    let scanner = Scanner::builder()
        .add_pattern(CustomPattern::new("EMPLOYEE_ID", r"\bEMP-\d{6}\b", Severity::High))
        .build()?;

    let matches = scanner.scan(&text);
    let mut out = std::io::stdout().lock();
    for m in &matches {
        writeln!(out, "{}", serde_json::to_string(m)?)?;
    }
    let highest = scanner.highest_severity(&matches).map_or("none", |s| s.as_str());
    writeln!(out, "{} matches, highest severity {highest}", matches.len())?;
    Ok(())
}
