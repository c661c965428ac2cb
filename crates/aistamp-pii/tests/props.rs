//! Property tests: on any text the scanner never panics, reports valid spans
//! in order, and streaming agrees with a single scan.

use aistamp_pii::{ReadOptions, Scanner};
use proptest::prelude::*;

/// Text assembled from PII-like pieces, separators and arbitrary characters.
fn texts() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("john.doe@example.com".to_owned()),
        Just("(555) 234-5678".to_owned()),
        Just("+1 555 234 5678 x12".to_owned()),
        Just("123-45-6789".to_owned()),
        Just("4111 1111 1111 1111".to_owned()),
        Just("10.0.0.1".to_owned()),
        Just("2001:db8::1".to_owned()),
        Just("sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1w".to_owned()),
        Just("Bearer eyJhbGciOiJIUzI1NiJ9abc123".to_owned()),
        "[0-9]{1,20}",
        "[ .:@()+#x-]{1,4}",
        "[a-zA-Z0-9_.@:+-]{1,12}",
        "\\PC{1,8}",
        Just("\u{201c}\u{2014}\u{e9}\u{1f600}".to_owned()),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn spans_are_valid_and_sorted(text in texts()) {
        let scanner = Scanner::new();
        let matches = scanner.scan(&text);
        let mut last = (0, 0);
        let mut covered = 0;
        for m in &matches {
            prop_assert!(m.start < m.end);
            prop_assert!(text.is_char_boundary(m.byte_range.start));
            prop_assert!(text.is_char_boundary(m.byte_range.end));
            prop_assert_eq!(text[..m.byte_range.start].chars().count(), m.start);
            prop_assert_eq!(text[m.byte_range.clone()].chars().count(), m.end - m.start);
            prop_assert!((m.start, m.end) >= last);
            prop_assert!(m.byte_range.start >= covered, "built-in matches overlap");
            prop_assert!(m.redacted_snippet.contains("[REDACTED]"));
            last = (m.start, m.end);
            covered = m.byte_range.end;
        }
    }

    #[test]
    fn streaming_agrees_with_one_scan(text in texts(), chunk in 4usize..40) {
        // Exact agreement is promised for matches shorter than the overlap
        // less the snippet context.
        let scanner = Scanner::new();
        let expected = scanner.scan(&text);
        prop_assume!(expected.iter().all(|m| m.byte_range.len() < 256 - 100));
        let mut streamed = Vec::new();
        scanner
            .scan_reader_with(text.as_bytes(), ReadOptions::new(chunk, 256), |m| streamed.push(m))
            .unwrap();
        prop_assert_eq!(streamed, expected);
    }

    #[test]
    fn arbitrary_strings_never_panic(text in "\\PC{0,200}") {
        let _ = Scanner::new().scan(&text);
    }
}
