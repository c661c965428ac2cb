//! The IPv6 half of the IP_ADDRESS recognizer, run at each `:`.

use std::net::Ipv6Addr;

use crate::text::{byte_before, is_word};

/// The longest textual IPv6 address (with an embedded IPv4 tail).
const MAX_LEN: usize = 45;

fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

/// Looks for an IPv6 address around the `:` at `colon`; returns its byte
/// span.
pub(crate) fn find_at(hay: &[u8], colon: usize) -> Option<(usize, usize)> {
    let mut start = colon;
    while start > 0 && colon - start < MAX_LEN && (is_hex(hay[start - 1]) || hay[start - 1] == b':')
    {
        start -= 1;
    }
    let mut end = colon + 1;
    while end < hay.len() && end - start <= MAX_LEN {
        let b = hay[end];
        if !(is_hex(b) || b == b':' || b == b'.') {
            break;
        }
        end += 1;
    }

    // Sentence punctuation after the address is not part of it.
    while end > colon + 1 && hay[end - 1] == b'.' {
        end -= 1;
    }
    if end - start >= 3 && hay[end - 1] == b':' && hay[end - 2] != b':' {
        end -= 1;
    }
    accept(hay, start, end).then_some((start, end))
}

fn accept(hay: &[u8], start: usize, end: usize) -> bool {
    let text = &hay[start..end];
    let colons = text.iter().filter(|&&b| b == b':').count();
    if colons < 2 || end - start > MAX_LEN || text.iter().all(|&b| b == b':') {
        return false;
    }

    // Glued to a word, or followed by what follows a C++ or Rust path.
    if byte_before(hay, start).is_some_and(|b| is_word(b) || b == b'.') {
        return false;
    }
    if hay.get(end).is_some_and(|&b| is_word(b) || matches!(b, b'(' | b'<')) {
        return false;
    }

    // `Foo::Bar`-like scopes: short groups, or groups mixing letter cases.
    let groups = || text.split(|&b| b == b':').filter(|g| !g.is_empty());
    let mixed_case = groups()
        .any(|g| g.iter().any(u8::is_ascii_lowercase) && g.iter().any(u8::is_ascii_uppercase));
    let compressed = text.windows(2).any(|w| w == b"::");
    let longest = groups().map(<[u8]>::len).max().unwrap_or(0);
    if mixed_case || (compressed && !text.starts_with(b"::") && longest < 3) {
        return false;
    }

    std::str::from_utf8(text).is_ok_and(|t| t.parse::<Ipv6Addr>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv6(text: &str) -> Option<&str> {
        let colon = text.find(':')?;
        find_at(text.as_bytes(), colon).map(|(s, e)| &text[s..e])
    }

    #[test]
    fn finds_full_compressed_and_mapped_addresses() {
        assert_eq!(ipv6("at 2001:db8::1."), Some("2001:db8::1"));
        assert_eq!(ipv6("fe80::1ff:fe23:4567:890a"), Some("fe80::1ff:fe23:4567:890a"));
        assert_eq!(ipv6("[::1]:8080"), Some("::1"));
        assert_eq!(ipv6("::ffff:192.0.2.1"), Some("::ffff:192.0.2.1"));
        assert_eq!(
            ipv6("2001:0db8:85a3:0000:0000:8a2e:0370:7334"),
            Some("2001:0db8:85a3:0000:0000:8a2e:0370:7334")
        );
    }

    #[test]
    fn skips_scopes_times_and_macs() {
        assert_eq!(ipv6("std::vector"), None);
        assert_eq!(ipv6("a::b"), None);
        assert_eq!(ipv6("Abc::Def"), None);
        assert_eq!(ipv6("12:30:45"), None);
        assert_eq!(ipv6("00:1A:2B:3C:4D:5E"), None);
        assert_eq!(ipv6("note: x"), None);
        assert_eq!(ipv6("::"), None);
    }
}
