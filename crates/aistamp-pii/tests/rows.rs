//! Runs the data rows in `tests/data/*.toml` (text, expected matches as kind
//! and code-point span, optional snippets) against the built-in scanner.

use std::path::Path;

use aistamp_pii::Scanner;
use serde::Deserialize;

#[derive(Deserialize)]
struct File {
    row: Vec<Row>,
}

#[derive(Deserialize)]
struct Row {
    text: String,
    matches: Vec<(String, usize, usize)>,
    snippets: Option<Vec<String>>,
}

/// Checks every row of one file, reporting all failing rows at once.
fn check(file: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(file);
    let source = std::fs::read_to_string(&path).unwrap();
    let rows: File = toml::from_str(&source).unwrap();
    assert!(!rows.row.is_empty(), "{file} has no rows");

    let scanner = Scanner::new();
    let mut failures = Vec::new();
    for row in &rows.row {
        let found = scanner.scan(&row.text);
        let got: Vec<(String, usize, usize)> =
            found.iter().map(|m| (m.pattern_name().to_owned(), m.start, m.end)).collect();
        if got != row.matches {
            failures.push(format!(
                "{:?}\n    expected {:?}\n    got      {:?}",
                row.text, row.matches, got
            ));
            continue;
        }
        for m in &found {
            let piece = &row.text[m.byte_range.clone()];
            assert_eq!(piece.chars().count(), m.end - m.start, "byte range of {m:?}");
            assert_eq!(row.text[..m.byte_range.start].chars().count(), m.start);
        }
        if let Some(snippets) = &row.snippets {
            let got: Vec<&str> = found.iter().map(|m| m.redacted_snippet.as_str()).collect();
            if got != *snippets {
                failures.push(format!(
                    "{:?}\n    snippets {snippets:?}\n    got      {got:?}",
                    row.text
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{file}: {} failing rows:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn email() {
    check("email.toml");
}

#[test]
fn phone_us() {
    check("phone_us.toml");
}

#[test]
fn ssn() {
    check("ssn.toml");
}

#[test]
fn credit_card() {
    check("credit_card.toml");
}

#[test]
fn api_key() {
    check("api_key.toml");
}

#[test]
fn ip_address() {
    check("ip_address.toml");
}

#[test]
fn mixed_with_snippets() {
    check("mixed.toml");
}
