//! The built-in recognizers and the single pass that finds their candidates:
//! one sweep for digits, `:` and `@`, and one Aho-Corasick sweep for key
//! prefixes.

use crate::keys::KeyFinder;
use crate::severity::Severity;
use crate::{email, ipv6, numeric};

/// A built-in kind of PII.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Email,
    PhoneUs,
    Ssn,
    CreditCard,
    ApiKey,
    IpAddress,
}

impl Kind {
    pub(crate) const ALL: [Kind; 6] =
        [Kind::Email, Kind::PhoneUs, Kind::Ssn, Kind::CreditCard, Kind::ApiKey, Kind::IpAddress];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Email => "EMAIL",
            Kind::PhoneUs => "PHONE_US",
            Kind::Ssn => "SSN",
            Kind::CreditCard => "CREDIT_CARD",
            Kind::ApiKey => "API_KEY",
            Kind::IpAddress => "IP_ADDRESS",
        }
    }

    pub(crate) fn severity(self) -> Severity {
        match self {
            Kind::Email | Kind::PhoneUs => Severity::Medium,
            Kind::Ssn | Kind::CreditCard | Kind::ApiKey => Severity::High,
            Kind::IpAddress => Severity::Low,
        }
    }

    /// The index of this kind in [`Kind::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// A candidate found by a built-in recognizer, as byte offsets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Found {
    pub(crate) kind: Kind,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl Found {
    pub(crate) fn new(kind: Kind, start: usize, end: usize) -> Self {
        Found { kind, start, end }
    }
}

/// True for the bytes that can start a built-in candidate in the sweep:
/// digits, `:` (0x3A, next to the digits) and `@`.
#[inline]
fn is_trigger(b: u8) -> bool {
    b.wrapping_sub(b'0') <= 10 || b == b'@'
}

/// The high bit of each byte of `word` that is a trigger byte, computed on
/// all eight bytes at once without carries between them.
#[inline]
fn trigger_bits(word: u64) -> u64 {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Bytes 0x30..=0x3A become 0..=10 (non-ASCII bytes keep their high bit).
    let y = word ^ (0x30 * LOW);
    let digit_or_colon = !((y | HIGH) - 11 * LOW) & !y & HIGH;
    // Bytes equal to 0x40 become zero.
    let z = word ^ (0x40 * LOW);
    let at = !(((z & !HIGH) + !HIGH) | z) & HIGH;
    digit_or_colon | at
}

/// Calls `f` with the offset and value of every trigger byte at or after the
/// offset `f` last returned (it returns where to look next). A loop the
/// compiler vectorizes skips 64-byte blocks without a trigger byte; in the
/// others the trigger bytes are found eight at a time.
#[inline]
fn for_each_trigger(hay: &[u8], mut f: impl FnMut(usize, u8) -> usize) {
    const BLOCK: usize = 64;
    let mut next = 0;
    let mut blocks = hay.chunks_exact(BLOCK);
    let mut base = 0;
    for block in &mut blocks {
        if base + BLOCK <= next {
            base += BLOCK;
            continue;
        }
        let mut any = 0u8;
        for &b in block {
            any |= u8::from(is_trigger(b));
        }
        if any != 0 {
            for (w, word) in block.chunks_exact(8).enumerate() {
                let mut bytes = [0u8; 8];
                bytes.copy_from_slice(word);
                let mut bits = trigger_bits(u64::from_le_bytes(bytes));
                while bits != 0 {
                    let i = w * 8 + bits.trailing_zeros() as usize / 8;
                    if base + i >= next {
                        next = f(base + i, block[i]).max(base + i + 1);
                    }
                    bits &= bits - 1;
                }
            }
        }
        base += BLOCK;
    }
    for (i, &b) in blocks.remainder().iter().enumerate() {
        if is_trigger(b) && base + i >= next {
            next = f(base + i, b).max(base + i + 1);
        }
    }
}

/// Every built-in match in `hay`: candidates of all kinds, sorted by
/// position, overlaps resolved in favour of the one starting first (then the
/// longer one).
pub(crate) fn find_all(hay: &[u8], keys: &KeyFinder) -> Vec<Found> {
    let mut candidates = Vec::new();
    for_each_trigger(hay, |i, b| match b {
        b'@' => match email::find_at(hay, i) {
            Some((s, e)) => {
                candidates.push(Found::new(Kind::Email, s, e));
                e
            }
            None => i + 1,
        },
        b':' => match ipv6::find_at(hay, i) {
            Some((s, e)) => {
                candidates.push(Found::new(Kind::IpAddress, s, e));
                e
            }
            None => i + 1,
        },
        _ => {
            let (found, resume) = numeric::find_at(hay, i);
            candidates.extend(found);
            resume
        }
    });
    let mut api_keys = Vec::new();
    keys.find_all(hay, |s, e| api_keys.push(Found::new(Kind::ApiKey, s, e)));

    // Both lists are (almost always) sorted already; merge them, keeping a
    // candidate only when it starts after everything kept so far.
    let order = |f: &Found| (f.start, std::cmp::Reverse(f.end));
    if !candidates.is_sorted_by_key(order) {
        candidates.sort_unstable_by_key(order);
    }
    let mut out = Vec::with_capacity(candidates.len() + api_keys.len());
    let mut covered = 0;
    let (mut a, mut b) = (candidates.into_iter().peekable(), api_keys.into_iter().peekable());
    loop {
        let next = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) if order(y) < order(x) => b.next(),
            (Some(_), _) => a.next(),
            (None, _) => b.next(),
        };
        let Some(found) = next else { break };
        if found.start >= covered {
            covered = found.end;
            out.push(found);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sweep_sees_every_trigger_byte() {
        let text = format!("{}7{}@{}:", "a".repeat(63), "b".repeat(70), "c".repeat(5));
        let mut seen = Vec::new();
        for_each_trigger(text.as_bytes(), |i, b| {
            seen.push((i, b));
            i + 1
        });
        assert_eq!(seen, vec![(63, b'7'), (134, b'@'), (140, b':')]);
    }

    #[test]
    fn trigger_bits_agree_with_the_byte_test() {
        for b in 0..=255u8 {
            let word = u64::from_le_bytes([b'a', b, b'z', 0xff, b, 0, b'9', b]);
            let expected: u64 = [1, 4, 7]
                .iter()
                .map(|&i| if is_trigger(b) { 0x80u64 << (8 * i) } else { 0 })
                .sum::<u64>()
                | 0x80 << (8 * 6);
            assert_eq!(trigger_bits(word), expected, "byte {b:#x}");
        }
    }

    #[test]
    fn overlaps_keep_the_earliest_then_longest() {
        let keys = KeyFinder::new();
        let out = find_all(b"mail 2001:db8::ffff:10.0.0.1 now", &keys);
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].kind, out[0].start, out[0].end), (Kind::IpAddress, 5, 28));
    }
}
