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

/// The bytes the sweep looks at in one step.
const BLOCK: usize = 64;

/// The trigger bytes of `block` as a bit mask: bit `i` is set when
/// `block[i]` is a trigger byte.
///
/// The first loop is written so that the compiler turns it into vector
/// instructions: it marks each byte (0x80 or 0) and notes whether any is
/// marked. Only a block with a trigger byte has its marks packed, eight
/// bytes at a time, into the mask.
#[inline]
fn block_mask(block: &[u8; BLOCK]) -> u64 {
    let mut marks = [0u8; BLOCK];
    let mut any = 0u8;
    for (mark, &b) in marks.iter_mut().zip(block) {
        *mark = u8::from(is_trigger(b)) << 7;
        any |= *mark;
    }
    if any == 0 {
        return 0;
    }
    let mut mask = 0u64;
    for (k, word) in marks.chunks_exact(8).enumerate() {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        // One bit per byte, then the eight bits gathered into the top byte:
        // the partial products land on distinct bits, so nothing carries.
        let ones = u64::from_le_bytes(bytes) >> 7;
        mask |= (ones.wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * k);
    }
    mask
}

/// Calls `f` with the offset and value of every trigger byte at or after the
/// offset `f` last returned (it returns where to look next). The text is
/// taken 64 bytes at a time: each block becomes a bit mask of its trigger
/// bytes, blocks before the resume offset are skipped, and bits before it
/// are cleared.
#[inline]
fn for_each_trigger(hay: &[u8], mut f: impl FnMut(usize, u8) -> usize) {
    let mut next = 0;
    let mut base = 0;
    while base < hay.len() {
        if next >= base + BLOCK {
            base = next - next % BLOCK;
            continue;
        }
        let mask = match hay.get(base..base + BLOCK).and_then(|b| <&[u8; BLOCK]>::try_from(b).ok())
        {
            Some(full) => block_mask(full),
            None => {
                // The tail, padded with zero bytes, which trigger nothing.
                let mut padded = [0u8; BLOCK];
                let tail = &hay[base..];
                padded[..tail.len()].copy_from_slice(tail);
                block_mask(&padded)
            }
        };
        let mut bits = mask & (u64::MAX << (next - base.min(next)));
        while bits != 0 {
            let i = base + bits.trailing_zeros() as usize;
            next = f(i, hay[i]).max(i + 1);
            if next >= base + BLOCK {
                break;
            }
            bits &= u64::MAX << (next - base);
        }
        base += BLOCK;
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
    let (mut a, mut b) = (0, 0);
    loop {
        let found = match (candidates.get(a), api_keys.get(b)) {
            (Some(x), Some(y)) if order(y) < order(x) => {
                b += 1;
                *y
            }
            (Some(x), _) => {
                a += 1;
                *x
            }
            (None, Some(y)) => {
                b += 1;
                *y
            }
            (None, None) => break,
        };
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
    fn block_masks_agree_with_the_byte_test() {
        for b in 0..=255u8 {
            let mut block = [b'a'; BLOCK];
            for (i, slot) in block.iter_mut().enumerate() {
                match i % 7 {
                    0 | 3 => *slot = b,
                    1 => *slot = 0xff,
                    2 => *slot = b'9',
                    4 => *slot = 0,
                    _ => {}
                }
            }
            let expected =
                (0..BLOCK).filter(|&i| is_trigger(block[i])).fold(0u64, |mask, i| mask | 1 << i);
            assert_eq!(block_mask(&block), expected, "byte {b:#x}");
        }
    }

    #[test]
    fn the_sweep_resumes_where_it_is_told() {
        let text = format!("1{}2 34{}5{}6", "a".repeat(70), "b".repeat(100), "c".repeat(3));
        let mut seen = Vec::new();
        for_each_trigger(text.as_bytes(), |i, _| {
            seen.push(i);
            if i == 0 { 74 } else { i + 1 }
        });
        assert_eq!(seen, vec![0, 74, 175, 179]);
    }

    #[test]
    fn overlaps_keep_the_earliest_then_longest() {
        let keys = KeyFinder::new();
        let out = find_all(b"mail 2001:db8::ffff:10.0.0.1 now", &keys);
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].kind, out[0].start, out[0].end), (Kind::IpAddress, 5, 28));
    }
}
