//! JSON text laid out exactly as Python's `json.dumps(value, indent=2)`
//! writes it, which is what ai-stamp 0.1.0 prints: two-space indents,
//! `": "` between key and value, every non-ASCII character escaped, floats
//! as Python's `repr`.

/// A JSON value whose objects keep their keys in the order given.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Array(Vec<Json>),
    Object(Vec<(&'static str, Json)>),
}

impl Json {
    /// `value` as a string, or null.
    pub(crate) fn opt_str(value: Option<&str>) -> Json {
        value.map_or(Json::Null, |s| Json::Str(s.to_string()))
    }

    /// `value` as an integer, or null.
    pub(crate) fn opt_int(value: Option<i64>) -> Json {
        value.map_or(Json::Null, Json::Int)
    }

    /// The pretty text, without a trailing newline.
    pub(crate) fn to_pretty(&self) -> String {
        let mut out = String::with_capacity(256);
        self.write(&mut out, 0);
        out
    }

    /// The pretty text as it appears nested `depth` levels deep.
    pub(crate) fn to_pretty_at(&self, depth: usize) -> String {
        let mut out = String::with_capacity(256);
        self.write(&mut out, depth);
        out
    }

    fn write(&self, out: &mut String, depth: usize) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(true) => out.push_str("true"),
            Json::Bool(false) => out.push_str("false"),
            Json::Int(n) => out.push_str(&n.to_string()),
            Json::Float(x) => out.push_str(&python_float(*x)),
            Json::Str(s) => write_string(out, s),
            Json::Array(items) if items.is_empty() => out.push_str("[]"),
            Json::Object(fields) if fields.is_empty() => out.push_str("{}"),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, depth + 1);
                    item.write(out, depth + 1);
                }
                newline(out, depth);
                out.push(']');
            }
            Json::Object(fields) => {
                out.push('{');
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, depth + 1);
                    write_string(out, key);
                    out.push_str(": ");
                    value.write(out, depth + 1);
                }
                newline(out, depth);
                out.push('}');
            }
        }
    }
}

fn newline(out: &mut String, depth: usize) {
    out.push('\n');
    for _ in 0..depth {
        out.push_str("  ");
    }
}

/// Writes `text` as a JSON string with everything outside printable ASCII
/// escaped (`\uXXXX`, surrogate pairs above the BMP), as Python does.
pub(crate) fn write_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

/// A finite float as Python's `repr` writes it: the shortest digits that
/// read back to the same value, positional when the decimal exponent is in
/// `-4..16` (always with a fractional part), otherwise `d.ddde±XX`.
/// Non-finite values, which no record holds, print as Python prints them.
pub(crate) fn python_float(value: f64) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    // `{:e}` gives the shortest round-trip digits in scientific form.
    let sci = format!("{:e}", value.abs());
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if value.is_sign_negative() { "-" } else { "" };

    if !(-4..16).contains(&exponent) {
        let (first, rest) = digits.split_at(1);
        let rest = if rest.is_empty() { String::new() } else { format!(".{rest}") };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        return format!("{sign}{first}{rest}e{exp_sign}{:02}", exponent.unsigned_abs());
    }
    let point = exponent + 1;
    if point <= 0 {
        let zeros = "0".repeat(point.unsigned_abs() as usize);
        return format!("{sign}0.{zeros}{digits}");
    }
    let point = point as usize;
    if point >= digits.len() {
        let zeros = "0".repeat(point - digits.len());
        return format!("{sign}{digits}{zeros}.0");
    }
    let (whole, fraction) = digits.split_at(point);
    format!("{sign}{whole}.{fraction}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_match_python_repr() {
        for (value, text) in [
            (0.0, "0.0"),
            (3.0, "3.0"),
            (12.5, "12.5"),
            (0.1, "0.1"),
            (1234.5678, "1234.5678"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1e16, "1e+16"),
            (123456789012345.6, "123456789012345.6"),
            (1.5e300, "1.5e+300"),
            (-2.25, "-2.25"),
            (f64::NAN, "NaN"),
        ] {
            assert_eq!(python_float(value), text, "{value}");
        }
    }

    #[test]
    fn layout_matches_python_indent_two() {
        let value = Json::Object(vec![
            ("a", Json::Int(1)),
            ("b", Json::Array(vec![])),
            ("c", Json::Object(vec![])),
            ("d", Json::Array(vec![Json::Null, Json::Bool(true)])),
            ("e", Json::Str("é\"\n😀".into())),
        ]);
        assert_eq!(
            value.to_pretty(),
            "{\n  \"a\": 1,\n  \"b\": [],\n  \"c\": {},\n  \"d\": [\n    null,\n    true\n  ],\n  \"e\": \"\\u00e9\\\"\\n\\ud83d\\ude00\"\n}"
        );
    }
}
