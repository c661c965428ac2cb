//! `scan --file PATH|-`: PII in a file, streamed in bounded memory.

use std::io::{Read, Write};
use std::path::Path;

use aistamp_pii::{Match, Scanner, load_patterns_from_yaml_file};

use crate::cli::{ScanArgs, TextOrJson};
use crate::error::CliError;
use crate::input::{io_reason, is_stdin, shown_path};
use crate::json::{Json, write_string};
use crate::write_error;

pub(crate) fn run(args: &ScanArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let scanner = scanner(args.extra_patterns.as_deref())?;
    let reader: Box<dyn Read> = if is_stdin(&args.file) {
        Box::new(std::io::stdin().lock())
    } else {
        let file = std::fs::File::open(&args.file).map_err(|e| {
            CliError::usage(format!(
                "cannot read --file {}: {}",
                shown_path(&args.file),
                io_reason(&e)
            ))
        })?;
        Box::new(file)
    };
    let name = file_name(&args.file);
    match args.format {
        TextOrJson::Text => scan_text(&scanner, reader, &args.file, &name, out),
        TextOrJson::Json => scan_json(&scanner, reader, &args.file, &name, out),
    }
}

/// The scanner with the built-in recognizers and the custom patterns of
/// `extra`, when given.
///
/// # Errors
///
/// A usage error naming the file and the pattern at fault.
pub(crate) fn scanner(extra: Option<&Path>) -> Result<Scanner, CliError> {
    let Some(path) = extra else {
        return Ok(Scanner::new());
    };
    let invalid = |e: aistamp_pii::PatternError| {
        CliError::usage(format!("invalid PII patterns file '{}': {e}", path.display()))
    };
    let patterns = load_patterns_from_yaml_file(path).map_err(invalid)?;
    Scanner::builder().add_patterns(patterns).build().map_err(invalid)
}

/// The name shown for the input: the file's own name, as the reference
/// shows it, or `stdin`.
fn file_name(path: &Path) -> String {
    if is_stdin(path) {
        return "stdin".into();
    }
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into())
}

fn scan_error(path: &Path, err: aistamp_pii::ScanError) -> CliError {
    match err {
        aistamp_pii::ScanError::Io(io) => {
            CliError::usage(format!("cannot read --file {}: {}", shown_path(path), io_reason(&io)))
        }
        other => {
            CliError::usage(format!("--file {} is not valid UTF-8: {other}", shown_path(path)))
        }
    }
}

/// The reference's text report. Its count comes first, so the match lines
/// (not the matches) are kept until the end.
fn scan_text(
    scanner: &Scanner,
    reader: impl Read,
    path: &Path,
    name: &str,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let mut lines = String::new();
    let summary = scanner
        .scan_reader(reader, |m| {
            lines.push_str(&format!(
                "  [{:<6}] {:<12} position {}-{}   {}\n",
                m.severity.as_str(),
                m.pattern_name(),
                m.start,
                m.end,
                m.redacted_snippet
            ));
        })
        .map_err(|e| scan_error(path, e))?;
    if summary.matches == 0 {
        return writeln!(out, "No PII detected.").map_err(write_error);
    }
    write!(out, "PII scan results for: {name}\nFound {} match(es):\n\n{lines}", summary.matches)
        .map_err(write_error)
}

/// JSON written as the matches are found: the match list first, then the
/// totals, so memory does not grow with the number of matches.
fn scan_json(
    scanner: &Scanner,
    reader: impl Read,
    path: &Path,
    name: &str,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let mut head = String::from("{\n  \"file\": ");
    write_string(&mut head, name);
    head.push_str(",\n  \"matches\": [");
    out.write_all(head.as_bytes()).map_err(write_error)?;

    let mut written = 0u64;
    let mut failed: Option<std::io::Error> = None;
    let summary = scanner
        .scan_reader(reader, |m| {
            if failed.is_some() {
                return;
            }
            let separator = if written == 0 { "\n    " } else { ",\n    " };
            written += 1;
            let item = match_json(&m).to_pretty_at(2);
            if let Err(e) =
                out.write_all(separator.as_bytes()).and_then(|()| out.write_all(item.as_bytes()))
            {
                failed = Some(e);
            }
        })
        .map_err(|e| scan_error(path, e))?;
    if let Some(err) = failed {
        return Err(write_error(err));
    }

    let close = if written == 0 { "]" } else { "\n  ]" };
    let severity = Json::opt_str(summary.highest_severity.map(|s| s.as_str()));
    let tail = format!(
        "{close},\n  \"match_count\": {},\n  \"highest_severity\": {}\n}}\n",
        summary.matches,
        severity.to_pretty()
    );
    out.write_all(tail.as_bytes()).map_err(write_error)
}

fn match_json(m: &Match) -> Json {
    let int = |n: usize| Json::Int(i64::try_from(n).unwrap_or(i64::MAX));
    Json::Object(vec![
        ("pattern_name", Json::Str(m.pattern_name().to_string())),
        ("severity", Json::Str(m.severity.as_str().into())),
        ("start", int(m.start)),
        ("end", int(m.end)),
        ("redacted_snippet", Json::Str(m.redacted_snippet.clone())),
    ])
}
