//! A standalone PII scanner for emails, phone numbers, SSNs, card numbers,
//! API keys and IP addresses, fast enough to run on every prompt and
//! response.
//!
//! The crate depends on no other aistamp crate, starts no runtime and does
//! no I/O of its own beyond reading a patterns file when asked to.
//!
//! # Usage
//!
//! Build a [`Scanner`] once and share it (it is `Send + Sync`, and clones
//! share the compiled patterns); [`Scanner::scan`] returns the matches of a
//! text sorted by position:
//!
//! ```
//! use aistamp_pii::{Scanner, Severity};
//!
//! let scanner = Scanner::new();
//! let text = "Card 4111 1111 1111 1111, key sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8t.";
//! let matches = scanner.scan(text);
//!
//! assert_eq!(matches[0].pattern_name(), "CREDIT_CARD");
//! assert_eq!((matches[0].start, matches[0].end), (5, 24));
//! assert_eq!(matches[0].redacted_snippet, "Card [REDACTED], key [REDACTED]...");
//! assert_eq!(matches[1].pattern_name(), "API_KEY");
//! assert_eq!(scanner.highest_severity(&matches), Some(Severity::High));
//! ```
//!
//! Custom patterns are added with a builder, directly or from YAML (feature
//! `yaml`, on by default):
//!
//! ```
//! # #[cfg(feature = "yaml")] {
//! use aistamp_pii::{Scanner, load_patterns_from_yaml_str};
//!
//! let yaml = r#"
//! patterns:
//!   - name: EMPLOYEE_ID
//!     regex: 'EMP-\d{6}'
//!     severity: HIGH
//!     pii_type: employee_id
//!     description: Internal employee identifiers
//! "#;
//! let scanner = Scanner::builder().add_patterns(load_patterns_from_yaml_str(yaml)?).build()?;
//! assert_eq!(scanner.scan("from EMP-123456")[0].pattern_name(), "EMPLOYEE_ID");
//! # }
//! # Ok::<(), aistamp_pii::PatternError>(())
//! ```
//!
//! Large inputs can be scanned from any [`std::io::Read`] in bounded memory
//! with [`Scanner::scan_reader`], which reports the same matches with global
//! offsets.
//!
//! # What is recognized
//!
//! | name | severity | what |
//! |---|---|---|
//! | `EMAIL` | MEDIUM | `local@domain.tld`; local part `[A-Za-z0-9._%+-]`, a domain of non-empty labels ending in two or more letters |
//! | `PHONE_US` | MEDIUM | `(555) 123-4567`, `555-123-4567`, `555.123.4567`, `555 123 4567`, `+1 555 123 4567`, `1-800-555-0199`, `001-555-123-4567`, bare `5551234567` (valid NANP only), each with an optional extension (`x123`, `ext. 123`, `#123`); the span includes a leading `(` or `+1` |
//! | `SSN` | HIGH | `AAA-GG-SSSS`, without the never-issued areas 000, 666 and 9xx, group 00 or serial 0000 |
//! | `CREDIT_CARD` | HIGH | 12 to 19 digits (12 only for Maestro), bare or in groups joined by spaces or dashes, Luhn-valid, with a known issuer prefix for that length |
//! | `API_KEY` | HIGH | OpenAI `sk-`, `sk-proj-`, `sk-svcacct-`, `sk-admin-`; Anthropic `sk-ant-`; AWS `AKIA`/`ASIA`; GitHub `ghp_`/`gho_`/`ghu_`/`ghs_`/`ghr_`/`github_pat_`; Google `AIza`; Slack `xox?-`; Stripe `sk_live_`/`rk_live_` (and `_test_`); `Bearer` tokens (the span includes `Bearer`) |
//! | `IP_ADDRESS` | LOW | IPv4 dotted quads and IPv6 addresses that parse as addresses |
//!
//! Every match carries its recognizer's name and severity, its start and end
//! in code points (as records store them) and as a byte range, and a
//! redacted snippet: 20 code points of context on each side, every
//! recognized span in that window replaced by `[REDACTED]`, and `...` where
//! the window cuts the text. Snippets cost time linear in the number of
//! matches.
//!
//! # Quality and speed
//!
//! `tests/data/*.toml` holds positive and negative rows for every
//! recognizer. `tests/eval.rs` measures recall and precision per kind on
//! `eval/corpus.txt`, 1,500 short documents generated with Faker by
//! `eval/generate.py` (every Faker card type, US phone format, SSN, IPv4
//! and IPv6 form, synthetic vendor keys, and decoys: order and tracking
//! numbers, dates, times, versions, code, MAC addresses, barcodes, UK phone
//! numbers, MSISDNs, routing numbers); the test requires at least 0.97 of
//! both on every kind. The corpus was written alongside the recognizers, so
//! it shows that the listed formats and decoys are handled, not how
//! unfamiliar text will fare.
//!
//! Scanning makes one pass over the text for digits, `:` and `@` (each
//! 64-byte block is tested and its trigger bytes marked in one vectorized
//! loop, and a bit mask of them, cleared past each match, guides the
//! checks) and one Aho-Corasick pass for key prefixes, then checks each
//! candidate by hand with ASCII word boundaries; no regex runs for the
//! built-in recognizers. Code-point offsets are counted from one match to
//! the next, and snippets walk forward through the spans, so the whole scan
//! is linear in the text and the number of matches. `examples/pii_bench.rs`
//! and `benches/scan.rs` measure it on clean and PII-dense prose.
//!
//! # Limits
//!
//! Pattern matching finds PII that looks like PII. It is a safety net, not
//! a guarantee, and no substitute for certified DLP tooling:
//!
//! - Only the formats above are recognized: no names, postal addresses,
//!   dates of birth, non-US phone numbers, SSNs written without dashes,
//!   passport or bank numbers, or keys of vendors not listed. Text that is
//!   obfuscated ("john at example dot com"), split across lines, or spelled
//!   with full-width or other non-ASCII digits is not found.
//! - Word boundaries are ASCII: a letter outside ASCII counts as a
//!   separator, so `é4111111111111111` still yields the card number.
//! - Context decides some cases. A bare ten-digit number after a word such
//!   as "order", "invoice" or "account" (or after `#`) is taken as an
//!   identifier, not a phone number; a dotted quad after "version",
//!   "release", "build" and the like is a version, not an address; `a::b`,
//!   `std::vec` and mixed-case groups are code, not IPv6; digits that follow
//!   a `+44`-style country code or a trunk `0` ("+44(0)20 7946 0958") are
//!   not a US phone number or a card; a card number never starts in the
//!   middle of a space-separated run of digit groups. Any such rule can be
//!   wrong both ways on unusual text.
//! - Card numbers are Luhn- and issuer-checked, so test numbers like
//!   `4111 1111 1111 1111` are reported while a random 16-digit number
//!   usually is not; roughly one random digit string in a few hundred with a
//!   card-like prefix still passes.
//! - Built-in matches never overlap: the one starting first (then the
//!   longest) wins, so the IPv4 tail of `::ffff:10.0.0.1` is not reported
//!   twice. Custom patterns are reported independently and may overlap.
//! - Custom regexes use the [`regex`] crate's syntax: no look-around and no
//!   back-references, which Python patterns sometimes use; such patterns are
//!   refused at load time. Empty matches are dropped. A custom pattern's
//!   `\b` is Unicode-aware and much slower on non-ASCII text than
//!   `(?-u:\b)`; the built-in recognizers never pay that cost.
//! - [`Scanner::scan_reader`] finds every match shorter than its overlap
//!   (64 KiB by default) exactly once; longer custom matches that cross a
//!   chunk boundary may be cut or missed. Built-in matches are far shorter.
//! - Overlapping spans inside one snippet are merged into a single
//!   `[REDACTED]` (the Python reference printed one per span).
#![deny(missing_docs)]

mod builtin;
mod email;
mod ipv6;
mod keys;
mod numeric;
mod pattern;
mod scanner;
mod severity;
mod stream;
mod text;

pub use pattern::{CustomPattern, PatternError, Problem};
#[cfg(feature = "yaml")]
pub use pattern::{load_patterns_from_yaml_file, load_patterns_from_yaml_str};
pub use scanner::{Match, REDACTED, SNIPPET_CONTEXT, Scanner, ScannerBuilder, highest_severity};
pub use severity::{ParseSeverityError, Severity};
pub use stream::{ReadOptions, ScanError, ScanSummary};

/// The names of the built-in recognizers, in the order the scanner indexes
/// them.
pub const BUILTIN_NAMES: [&str; 6] =
    ["EMAIL", "PHONE_US", "SSN", "CREDIT_CARD", "API_KEY", "IP_ADDRESS"];
