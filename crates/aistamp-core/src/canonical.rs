//! The canonical text of a record, version 1: the exact bytes that are
//! signed, identical to what ai-stamp 0.1.0 signs.
//!
//! Sorted keys, no whitespace, pure ASCII (everything else `\u`-escaped),
//! floats as the shortest round-tripping decimal in Python's `repr` layout,
//! and the timestamp in UTC. The encoder writes keys in their sorted order
//! directly; there is no intermediate JSON tree.

use crate::record::{PiiMatch, PiiResult, PolicyDecision, Record};

/// The canonical text of `record`.
pub fn canonical_json(record: &Record) -> String {
    let mut out = Vec::with_capacity(512);
    write_canonical(record, &mut out);
    // The encoder writes ASCII only.
    String::from_utf8(out).unwrap_or_default()
}

/// Appends the canonical text of `record` to `out`.
pub fn write_canonical(record: &Record, out: &mut Vec<u8>) {
    out.push(b'{');
    key(out, "app_id", true);
    string(out, &record.app_id);
    key(out, "content_id", false);
    string(out, &record.content_id);
    key(out, "feature_id", false);
    string(out, &record.feature_id);
    key(out, "latency_ms", false);
    match record.latency_ms {
        Some(latency) => float(out, latency.get()),
        None => null(out),
    }
    key(out, "model", false);
    string(out, &record.model);
    key(out, "pii_result", false);
    match &record.pii_result {
        Some(result) => pii_result(out, result),
        None => null(out),
    }
    key(out, "policy_decision", false);
    match &record.policy_decision {
        Some(decision) => policy_decision(out, decision),
        None => null(out),
    }
    key(out, "prompt_hash", false);
    string(out, &record.prompt_hash);
    key(out, "prompt_tokens", false);
    optional_int(out, record.prompt_tokens);
    key(out, "response_hash", false);
    optional_string(out, record.response_hash.as_deref());
    key(out, "response_tokens", false);
    optional_int(out, record.response_tokens);
    key(out, "status", false);
    string(out, record.status.as_str());
    key(out, "timestamp", false);
    out.push(b'"');
    record.timestamp.write_canonical(out);
    out.push(b'"');
    key(out, "user_id", false);
    string(out, &record.user_id);
    out.push(b'}');
}

fn pii_result(out: &mut Vec<u8>, result: &PiiResult) {
    out.push(b'{');
    key(out, "highest_severity", true);
    optional_string(out, result.highest_severity.map(|s| s.as_str()));
    key(out, "match_count", false);
    int(out, result.match_count);
    key(out, "prompt_matches", false);
    match_list(out, &result.prompt_matches);
    key(out, "response_matches", false);
    match_list(out, &result.response_matches);
    out.push(b'}');
}

fn match_list(out: &mut Vec<u8>, matches: &[PiiMatch]) {
    out.push(b'[');
    for (i, m) in matches.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'{');
        key(out, "end", true);
        int(out, m.end);
        key(out, "pattern_name", false);
        string(out, &m.pattern_name);
        key(out, "redacted_snippet", false);
        string(out, &m.redacted_snippet);
        key(out, "severity", false);
        string(out, m.severity.as_str());
        key(out, "start", false);
        int(out, m.start);
        out.push(b'}');
    }
    out.push(b']');
}

fn policy_decision(out: &mut Vec<u8>, decision: &PolicyDecision) {
    out.push(b'{');
    key(out, "action", true);
    string(out, decision.action.as_str());
    key(out, "reason", false);
    optional_string(out, decision.reason.as_deref());
    key(out, "rule_name", false);
    optional_string(out, decision.rule_name.as_deref());
    out.push(b'}');
}

fn key(out: &mut Vec<u8>, name: &str, first: bool) {
    if !first {
        out.push(b',');
    }
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
}

fn null(out: &mut Vec<u8>) {
    out.extend_from_slice(b"null");
}

fn optional_string(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        Some(text) => string(out, text),
        None => null(out),
    }
}

fn optional_int(out: &mut Vec<u8>, value: Option<i64>) {
    match value {
        Some(n) => int(out, n),
        None => null(out),
    }
}

fn int(out: &mut Vec<u8>, value: impl std::fmt::Display) {
    use std::io::Write;
    // Writing to a Vec cannot fail.
    let _ = write!(out, "{value}");
}

/// Writes `text` as a JSON string with every character outside printable
/// ASCII escaped, as Python's `json.dumps` with `ensure_ascii` does.
fn string(out: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = text.as_bytes();
    let mut plain_from = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\' {
            continue;
        }
        // Every byte of a multi-byte character is >= 0x80; only the first
        // one starts an escape, the continuation bytes are skipped below.
        if (0x80..0xc0).contains(&b) {
            out.extend_from_slice(&bytes[plain_from..i]);
            plain_from = i + 1;
            continue;
        }
        out.extend_from_slice(&bytes[plain_from..i]);
        plain_from = i + 1;
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            _ => b"",
        };
        if !escape.is_empty() {
            out.extend_from_slice(escape);
            continue;
        }
        let c = text[i..].chars().next().map_or(u32::from(b), u32::from);
        let mut units = [0u16; 2];
        let units: &[u16] = match char::from_u32(c) {
            Some(ch) => ch.encode_utf16(&mut units),
            None => &[],
        };
        for &unit in units {
            out.extend_from_slice(b"\\u");
            for shift in [12, 8, 4, 0] {
                out.push(HEX[usize::from((unit >> shift) & 0xf)]);
            }
        }
    }
    out.extend_from_slice(&bytes[plain_from..]);
    out.push(b'"');
}

/// Writes a finite float as Python's `repr` does: the shortest digits that
/// read back to the same double, positional when the decimal exponent is in
/// `-4..16`, otherwise `d.ddde±XX`.
fn float(out: &mut Vec<u8>, value: f64) {
    let mut buffer = ryu::Buffer::new();
    let shortest = buffer.format_finite(value);

    // Split ryu's output into sign, significant digits and the decimal
    // exponent of the first digit; only the layout is rewritten.
    let (negative, unsigned) = match shortest.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, shortest),
    };
    let (mantissa, exp_part) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (unsigned, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut digits: Vec<u8> = int_part.bytes().chain(frac_part.bytes()).collect();
    let mut point = int_part.len() as i32 + exp_part;
    let leading_zeros = digits.iter().take_while(|&&d| d == b'0').count();
    if leading_zeros == digits.len() {
        digits = vec![b'0'];
        point = 1;
    } else {
        digits.drain(..leading_zeros);
        point -= leading_zeros as i32;
        while digits.len() > 1 && digits.last() == Some(&b'0') {
            digits.pop();
        }
    }
    let exponent = point - 1;

    if negative {
        out.push(b'-');
    }
    if (-4..16).contains(&exponent) {
        if point <= 0 {
            out.extend_from_slice(b"0.");
            out.extend(std::iter::repeat_n(b'0', (-point) as usize));
            out.extend_from_slice(&digits);
        } else if point as usize >= digits.len() {
            out.extend_from_slice(&digits);
            out.extend(std::iter::repeat_n(b'0', point as usize - digits.len()));
            out.extend_from_slice(b".0");
        } else {
            let (whole, fraction) = digits.split_at(point as usize);
            out.extend_from_slice(whole);
            out.push(b'.');
            out.extend_from_slice(fraction);
        }
    } else {
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        out.push(if exponent < 0 { b'-' } else { b'+' });
        let magnitude = exponent.unsigned_abs();
        if magnitude < 10 {
            out.push(b'0');
        }
        int(out, magnitude);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn float_text(value: f64) -> String {
        let mut out = Vec::new();
        float(&mut out, value);
        String::from_utf8(out).unwrap()
    }

    fn string_text(value: &str) -> String {
        let mut out = Vec::new();
        string(&mut out, value);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn floats_use_python_repr_layout() {
        let cases = [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (150.0, "150.0"),
            (0.1, "0.1"),
            (0.0001, "0.0001"),
            (0.000123, "0.000123"),
            (1e-5, "1e-05"),
            (2.5e-7, "2.5e-07"),
            (1234567.891, "1234567.891"),
            (1e16, "1e+16"),
            (1e22, "1e+22"),
            (9999999999999998.0, "9999999999999998.0"),
            (123456789012345.6, "123456789012345.6"),
            (3e-320, "3e-320"),
            (0.30000000000000004, "0.30000000000000004"),
            (-12.5, "-12.5"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (123e100, "1.23e+102"),
            (100.0, "100.0"),
        ];
        for (value, expected) in cases {
            assert_eq!(float_text(value), expected, "{value:e}");
        }
    }

    #[test]
    fn strings_escape_like_python_ensure_ascii() {
        assert_eq!(string_text("plain"), r#""plain""#);
        assert_eq!(string_text("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(string_text("\u{0}\u{1f}\u{7f}"), r#""\u0000\u001f\u007f""#);
        assert_eq!(string_text("\u{8}\u{c}\n\r\t"), r#""\b\f\n\r\t""#);
        assert_eq!(string_text("café"), r#""caf\u00e9""#);
        assert_eq!(string_text("🙂"), r#""\ud83d\ude42""#);
        assert_eq!(string_text("摘要x"), r#""\u6458\u8981x""#);
    }
}
