//! The [`Scanner`]: built-in recognizers plus compiled custom patterns, and
//! the [`Match`]es it reports with their redacted snippets.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use crate::builtin::{self, Kind};
use crate::keys::KeyFinder;
use crate::pattern::{CustomPattern, PatternError};
use crate::severity::Severity;
use crate::text::{back_chars, count_chars, forward_chars};

/// Code points of context kept on each side of a match in its snippet.
pub const SNIPPET_CONTEXT: usize = 20;

/// What replaces every recognized span inside a snippet.
pub const REDACTED: &str = "[REDACTED]";

/// One piece of PII found in a text.
///
/// `start` and `end` count Unicode code points (as Python strings do, and as
/// records store them); `byte_range` indexes the scanned `&str`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Match {
    /// The recognizer's name: `EMAIL`, `PHONE_US`, `SSN`, `CREDIT_CARD`,
    /// `API_KEY`, `IP_ADDRESS`, or a custom pattern's name.
    pub pattern_name: Arc<str>,
    /// The recognizer's severity.
    pub severity: Severity,
    /// Code-point offset of the first character of the match.
    pub start: usize,
    /// Code-point offset just past the match.
    pub end: usize,
    /// The match as a byte range of the scanned text.
    pub byte_range: Range<usize>,
    /// Up to 20 code points of context on each side of the match, every
    /// recognized span in that window replaced by `[REDACTED]`, with `...`
    /// where the window cuts the text.
    pub redacted_snippet: String,
}

impl Match {
    /// The recognizer's name.
    pub fn pattern_name(&self) -> &str {
        &self.pattern_name
    }
}

#[cfg(feature = "yaml")]
impl serde::Serialize for Match {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Match", 5)?;
        s.serialize_field("pattern_name", &*self.pattern_name)?;
        s.serialize_field("severity", &self.severity)?;
        s.serialize_field("start", &self.start)?;
        s.serialize_field("end", &self.end)?;
        s.serialize_field("redacted_snippet", &self.redacted_snippet)?;
        s.end()
    }
}

/// The highest severity among `matches`, `None` when there are none.
pub fn highest_severity(matches: &[Match]) -> Option<Severity> {
    matches.iter().map(|m| m.severity).max()
}

/// A recognized span as byte offsets, with the index of its recognizer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) recognizer: usize,
}

/// Where a scanned piece of text sits in the whole text.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Place {
    /// Code points before the piece.
    pub(crate) base_chars: usize,
    /// True when text precedes the piece.
    pub(crate) more_before: bool,
    /// True when text follows the piece.
    pub(crate) more_after: bool,
}

struct Recognizer {
    name: Arc<str>,
    severity: Severity,
}

struct Inner {
    builtins: bool,
    keys: KeyFinder,
    custom: Vec<regex::Regex>,
    /// Built-in recognizers first (in [`Kind::ALL`] order), then the custom
    /// patterns in the order they were added.
    recognizers: Vec<Recognizer>,
}

/// A PII scanner: the built-in recognizers and any custom patterns, compiled
/// once.
///
/// A `Scanner` is `Send + Sync` and cheap to clone (clones share the compiled
/// patterns); scanning takes `&self` and never locks. The regex engine keeps
/// its search caches in per-thread pools that are reused between calls.
///
/// # Example
///
/// ```
/// use aistamp_pii::{Scanner, Severity};
///
/// let scanner = Scanner::new();
/// let matches = scanner.scan("Write to jane@example.com or call (555) 123-4567.");
/// let names: Vec<&str> = matches.iter().map(|m| m.pattern_name()).collect();
/// assert_eq!(names, ["EMAIL", "PHONE_US"]);
/// assert_eq!(matches[1].redacted_snippet, "...[REDACTED] or call [REDACTED].");
/// assert_eq!(scanner.highest_severity(&matches), Some(Severity::Medium));
/// ```
#[derive(Clone)]
pub struct Scanner {
    inner: Arc<Inner>,
}

impl fmt::Debug for Scanner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.inner.recognizers.iter().map(|r| &*r.name).collect();
        f.debug_struct("Scanner").field("recognizers", &names).finish()
    }
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner::new()
    }
}

/// Builds a [`Scanner`] with custom patterns; see [`Scanner::builder`].
#[derive(Clone, Debug)]
pub struct ScannerBuilder {
    builtins: bool,
    patterns: Vec<CustomPattern>,
}

impl ScannerBuilder {
    /// Adds one custom pattern.
    pub fn add_pattern(&mut self, pattern: CustomPattern) -> &mut Self {
        self.patterns.push(pattern);
        self
    }

    /// Adds custom patterns, such as those from
    /// [`load_patterns_from_yaml_file`](crate::load_patterns_from_yaml_file).
    pub fn add_patterns(&mut self, patterns: impl IntoIterator<Item = CustomPattern>) -> &mut Self {
        self.patterns.extend(patterns);
        self
    }

    /// Whether the built-in recognizers run (they do unless turned off).
    pub fn builtins(&mut self, enabled: bool) -> &mut Self {
        self.builtins = enabled;
        self
    }

    /// Compiles every pattern.
    ///
    /// # Errors
    ///
    /// A [`PatternError`] naming the first pattern (its index among the
    /// custom patterns, and its name) whose name is empty or whose regex does
    /// not compile.
    pub fn build(&self) -> Result<Scanner, PatternError> {
        let mut recognizers: Vec<Recognizer> = Kind::ALL
            .iter()
            .map(|k| Recognizer { name: Arc::from(k.name()), severity: k.severity() })
            .collect();
        let mut custom = Vec::with_capacity(self.patterns.len());
        for (index, pattern) in self.patterns.iter().enumerate() {
            custom.push(pattern.compile(index)?);
            recognizers.push(Recognizer {
                name: Arc::from(pattern.name.as_str()),
                severity: pattern.severity,
            });
        }
        let inner = Inner { builtins: self.builtins, keys: KeyFinder::new(), custom, recognizers };
        Ok(Scanner { inner: Arc::new(inner) })
    }
}

impl Scanner {
    /// A scanner with the built-in recognizers only.
    pub fn new() -> Self {
        let inner = Inner {
            builtins: true,
            keys: KeyFinder::new(),
            custom: Vec::new(),
            recognizers: Kind::ALL
                .iter()
                .map(|k| Recognizer { name: Arc::from(k.name()), severity: k.severity() })
                .collect(),
        };
        Scanner { inner: Arc::new(inner) }
    }

    /// A builder to add custom patterns.
    ///
    /// # Example
    ///
    /// ```
    /// use aistamp_pii::{CustomPattern, Scanner, Severity};
    ///
    /// let scanner = Scanner::builder()
    ///     .add_pattern(CustomPattern::new("EMPLOYEE_ID", r"EMP-\d{6}", Severity::High))
    ///     .build()?;
    /// let matches = scanner.scan("badge EMP-004211 issued");
    /// assert_eq!(matches[0].pattern_name(), "EMPLOYEE_ID");
    /// # Ok::<(), aistamp_pii::PatternError>(())
    /// ```
    pub fn builder() -> ScannerBuilder {
        ScannerBuilder { builtins: true, patterns: Vec::new() }
    }

    /// Every match in `text`, sorted by position (then by end, then by
    /// recognizer).
    ///
    /// Built-in matches never overlap each other: where two recognizers claim
    /// overlapping text, the match that starts first (then the longer one)
    /// wins. Custom patterns are reported as found, even where they overlap
    /// a built-in match.
    pub fn scan(&self, text: &str) -> Vec<Match> {
        let spans = self.find_spans(text);
        let mut out = Vec::with_capacity(spans.len());
        self.emit(text, &spans, 0..spans.len(), Place::default(), |m| out.push(m));
        out
    }

    /// The highest severity among `matches`, `None` when there are none.
    pub fn highest_severity(&self, matches: &[Match]) -> Option<Severity> {
        highest_severity(matches)
    }

    /// The recognized spans of `text`, sorted.
    pub(crate) fn find_spans(&self, text: &str) -> Vec<Span> {
        let inner = &*self.inner;
        let mut spans: Vec<Span> = if inner.builtins {
            builtin::find_all(text.as_bytes(), &inner.keys)
                .into_iter()
                .map(|f| Span { start: f.start, end: f.end, recognizer: f.kind.index() })
                .collect()
        } else {
            Vec::new()
        };
        if inner.custom.is_empty() {
            return spans;
        }
        for (k, regex) in inner.custom.iter().enumerate() {
            let recognizer = Kind::ALL.len() + k;
            spans.extend(regex.find_iter(text).filter(|m| !m.is_empty()).map(|m| Span {
                start: m.start(),
                end: m.end(),
                recognizer,
            }));
        }
        spans.sort_unstable_by_key(|s| (s.start, s.end, s.recognizer));
        spans
    }

    /// Turns `spans[which]` into matches, in order, with code-point offsets
    /// and snippets built against all of `spans`.
    ///
    /// Spans are sorted by start, so both the code points before each match
    /// and the spans that can reach into its snippet's window are found by
    /// moving forward from where the previous match left off: the work is
    /// linear in the text and the number of spans.
    pub(crate) fn emit(
        &self,
        text: &str,
        spans: &[Span],
        which: Range<usize>,
        place: Place,
        mut out: impl FnMut(Match),
    ) {
        let Some(first) = spans.get(which.start) else {
            return;
        };
        let hay = text.as_bytes();
        let mut cursor = first.start.min(hay.len());
        let mut cursor_chars = place.base_chars + count_chars(text, 0..cursor);
        let mut window = Window { spans, next: 0, max_end: 0 };
        let mut scratch = String::new();
        for span in spans.get(which).unwrap_or_default() {
            cursor_chars += count_chars(text, cursor..span.start);
            cursor = span.start;
            let start = cursor_chars;
            let end = start + count_chars(text, span.start..span.end);
            let recognizer = &self.inner.recognizers[span.recognizer];
            out(Match {
                pattern_name: Arc::clone(&recognizer.name),
                severity: recognizer.severity,
                start,
                end,
                byte_range: span.start..span.end,
                redacted_snippet: snippet(text, &mut window, span, place, &mut scratch),
            });
        }
    }
}

/// The spans that can reach into a snippet's window, for windows visited in
/// order of their start: `spans[next..]` start at or after the current
/// window's start, and `max_end` is the largest end among `spans[..next]`.
struct Window<'s> {
    spans: &'s [Span],
    next: usize,
    max_end: usize,
}

impl Window<'_> {
    /// Moves past the spans that start before `window_start`, which must not
    /// be smaller than at the previous call.
    fn advance(&mut self, window_start: usize) {
        while let Some(s) = self.spans.get(self.next).filter(|s| s.start < window_start) {
            self.max_end = self.max_end.max(s.end);
            self.next += 1;
        }
    }
}

/// The redacted snippet of `span`: its window of context, every span inside
/// the window replaced by [`REDACTED`] (overlapping spans merge into one),
/// `...` where the window cuts the text. The work is proportional to the
/// spans passed since the previous snippet and those inside this window.
///
/// The snippet is assembled in `scratch` and returned as a copy of exactly
/// its length, so that each match holds no spare capacity.
fn snippet(
    text: &str,
    window: &mut Window<'_>,
    span: &Span,
    place: Place,
    scratch: &mut String,
) -> String {
    let hay = text.as_bytes();
    let window_start = back_chars(hay, span.start, SNIPPET_CONTEXT);
    let window_end = forward_chars(hay, span.end, SNIPPET_CONTEXT);
    let piece = |a: usize, b: usize| text.get(a..b).unwrap_or_default();

    let out = scratch;
    out.clear();
    if window_start > 0 || place.more_before {
        out.push_str("...");
    }
    window.advance(window_start);
    let mut cursor = window_start;
    if window.max_end > window_start {
        out.push_str(REDACTED);
        cursor = window.max_end.min(window_end);
    }
    for s in &window.spans[window.next..] {
        if s.start >= window_end {
            break;
        }
        let clipped_end = s.end.min(window_end);
        if s.start >= cursor {
            out.push_str(piece(cursor, s.start));
            out.push_str(REDACTED);
            cursor = clipped_end;
        } else {
            cursor = cursor.max(clipped_end);
        }
    }
    if cursor < window_end {
        out.push_str(piece(cursor, window_end));
    }
    if window_end < hay.len() || place.more_after {
        out.push_str("...");
    }
    out.as_str().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn scanner_is_send_and_sync() {
        assert_send_sync::<Scanner>();
    }

    #[test]
    fn snippets_follow_the_reference_rule() {
        let text = "Contact me at john.doe@example.com or 555-123-4567 for details.";
        let matches = Scanner::new().scan(text);
        assert_eq!(matches.len(), 2);
        assert_eq!(matches[0].redacted_snippet, "Contact me at [REDACTED] or [REDACTED] for...");
        assert_eq!(matches[1].redacted_snippet, "...[REDACTED] or [REDACTED] for details.");
    }

    #[test]
    fn offsets_count_code_points() {
        let text = "\u{201c}caf\u{e9}\u{201d} \u{2014} mail bob@example.org";
        let m = &Scanner::new().scan(text)[0];
        assert_eq!(&text[m.byte_range.clone()], "bob@example.org");
        assert_eq!(text.chars().count(), m.end);
        assert_eq!(m.start, m.end - "bob@example.org".len());
    }

    #[test]
    fn overlapping_custom_spans_merge_into_one_redaction() {
        let scanner = Scanner::builder()
            .builtins(false)
            .add_pattern(CustomPattern::new("A", "abcdef", Severity::Low))
            .add_pattern(CustomPattern::new("B", "cd", Severity::High))
            .build()
            .unwrap();
        let matches = scanner.scan("xx abcdef yy");
        assert_eq!(matches.len(), 2);
        assert_eq!(matches[0].redacted_snippet, "xx [REDACTED] yy");
        assert_eq!(matches[1].redacted_snippet, "xx [REDACTED] yy");
        assert_eq!(scanner.highest_severity(&matches), Some(Severity::High));
    }

    #[test]
    fn a_bad_custom_regex_names_the_pattern() {
        let err = Scanner::builder()
            .add_pattern(CustomPattern::new("ok", "a", Severity::Low))
            .add_pattern(CustomPattern::new("broken", "(", Severity::Low))
            .build()
            .unwrap_err();
        assert_eq!((err.index(), err.name()), (Some(1), Some("broken")));
    }

    #[test]
    fn empty_text_has_no_matches() {
        assert!(Scanner::new().scan("").is_empty());
        assert_eq!(highest_severity(&[]), None);
    }
}
