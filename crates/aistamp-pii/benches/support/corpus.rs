//! A deterministic generator of English-like prose, clean or with PII mixed
//! in, shared by the criterion benchmark and the `pii_bench` example.

/// A small, fast, seeded generator (SplitMix64).
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub(crate) fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn digits(&mut self, out: &mut String, n: usize) {
        for _ in 0..n {
            out.push(char::from(b'0' + self.below(10) as u8));
        }
    }
}

const WORDS: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "in",
    "a",
    "is",
    "that",
    "for",
    "it",
    "as",
    "was",
    "with",
    "be",
    "by",
    "on",
    "not",
    "he",
    "this",
    "are",
    "or",
    "his",
    "from",
    "at",
    "which",
    "but",
    "have",
    "an",
    "had",
    "they",
    "you",
    "were",
    "their",
    "one",
    "all",
    "we",
    "can",
    "her",
    "has",
    "there",
    "been",
    "if",
    "more",
    "when",
    "will",
    "would",
    "who",
    "so",
    "no",
    "model",
    "answer",
    "system",
    "question",
    "people",
    "time",
    "report",
    "data",
    "result",
    "because",
    "however",
    "therefore",
    "example",
    "important",
    "process",
    "language",
    "between",
    "through",
    "during",
    "without",
    "consider",
    "several",
    "approach",
    "summary",
    "response",
    "provide",
    "following",
    "support",
    "customer",
    "request",
    "service",
    "analysis",
    "project",
    "history",
    "research",
    "market",
    "policy",
    "simple",
    "general",
    "specific",
    "available",
    "different",
    "possible",
    "quickly",
    "carefully",
    "usually",
    "often",
    "strategy",
    "context",
    "feature",
    "problem",
    "solution",
    "value",
    "number",
    "section",
    "document",
    "team",
    "meeting",
    "schedule",
    "review",
    "design",
    "quality",
    "security",
    "network",
    "account",
    "address",
    "message",
    "letter",
    "order",
    "version",
    "update",
    "release",
    "water",
    "city",
    "country",
    "world",
    "school",
    "family",
    "student",
    "teacher",
    "doctor",
    "garden",
    "river",
    "mountain",
    "morning",
    "evening",
    "season",
];

/// A sentence of 8 to 20 words with the punctuation LLM output tends to use.
fn sentence(rng: &mut Rng, out: &mut String) {
    let n = 8 + rng.below(13);
    for i in 0..n {
        let word = rng.pick(WORDS);
        if i == 0 {
            let mut chars = word.chars();
            if let Some(first) = chars.next() {
                out.extend(first.to_uppercase());
                out.push_str(chars.as_str());
            }
        } else {
            out.push_str(word);
        }
        if i + 1 < n {
            match rng.below(40) {
                0..=3 => out.push_str(", "),
                4 => out.push_str(" \u{2014} "),
                5 => {
                    out.push_str(" \u{201c}");
                    out.push_str(rng.pick(WORDS));
                    out.push_str("\u{201d} ");
                }
                6 => out.push_str("\u{2019}s "),
                7 => {
                    out.push(' ');
                    let year = 1990 + rng.below(36);
                    out.push_str(&year.to_string());
                    out.push(' ');
                }
                8 => {
                    out.push(' ');
                    out.push_str(&(rng.below(100)).to_string());
                    out.push_str("% ");
                }
                _ => out.push(' '),
            }
        }
    }
    out.push_str(match rng.below(20) {
        0 | 1 => "? ",
        2 => ": ",
        _ => ". ",
    });
}

/// About `bytes` bytes of prose without PII.
pub(crate) fn clean(seed: u64, bytes: usize) -> String {
    let mut rng = Rng::new(seed);
    let mut out = String::with_capacity(bytes + 256);
    while out.len() < bytes {
        sentence(&mut rng, &mut out);
        if rng.below(6) == 0 {
            out.push_str("\n\n");
        }
    }
    out
}

fn luhn_complete(rng: &mut Rng, prefix: &str, len: usize) -> String {
    let mut digits = String::from(prefix);
    rng.digits(&mut digits, len - prefix.len() - 1);
    let mut sum = 0;
    for (i, b) in digits.bytes().rev().enumerate() {
        let mut v = u32::from(b - b'0');
        if i % 2 == 0 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    digits.push(char::from(b'0' + ((10 - sum % 10) % 10) as u8));
    digits
}

/// One PII item, of a kind chosen at random.
pub(crate) fn pii_item(rng: &mut Rng) -> String {
    let mut s = String::new();
    match rng.below(7) {
        0 => {
            s.push_str(rng.pick(&["john", "maria.lopez", "k.tanaka", "ops+alerts", "dev_team"]));
            rng.digits(&mut s, 2);
            s.push('@');
            s.push_str(rng.pick(&["example.com", "mail.example.org", "corp.example.co.uk"]));
        }
        1 => {
            let a = 200 + rng.below(800);
            let b = 200 + rng.below(800);
            let c = rng.below(10_000);
            s = match rng.below(3) {
                0 => format!("({a}) {b}-{c:04}"),
                1 => format!("{a}-{b}-{c:04}"),
                _ => format!("+1 {a} {b} {c:04}"),
            };
        }
        2 => {
            s = format!(
                "{:03}-{:02}-{:04}",
                1 + rng.below(665),
                1 + rng.below(99),
                1 + rng.below(9999)
            )
        }
        3 => {
            let prefix = rng.pick(&["4", "51", "3530", "6011"]);
            let card = luhn_complete(rng, prefix, 16);
            s = format!("{} {} {} {}", &card[0..4], &card[4..8], &card[8..12], &card[12..16]);
        }
        4 => s = format!("10.{}.{}.{}", rng.below(256), rng.below(256), 1 + rng.below(254)),
        5 => s = format!("2001:db8:{:x}::{:x}", rng.below(65536), 1 + rng.below(65535)),
        _ => {
            s.push_str("sk-proj-");
            for _ in 0..40 {
                let c = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                    [rng.below(62)];
                s.push(char::from(c));
            }
        }
    }
    s
}

/// About `bytes` bytes of prose with one PII item per ~200 bytes; returns
/// the text and the number of items.
pub(crate) fn dense(seed: u64, bytes: usize) -> (String, usize) {
    let mut rng = Rng::new(seed);
    let mut out = String::with_capacity(bytes + 256);
    let mut items = 0;
    let mut next = 200;
    while out.len() < bytes {
        sentence(&mut rng, &mut out);
        while out.len() >= next {
            out.push_str(rng.pick(&["Contact ", "See ", "Use ", "Send to "]));
            out.push_str(&pii_item(&mut rng));
            out.push_str(". ");
            items += 1;
            next += 200;
        }
    }
    (out, items)
}
