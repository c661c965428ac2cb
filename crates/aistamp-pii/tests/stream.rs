//! `Scanner::scan_reader` against `Scanner::scan` on the same text: chunk
//! sizes down to a few bytes, readers that return one byte at a time or get
//! interrupted, invalid UTF-8, and custom patterns.

use std::io::{self, Read};

use aistamp_pii::{CustomPattern, Match, ReadOptions, ScanError, Scanner, Severity};

/// The labeled corpus without its marks, plus non-ASCII text, as one string.
fn sample(max_bytes: usize) -> String {
    let corpus = include_str!("../eval/corpus.txt");
    let mut text = String::new();
    for (i, line) in corpus.lines().enumerate() {
        if text.len() > max_bytes {
            break;
        }
        // Drop the `[[KIND|` and `]]` marks around labeled items.
        let mut plain = String::with_capacity(line.len());
        let mut rest = line;
        while let Some(open) = rest.find("[[") {
            plain.push_str(&rest[..open]);
            let mark = &rest[open..];
            let bar = mark.find('|').unwrap();
            let close = mark.find("]]").unwrap();
            plain.push_str(&mark[bar + 1..close]);
            rest = &mark[close + 2..];
        }
        plain.push_str(rest);
        text.push_str(&plain);
        text.push_str(if i % 3 == 0 {
            " \u{201c}caf\u{e9}\u{201d} \u{2014} \u{1f600}\n"
        } else {
            "\n"
        });
    }
    text
}

fn streamed(scanner: &Scanner, reader: impl Read, options: ReadOptions) -> Vec<Match> {
    let mut out = Vec::new();
    let summary = scanner.scan_reader_with(reader, options, |m| out.push(m)).unwrap();
    assert_eq!(summary.matches, out.len() as u64);
    out
}

/// A reader that hands out at most `step` bytes per call and is interrupted
/// before every other call.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
    calls: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.calls += 1;
        if self.calls.is_multiple_of(2) {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "try again"));
        }
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[test]
fn tiny_chunks_give_the_same_matches_as_one_scan() {
    let text = sample(30_000);
    let scanner = Scanner::new();
    let expected = scanner.scan(&text);
    assert!(expected.len() > 100);
    for chunk in [4, 5, 7, 13, 64, 500, 4096] {
        let got = streamed(&scanner, text.as_bytes(), ReadOptions::new(chunk, 256));
        assert_eq!(got.len(), expected.len(), "chunk {chunk}");
        for (g, e) in got.iter().zip(&expected) {
            assert_eq!(g, e, "chunk {chunk}");
        }
    }
}

#[test]
fn the_default_options_match_one_scan_on_a_larger_text() {
    let text = sample(usize::MAX);
    let scanner = Scanner::new();
    let mut summary_matches = 0;
    let got = streamed(&scanner, text.as_bytes(), ReadOptions::default());
    assert_eq!(got, scanner.scan(&text));
    let summary = scanner.scan_reader(text.as_bytes(), |_| summary_matches += 1).unwrap();
    assert_eq!(summary.bytes, text.len() as u64);
    assert_eq!(summary.chars, text.chars().count() as u64);
    assert_eq!(summary.highest_severity, Some(Severity::High));
    assert_eq!(summary_matches, got.len());
}

#[test]
fn short_and_interrupted_reads_change_nothing() {
    let text = sample(5_000);
    let scanner = Scanner::new();
    let reader = Trickle { data: text.as_bytes(), step: 3, calls: 0 };
    assert_eq!(streamed(&scanner, reader, ReadOptions::new(16, 200)), scanner.scan(&text));
}

#[test]
fn custom_patterns_stream_too() {
    let text = sample(8_000);
    let scanner = Scanner::builder()
        .add_pattern(CustomPattern::new("WORD_NOW", r"(?i)\bnow\b", Severity::Low))
        .add_pattern(CustomPattern::new("DIGITS", r"\d{3}", Severity::Medium))
        .build()
        .unwrap();
    let expected = scanner.scan(&text);
    assert!(expected.iter().any(|m| m.pattern_name() == "WORD_NOW"));
    for chunk in [4, 9, 100] {
        assert_eq!(streamed(&scanner, text.as_bytes(), ReadOptions::new(chunk, 128)), expected);
    }
}

#[test]
fn invalid_utf8_names_the_byte_offset() {
    let scanner = Scanner::new();
    let mut data = "ok \u{e9} fine ".repeat(100).into_bytes();
    let bad_at = data.len();
    data.extend_from_slice(b"\xff tail");
    for chunk in [4, 7, 1 << 20] {
        let err =
            scanner.scan_reader_with(&data[..], ReadOptions::new(chunk, 16), |_| {}).unwrap_err();
        assert!(
            matches!(err, ScanError::InvalidUtf8 { byte_offset } if byte_offset == bad_at as u64)
        );
        assert_eq!(
            err.to_string(),
            format!("invalid UTF-8 at byte offset {bad_at}: expected UTF-8 text")
        );
    }

    // A character cut off by the end of the input.
    let err = scanner.scan_reader(&b"abc\xe2\x80"[..], |_| {}).unwrap_err();
    assert!(matches!(err, ScanError::InvalidUtf8 { byte_offset: 3 }));
}

#[test]
fn read_errors_are_reported() {
    struct Broken;
    impl Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("disk on fire"))
        }
    }
    let err = Scanner::new().scan_reader(Broken, |_| {}).unwrap_err();
    assert_eq!(err.to_string(), "cannot read the input: disk on fire");
}

#[test]
fn empty_input_has_an_empty_summary() {
    let summary = Scanner::new().scan_reader(&b""[..], |_| {}).unwrap();
    assert_eq!((summary.bytes, summary.chars, summary.matches), (0, 0, 0));
    assert_eq!(summary.highest_severity, None);
}

/// Chunks smaller than a character, cut mid-character right at the overlap,
/// once made the reader spin without reading; every round now reads on.
#[test]
fn chunks_smaller_than_a_character_always_make_progress() {
    let text = format!(
        "{}mail a@b.co {}call 212-555-0123 {}",
        "🙂".repeat(90),
        "é".repeat(70),
        "😀漢".repeat(50)
    );
    let scanner = Scanner::new();
    let expected = scanner.scan(&text);
    assert_eq!(expected.len(), 2);
    for chunk in 1..=9 {
        for overlap in [256, 300] {
            let got = streamed(&scanner, text.as_bytes(), ReadOptions::new(chunk, overlap));
            assert_eq!(got, expected, "chunk {chunk}, overlap {overlap}");
        }
    }
}
