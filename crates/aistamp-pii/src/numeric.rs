//! The numeric recognizers (CREDIT_CARD, SSN, PHONE_US and IPv4), run at the
//! first digit of each number.

use crate::builtin::{Found, Kind};
use crate::text::{
    byte_before, digits_at, is_word, labelled_by, word_boundary_after, word_boundary_before,
};

/// Words that mark a bare digit run as an identifier rather than a phone or
/// card number ("Order #4829173650", "invoice no. 5551234567").
#[rustfmt::skip]
const ID_LABELS: &[&str] = &[
    "order", "orders", "invoice", "account", "acct", "ref", "reference", "tracking", "shipment",
    "confirmation", "transaction", "txn", "ticket", "case", "po", "sku", "serial", "isbn", "id",
    "customer", "member", "policy", "claim", "booking", "receipt", "item", "part", "batch", "lot",
    "msisdn", "imei", "imsi", "iccid", "ean", "upc", "gtin", "barcode", "iban", "routing", "aba",
];

/// Words that mark a dotted quad as a version rather than an address.
#[rustfmt::skip]
const VERSION_LABELS: &[&str] = &[
    "version", "versions", "ver", "v", "release", "build", "firmware", "update", "upgrade", "patch",
    "rev", "revision", "sdk", "api", "kernel",
];

/// Looks for a number starting at the digit `d`. Returns what was found and
/// the offset where the search for the next number should resume.
pub(crate) fn find_at(hay: &[u8], d: usize) -> (Option<Found>, usize) {
    let prev = byte_before(hay, d);
    let run_end = d + digits_at(hay, d);

    // A digit inside a word ("v2", "abc123") starts nothing.
    if prev.is_some_and(is_word) {
        let word_end = d + hay[d..].iter().take_while(|&&b| is_word(b)).count();
        return (None, word_end);
    }
    // Every shape below starts with a run of 1 to 4 or 10 to 19 digits; a
    // short run must be followed by a separator or `)`.
    let run = run_end - d;
    let shaped = match run {
        1..=4 => matches!(hay.get(run_end), Some(b'.' | b'-' | b' ' | b')')),
        10..=19 => true,
        _ => false,
    };
    if !shaped {
        return (None, run_end);
    }

    // A short run and a separator followed by neither a digit nor `(` (a
    // year or a count in prose: "in 1995 the") starts no shape.
    if run <= 4
        && matches!(hay.get(run_end), Some(b'.' | b'-' | b' '))
        && !hay.get(run_end + 1).is_some_and(|&b| b.is_ascii_digit() || b == b'(')
    {
        return (None, run_end);
    }

    // A digit continuing a dotted number ("1.2.3.4.5") starts nothing. After
    // a group of digits and a dash only an address may start (a range
    // "10.0.0.1-10.0.0.9"); after digits and a space no card may ("1234 5678
    // 9012 3456" is not a card from "5678").
    let number_start = d
        .checked_sub(1)
        .map(|p| hay[..p].iter().rposition(|b| !b.is_ascii_digit()).map_or(0, |i| i + 1));
    let after_digits =
        number_start.is_some_and(|n| n + 1 < d && !byte_before(hay, n).is_some_and(is_word));
    if prev == Some(b'.') && after_digits {
        return (None, run_end);
    }
    // The rest of an international number ("+44 114 496 0324", "+44(0)20
    // 7946 0958") is neither a US phone number nor a card.
    let international = prev == Some(b')')
        || after_digits
            && number_start.is_some_and(|n| byte_before(hay, n) == Some(b'+') || hay[n] == b'0');
    let only_address = international || prev == Some(b'-') && after_digits;
    let no_card = only_address || prev == Some(b' ') && after_digits;

    let address = || ipv4(hay, d).map(|end| Found::new(Kind::IpAddress, d, end));
    let found = if only_address {
        address()
    } else {
        let card = || card(hay, d).map(|end| Found::new(Kind::CreditCard, d, end));
        (if no_card { None } else { card() })
            .or_else(|| ssn(hay, d).map(|end| Found::new(Kind::Ssn, d, end)))
            .or_else(|| phone(hay, d))
            .or_else(address)
    };
    match found {
        Some(found) => {
            let resume = found.end;
            (Some(found), resume)
        }
        None => (None, run_end),
    }
}

/// True when the number ending at `end` is not glued to more word bytes or
/// to a further dotted or dashed group of digits.
fn number_ends(hay: &[u8], end: usize) -> bool {
    if !word_boundary_after(hay, end) {
        return false;
    }
    !(matches!(hay.get(end), Some(b'.' | b'-'))
        && hay.get(end + 1).is_some_and(|b| b.is_ascii_digit()))
}

fn luhn_valid(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, &d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

/// True when the number's leading digits belong to a card issuer that issues
/// numbers of this length.
fn issuer_plausible(digits: &[u8]) -> bool {
    let n = digits.len();
    let prefix = |k: usize| -> u32 {
        digits.iter().take(k).fold(0, |acc, &d| acc * 10 + u32::from(d - b'0'))
    };
    let (p1, p2, p3, p4, p6) = (prefix(1), prefix(2), prefix(3), prefix(4), prefix(6));
    let long = (16..=19).contains(&n);
    match p1 {
        4 => matches!(n, 13 | 16 | 19),
        _ if (51..=55).contains(&p2) || (2221..=2720).contains(&p4) => n == 16,
        _ if p2 == 34 || p2 == 37 => n == 15,
        _ if (300..=305).contains(&p3) || matches!(p2, 36 | 38 | 39) => (14..=19).contains(&n),
        // JCB issues 3528 to 3589; generators and test data use all of 35.
        _ if p2 == 35 => long,
        _ if p4 == 2131 || p4 == 1800 => n == 15,
        _ if (2200..=2204).contains(&p4) => long,
        _ if p4 == 6011 || (644..=649).contains(&p3) || p2 == 65 => long,
        _ if (622126..=622925).contains(&p6) || p2 == 62 => long,
        _ if matches!(
            p4,
            5018 | 5020 | 5038 | 5893 | 6304 | 6759 | 6761 | 6762 | 6763 | 604 | 6390
        ) || (56..=58).contains(&p2) =>
        {
            (12..=19).contains(&n)
        }
        _ => false,
    }
}

/// A card number at `d`: 12 to 19 digits in one run, or a first group of
/// four digits followed by groups joined by one kind of separator (space or
/// dash); Luhn-valid and with a plausible issuer prefix.
fn card(hay: &[u8], d: usize) -> Option<usize> {
    let first = digits_at(hay, d);
    if (12..=19).contains(&first) {
        let end = d + first;
        let digits = &hay[d..end];
        let ok = number_ends(hay, end)
            && luhn_valid(digits)
            && issuer_plausible(digits)
            && !labelled_by(hay, d, ID_LABELS);
        return ok.then_some(end);
    }
    if first != 4 {
        return None;
    }

    let sep = *hay.get(d + 4)?;
    if sep != b' ' && sep != b'-' {
        return None;
    }
    // Collect the groups; then try the longest run of at least three groups
    // first, so a number that happens to follow the card is left out.
    let mut digits = [0u8; 26];
    digits[..4].copy_from_slice(&hay[d..d + 4]);
    let mut count = 4;
    let mut ends = [(0usize, 0usize); 8];
    let mut groups = 0;
    let mut i = d + 4;
    while hay.get(i) == Some(&sep) && count < 19 && groups < ends.len() {
        let n = digits_at(hay, i + 1);
        if !(1..=7).contains(&n) {
            break;
        }
        digits[count..count + n].copy_from_slice(&hay[i + 1..i + 1 + n]);
        count += n;
        i += 1 + n;
        ends[groups] = (i, count);
        groups += 1;
    }
    ends[..groups].iter().skip(1).rev().find_map(|&(end, count)| {
        let digits = &digits[..count];
        let ok = (12..=19).contains(&count)
            && number_ends(hay, end)
            && luhn_valid(digits)
            && issuer_plausible(digits);
        ok.then_some(end)
    })
}

/// An SSN at `d`: `AAA-GG-SSSS` with an area other than 000, 666 or 9xx, a
/// group other than 00 and a serial other than 0000.
fn ssn(hay: &[u8], d: usize) -> Option<usize> {
    let s = hay.get(d..d + 11)?;
    let shape = digits_at(s, 0) == 3
        && s[3] == b'-'
        && digits_at(s, 4) == 2
        && s[6] == b'-'
        && digits_at(s, 7) == 4;
    if !shape || !number_ends(hay, d + 11) {
        return None;
    }
    let valid = &s[0..3] != b"000" && &s[0..3] != b"666" && s[0] != b'9';
    (valid && &s[4..6] != b"00" && &s[7..11] != b"0000").then_some(d + 11)
}

fn is_phone_sep(b: u8) -> bool {
    matches!(b, b' ' | b'-' | b'.')
}

/// A US phone number whose first digit is at `d`, possibly opened by `(` or
/// `+1` just before it or by `1`/`001` and a separator, and possibly followed
/// by an extension (`x123`, `ext. 123`, `#123`).
fn phone(hay: &[u8], d: usize) -> Option<Found> {
    let prev = byte_before(hay, d);
    let mut start = d;
    let mut i = d;
    let mut prefixed = true;
    if prev == Some(b'+') {
        if hay[d] != b'1' || !word_boundary_before(hay, d - 1) {
            return None;
        }
        start = d - 1;
        i = d + 1 + usize::from(hay.get(d + 1).copied().is_some_and(is_phone_sep));
    } else if hay[d] == b'1' && hay.get(d + 1).copied().is_some_and(is_phone_sep) {
        i = d + 2;
    } else if hay[d..].starts_with(b"001") && hay.get(d + 3).copied().is_some_and(is_phone_sep) {
        i = d + 4;
    } else {
        prefixed = false;
    }

    let line_end = if digits_at(hay, i) == 10 {
        // Ten digits in one run: a phone number only with a `+1` prefix, or
        // when it is a valid NANP number that nothing labels as an identifier.
        let bare_ok = hay[i] >= b'2'
            && hay[i + 3] >= b'2'
            && !labelled_by(hay, start, ID_LABELS)
            && byte_before(hay, start) != Some(b'#');
        if !prefixed && !bare_ok {
            return None;
        }
        i + 10
    } else {
        // The area code, in parentheses (opened just before `d` or after the
        // prefix) or followed by a separator.
        if !prefixed && prev == Some(b'(') {
            if !word_boundary_before(hay, d - 1) {
                return None;
            }
            start = d - 1;
            i = d + 3;
            if digits_at(hay, d) != 3 || hay.get(i) != Some(&b')') {
                return None;
            }
            i += 1;
            i += usize::from(hay.get(i).copied().is_some_and(is_phone_sep));
        } else if prefixed && hay.get(i) == Some(&b'(') {
            if digits_at(hay, i + 1) != 3 || hay.get(i + 4) != Some(&b')') {
                return None;
            }
            i += 5;
            i += usize::from(hay.get(i).copied().is_some_and(is_phone_sep));
        } else {
            if digits_at(hay, i) != 3 || !hay.get(i + 3).copied().is_some_and(is_phone_sep) {
                return None;
            }
            i += 4;
        }

        // Exchange and line number.
        if digits_at(hay, i) != 3 {
            return None;
        }
        i += 3;
        i += usize::from(hay.get(i).copied().is_some_and(is_phone_sep));
        if digits_at(hay, i) != 4 {
            return None;
        }
        i + 4
    };

    if let Some(end) = extension(hay, line_end) {
        return Some(Found::new(Kind::PhoneUs, start, end));
    }
    number_ends(hay, line_end).then(|| Found::new(Kind::PhoneUs, start, line_end))
}

/// The end of an extension (`x123`, ` ext. 123`, ` extension 12`, ` #12`)
/// that starts at `i`, if there is one.
fn extension(hay: &[u8], mut i: usize) -> Option<usize> {
    let spaces = |mut j: usize| {
        let mut n = 0;
        while n < 2 && hay.get(j) == Some(&b' ') {
            j += 1;
            n += 1;
        }
        j
    };
    i = spaces(i);
    let rest = hay.get(i..)?;
    let marker = [&b"extension"[..], b"ext.", b"ext", b"x", b"#"]
        .into_iter()
        .find(|m| rest.len() >= m.len() && rest[..m.len()].eq_ignore_ascii_case(m))?;
    i = spaces(i + marker.len());
    let n = digits_at(hay, i);
    if !(1..=6).contains(&n) || !word_boundary_after(hay, i + n) {
        return None;
    }
    Some(i + n)
}

/// An IPv4 address at `d`: four decimal octets of at most 255 without
/// leading zeros, not part of a longer dotted number and not labelled as a
/// version.
fn ipv4(hay: &[u8], d: usize) -> Option<usize> {
    let mut i = d;
    for octet in 0..4 {
        if octet > 0 {
            if hay.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let n = digits_at(hay, i);
        if n == 0 || n > 3 || (n > 1 && hay[i] == b'0') {
            return None;
        }
        let value = hay[i..i + n].iter().fold(0u32, |acc, &b| acc * 10 + u32::from(b - b'0'));
        if value > 255 {
            return None;
        }
        i += n;
    }
    if !word_boundary_after(hay, i) {
        return None;
    }
    if hay.get(i) == Some(&b'.') && hay.get(i + 1).is_some_and(|b| b.is_ascii_digit()) {
        return None;
    }
    (!labelled_by(hay, d, VERSION_LABELS)).then_some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(text: &str) -> Option<(Kind, &str)> {
        let hay = text.as_bytes();
        let mut i = 0;
        while i < hay.len() {
            if hay[i].is_ascii_digit() {
                let (found, resume) = find_at(hay, i);
                if let Some(f) = found {
                    return Some((f.kind, &text[f.start..f.end]));
                }
                i = resume.max(i + 1);
            } else {
                i += 1;
            }
        }
        None
    }

    #[test]
    fn luhn_and_issuers() {
        assert!(luhn_valid(b"4111111111111111"));
        assert!(!luhn_valid(b"4111111111111112"));
        assert!(issuer_plausible(b"378282246310005"));
        assert!(!issuer_plausible(b"9111111111111111"));
    }

    #[test]
    fn recognizes_each_numeric_kind() {
        assert_eq!(
            first("card 4111 1111 1111 1111."),
            Some((Kind::CreditCard, "4111 1111 1111 1111"))
        );
        assert_eq!(first("amex 3782-822463-10005"), Some((Kind::CreditCard, "3782-822463-10005")));
        assert_eq!(first("ssn 123-45-6789"), Some((Kind::Ssn, "123-45-6789")));
        assert_eq!(first("call (555) 123-4567 now"), Some((Kind::PhoneUs, "(555) 123-4567")));
        assert_eq!(first("call +1-555-123-4567x89"), Some((Kind::PhoneUs, "+1-555-123-4567x89")));
        assert_eq!(first("call 5552345678"), Some((Kind::PhoneUs, "5552345678")));
        assert_eq!(first("at 192.168.0.1."), Some((Kind::IpAddress, "192.168.0.1")));
    }

    #[test]
    fn skips_identifiers_and_versions() {
        assert_eq!(first("Order #4829173650"), None);
        assert_eq!(first("order number 5829173650"), None);
        assert_eq!(first("version 1.2.3.4"), None);
        assert_eq!(first("1.2.3.4.5"), None);
        assert_eq!(first("000-12-3456"), None);
        assert_eq!(first("call 5551234567"), None);
    }
}
