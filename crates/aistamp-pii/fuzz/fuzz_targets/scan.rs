//! Fuzzes `Scanner::scan` and `Scanner::scan_reader_with` on arbitrary bytes:
//! no panic, valid sorted spans, and streaming equal to one scan.
#![no_main]

use aistamp_pii::{ReadOptions, Scanner};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let scanner = Scanner::new();
    let chunk = 4 + usize::from(data.first().copied().unwrap_or(0) % 64);
    let mut streamed = Vec::new();
    let result =
        scanner.scan_reader_with(data, ReadOptions::new(chunk, 256), |m| streamed.push(m));

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
    assert_eq!(streamed, matches);
});
