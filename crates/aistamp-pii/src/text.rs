//! Byte classes, ASCII word boundaries and code-point arithmetic on UTF-8 text.

/// True for an ASCII word byte: a letter, a digit or `_`. Bytes of non-ASCII
/// characters are never word bytes, which makes every boundary check ASCII.
#[inline]
pub(crate) fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The byte before `i`, if any.
#[inline]
pub(crate) fn byte_before(hay: &[u8], i: usize) -> Option<u8> {
    i.checked_sub(1).and_then(|j| hay.get(j).copied())
}

/// True when there is no word byte just before `i`.
#[inline]
pub(crate) fn word_boundary_before(hay: &[u8], i: usize) -> bool {
    !byte_before(hay, i).is_some_and(is_word)
}

/// True when there is no word byte at `i`.
#[inline]
pub(crate) fn word_boundary_after(hay: &[u8], i: usize) -> bool {
    !hay.get(i).copied().is_some_and(is_word)
}

/// The end of the run of bytes from `i` on that satisfy `pred`, looking at
/// most `limit` bytes ahead.
#[inline]
pub(crate) fn run_end(hay: &[u8], i: usize, limit: usize, pred: impl Fn(u8) -> bool) -> usize {
    let stop = hay.len().min(i.saturating_add(limit));
    let mut j = i;
    while j < stop && pred(hay[j]) {
        j += 1;
    }
    j
}

/// The number of ASCII digits starting at `i`.
#[inline]
pub(crate) fn digits_at(hay: &[u8], i: usize) -> usize {
    run_end(hay, i, usize::MAX, |b| b.is_ascii_digit()) - i
}

#[inline]
fn is_continuation(b: u8) -> bool {
    b & 0xC0 == 0x80
}

/// The number of code points in `text[range]`, or 0 when the range does not
/// fall on character boundaries (it always does for the scanner's spans).
#[inline]
pub(crate) fn count_chars(text: &str, range: std::ops::Range<usize>) -> usize {
    text.get(range).map_or(0, |piece| count_starts(piece.as_bytes()))
}

/// The number of bytes that start a character (all but continuation
/// bytes), 64 at a time; the tail is padded with continuation bytes, so
/// every block takes the same vectorized loop.
fn count_starts(bytes: &[u8]) -> usize {
    let blocks = bytes.chunks_exact(64);
    let tail = blocks.remainder();
    let mut total = 0;
    for block in blocks {
        total += starts_in(block);
    }
    if !tail.is_empty() {
        let mut padded = [0x80u8; 64];
        padded[..tail.len()].copy_from_slice(tail);
        total += starts_in(&padded);
    }
    total
}

/// [`count_starts`] of at most 255 bytes, counted in 8 bits.
#[inline]
fn starts_in(block: &[u8]) -> usize {
    let mut starts = 0u8;
    for &b in block {
        starts += u8::from(!is_continuation(b));
    }
    usize::from(starts)
}

/// The byte offset `n` code points before `i` (or 0).
pub(crate) fn back_chars(hay: &[u8], mut i: usize, n: usize) -> usize {
    if i >= n && hay.get(i - n..i).is_some_and(<[u8]>::is_ascii) {
        return i - n;
    }
    for _ in 0..n {
        if i == 0 {
            break;
        }
        i -= 1;
        while i > 0 && is_continuation(hay[i]) {
            i -= 1;
        }
    }
    i
}

/// The byte offset `n` code points after `i` (or the end).
pub(crate) fn forward_chars(hay: &[u8], mut i: usize, n: usize) -> usize {
    if hay.get(i..i.saturating_add(n)).is_some_and(<[u8]>::is_ascii) {
        return i + n;
    }
    for _ in 0..n {
        if i >= hay.len() {
            break;
        }
        i += 1;
        while i < hay.len() && is_continuation(hay[i]) {
            i += 1;
        }
    }
    i
}

/// The lower-case ASCII word (letters only, at most 16 bytes) that ends just
/// before `end` after skipping spaces and the punctuation in `skip`; returns
/// the word and where it starts.
pub(crate) fn word_before<'h>(hay: &'h [u8], end: usize, skip: &[u8]) -> Option<(&'h [u8], usize)> {
    let mut i = end;
    let mut skipped = 0;
    while i > 0 && (hay[i - 1] == b' ' || skip.contains(&hay[i - 1])) && skipped < 4 {
        i -= 1;
        skipped += 1;
    }
    let word_end = i;
    while i > 0 && hay[i - 1].is_ascii_alphabetic() && word_end - i <= 16 {
        i -= 1;
    }
    if i == word_end || word_end - i > 16 || byte_before(hay, i).is_some_and(is_word) {
        return None;
    }
    Some((&hay[i..word_end], i))
}

/// True when one of the (at most two) words before `end` is in `labels`,
/// compared without case. The second word is looked for only in the same
/// clause (nothing but spaces between the two).
pub(crate) fn labelled_by(hay: &[u8], end: usize, labels: &[&str]) -> bool {
    let mut at = end;
    for skip in [&b":#.-=("[..], b""] {
        let Some((word, start)) = word_before(hay, at, skip) else {
            return false;
        };
        if labels.iter().any(|label| label.as_bytes().eq_ignore_ascii_case(word)) {
            return true;
        }
        at = start;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_walks_code_points() {
        let text = "a\u{e9}\u{201c}z\u{1f600}";
        let bytes = text.as_bytes();
        assert_eq!(count_chars(text, 0..bytes.len()), 5);
        assert_eq!(count_chars(text, 0..2), 0);
        let long = "\u{e9}a\u{201c}".repeat(40);
        for end in (0..=long.len()).filter(|&i| long.is_char_boundary(i)) {
            assert_eq!(count_chars(&long, 0..end), long[..end].chars().count());
        }
        assert_eq!(forward_chars(bytes, 0, 2), 3);
        assert_eq!(forward_chars(bytes, 0, 99), bytes.len());
        assert_eq!(back_chars(bytes, bytes.len(), 1), bytes.len() - 4);
        assert_eq!(back_chars(bytes, 3, 99), 0);
        assert_eq!(back_chars(b"abcdef", 5, 2), 3);
        assert_eq!(forward_chars(b"abcdef", 1, 2), 3);
        assert_eq!(forward_chars(b"abcdef", 5, 2), 6);
    }

    #[test]
    fn finds_labels_one_or_two_words_back() {
        let text = b"Order number: 4829173650";
        assert!(labelled_by(text, 14, &["order"]));
        assert!(!labelled_by(text, 14, &["invoice"]));
        assert!(labelled_by(b"ref #12", 5, &["ref"]));
        assert!(!labelled_by(b"12", 0, &["ref"]));
        assert!(!labelled_by(b"a release. See 10", 15, &["release"]));
    }

    #[test]
    fn treats_non_ascii_as_a_boundary() {
        let text = "\u{e9}5".as_bytes();
        assert!(word_boundary_before(text, 2));
        assert!(!word_boundary_before(b"a5", 1));
        assert!(word_boundary_after(b"5.", 1));
    }
}
