//! The EMAIL recognizer, run at each `@`.

use crate::text::{is_word, run_end};

/// The longest local part RFC 5321 allows.
const MAX_LOCAL: usize = 64;
/// The longest domain RFC 5321 allows.
const MAX_DOMAIN: usize = 255;

fn is_local(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-')
}

fn is_domain(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-')
}

/// The byte span of the address around the `@` at `at`, if there is one.
///
/// The local part is the run of `[A-Za-z0-9._%+-]` before the `@`, starting
/// at its first letter or digit; the domain is the run of `[A-Za-z0-9.-]`
/// after it without trailing dots or dashes, made of non-empty labels and
/// ending in a top-level label of two or more letters.
pub(crate) fn find_at(hay: &[u8], at: usize) -> Option<(usize, usize)> {
    let mut start = at;
    while start > 0 && is_local(hay[start - 1]) {
        if at - start >= MAX_LOCAL {
            return None;
        }
        start -= 1;
    }
    while start < at && !hay[start].is_ascii_alphanumeric() {
        start += 1;
    }
    if start == at {
        return None;
    }

    let run = run_end(hay, at + 1, MAX_DOMAIN + 1, is_domain);
    if run - (at + 1) > MAX_DOMAIN {
        return None;
    }
    let mut end = run;
    while end > at + 1 && matches!(hay[end - 1], b'.' | b'-') {
        end -= 1;
    }
    if hay.get(end).is_some_and(|&b| is_word(b)) {
        return None;
    }

    let domain = &hay[at + 1..end];
    let mut labels = 0;
    let mut last: &[u8] = &[];
    for label in domain.split(|&b| b == b'.') {
        if label.is_empty() {
            return None;
        }
        labels += 1;
        last = label;
    }
    let tld_ok = last.len() >= 2 && last.iter().all(u8::is_ascii_alphabetic);
    (labels >= 2 && tld_ok).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(text: &str) -> Option<&str> {
        let at = text.find('@')?;
        find_at(text.as_bytes(), at).map(|(s, e)| &text[s..e])
    }

    #[test]
    fn finds_plain_and_tagged_addresses() {
        assert_eq!(
            email("mail john.doe+x@mail.example.co.uk."),
            Some("john.doe+x@mail.example.co.uk")
        );
        assert_eq!(email("(jane_roe@example.org)"), Some("jane_roe@example.org"));
        assert_eq!(email("..a@b.io"), Some("a@b.io"));
    }

    #[test]
    fn rejects_what_is_not_an_address() {
        assert_eq!(email("@example.com"), None);
        assert_eq!(email("a@localhost"), None);
        assert_eq!(email("a@b..com"), None);
        assert_eq!(email("a@10.0.0.1"), None);
        assert_eq!(email("a@b.c"), None);
        assert_eq!(email("a@b.com_x"), None);
    }
}
