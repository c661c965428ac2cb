//! Fuzzes `Scanner::scan` and `Scanner::scan_reader_with` on arbitrary bytes:
//! no panic, valid sorted spans, and streaming equal to one scan.
#![no_main]

use std::sync::LazyLock;

use aistamp_pii::{ReadOptions, Scanner};
use libfuzzer_sys::fuzz_target;

static SCANNER: LazyLock<Scanner> = LazyLock::new(Scanner::new);

fuzz_target!(|data: &[u8]| {
    let scanner = &*SCANNER;
    let chunk = 4 + usize::from(data.first().copied().unwrap_or(0) % 64);
    let mut streamed = Vec::new();
    let result = scanner.scan_reader_with(data, ReadOptions::new(chunk, 256), |m| streamed.push(m));

    let Ok(text) = std::str::from_utf8(data) else {
        assert!(result.is_err());
        return;
    };
    let matches = scanner.scan(text);
    let mut last = (0, 0);
    for m in &matches {
        assert!(m.start < m.end);
        assert!((m.start, m.end) >= last);
        assert_eq!(text[m.byte_range.clone()].chars().count(), m.end - m.start);
        last = (m.start, m.end);
    }
    assert!(result.is_ok());
    // Streaming promises exact agreement for matches shorter than the
    // overlap less the snippet context.
    if matches.iter().all(|m| m.byte_range.len() < 256 - 100) {
        assert_eq!(streamed, matches);
    }
});
