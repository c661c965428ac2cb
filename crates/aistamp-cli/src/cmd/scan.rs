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
/// wait in a [`Spool`] until the end of the input.
fn scan_text(
    scanner: &Scanner,
    reader: impl Read,
    path: &Path,
    name: &str,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let mut lines = Spool::default();
    let summary = scanner
        .scan_reader(reader, |m| {
            lines.push(format!(
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
    write!(out, "PII scan results for: {name}\nFound {} match(es):\n\n", summary.matches)
        .map_err(write_error)?;
    lines.copy_to(out)
}

/// Text kept for later: in memory up to [`Spool::MEMORY`] bytes, then in
/// an anonymous temporary file, so that memory stays bounded whatever the
/// number of matches.
#[derive(Debug, Default)]
struct Spool {
    memory: Vec<u8>,
    file: Option<std::fs::File>,
    failed: Option<std::io::Error>,
}

impl Spool {
    const MEMORY: usize = 8 << 20;

    fn push(&mut self, line: String) {
        if self.failed.is_some() {
            return;
        }
        self.memory.extend_from_slice(line.as_bytes());
        if self.memory.len() < Spool::MEMORY {
            return;
        }
        let spilled = match &mut self.file {
            Some(file) => file.write_all(&self.memory),
            None => tempfile::tempfile().and_then(|mut file| {
                file.write_all(&self.memory)?;
                self.file = Some(file);
                Ok(())
            }),
        };
        self.memory.clear();
        if let Err(err) = spilled {
            self.failed = Some(err);
        }
    }

    fn copy_to(mut self, out: &mut dyn Write) -> Result<(), CliError> {
        let spool_error =
            |e: std::io::Error| CliError::failure(format!("cannot keep the match list: {e}"));
        if let Some(err) = self.failed.take() {
            return Err(spool_error(err));
        }
        if let Some(mut file) = self.file.take() {
            use std::io::Seek;
            file.seek(std::io::SeekFrom::Start(0)).map_err(spool_error)?;
            std::io::copy(&mut file, out).map_err(write_error)?;
        }
        out.write_all(&self.memory).map_err(write_error)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spool_keeps_every_line_in_order_past_its_memory() {
        let mut spool = Spool::default();
        let line = format!("{}\n", "x".repeat(1023));
        let count = Spool::MEMORY / 1024 * 2 + 3;
        for _ in 0..count {
            spool.push(line.clone());
        }
        assert!(spool.file.is_some());
        let mut out = Vec::new();
        spool.copy_to(&mut out).unwrap();
        assert_eq!(out.len(), count * 1024);
        assert!(out.chunks(1024).all(|chunk| chunk == line.as_bytes()));
    }
}
