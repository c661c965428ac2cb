//! The API_KEY recognizer: vendor key prefixes found with Aho-Corasick, then
//! the key body checked by hand.

use aho_corasick::{AhoCorasick, MatchKind};

use crate::text::{is_word, run_end, word_boundary_after, word_boundary_before};

/// The longest key body looked at; longer runs are not keys.
const MAX_BODY: usize = 4096;

/// How the body after a prefix must look.
#[derive(Clone, Copy, Debug)]
enum Body {
    /// At least `min` bytes of the class; with `mixed`, also a digit or both
    /// letter cases (so hyphenated prose is not a key).
    Run { class: Class, min: usize, mixed: bool },
    /// Exactly `len` bytes of the class, then a word boundary.
    Fixed { class: Class, len: usize },
    /// Spaces, then a token of at least 20 bytes with a digit and a letter,
    /// then optional `=` padding.
    Bearer,
}

#[derive(Clone, Copy, Debug)]
enum Class {
    /// `[A-Za-z0-9]`
    Alnum,
    /// `[A-Z0-9]`
    UpperAlnum,
    /// `[A-Za-z0-9_-]`
    Url,
    /// `[A-Za-z0-9_]`
    Word,
    /// `[A-Za-z0-9-]`
    Dashed,
}

impl Class {
    fn contains(self, b: u8) -> bool {
        match self {
            Class::Alnum => b.is_ascii_alphanumeric(),
            Class::UpperAlnum => b.is_ascii_uppercase() || b.is_ascii_digit(),
            Class::Url => b.is_ascii_alphanumeric() || b == b'_' || b == b'-',
            Class::Word => is_word(b),
            Class::Dashed => b.is_ascii_alphanumeric() || b == b'-',
        }
    }
}

const OPENAI: Body = Body::Run { class: Class::Url, min: 20, mixed: true };
const STRIPE: Body = Body::Run { class: Class::Alnum, min: 20, mixed: false };
const GITHUB: Body = Body::Run { class: Class::Alnum, min: 36, mixed: false };
const SLACK: Body = Body::Run { class: Class::Dashed, min: 10, mixed: true };
const AWS: Body = Body::Fixed { class: Class::UpperAlnum, len: 16 };

/// Every prefix with the body that must follow it.
const PREFIXES: &[(&str, Body)] = &[
    // OpenAI (`sk-`, `sk-proj-`, `sk-svcacct-`, `sk-admin-`) and Anthropic
    // (`sk-ant-api03-`, `sk-ant-admin01-`) share the `sk-` prefix.
    ("sk-", OPENAI),
    ("sk_live_", STRIPE),
    ("sk_test_", STRIPE),
    ("rk_live_", STRIPE),
    ("rk_test_", STRIPE),
    ("AKIA", AWS),
    ("ASIA", AWS),
    ("ghp_", GITHUB),
    ("gho_", GITHUB),
    ("ghu_", GITHUB),
    ("ghs_", GITHUB),
    ("ghr_", GITHUB),
    ("github_pat_", Body::Run { class: Class::Word, min: 22, mixed: false }),
    ("AIza", Body::Fixed { class: Class::Url, len: 35 }),
    ("xoxa-", SLACK),
    ("xoxb-", SLACK),
    ("xoxe-", SLACK),
    ("xoxp-", SLACK),
    ("xoxr-", SLACK),
    ("xoxs-", SLACK),
    ("Bearer", Body::Bearer),
    ("bearer", Body::Bearer),
];

/// The compiled prefix searcher.
#[derive(Debug, Clone)]
pub(crate) struct KeyFinder {
    prefixes: AhoCorasick,
}

impl KeyFinder {
    pub(crate) fn new() -> Self {
        let prefixes = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .build(PREFIXES.iter().map(|(p, _)| p))
            // The patterns are a fixed, small set of short literals.
            .unwrap_or_else(|_| unreachable!("the key prefixes always compile"));
        KeyFinder { prefixes }
    }

    /// Calls `found` with the byte span of each key in `hay`.
    pub(crate) fn find_all(&self, hay: &[u8], mut found: impl FnMut(usize, usize)) {
        for m in self.prefixes.find_iter(hay) {
            let (_, body) = PREFIXES[m.pattern().as_usize()];
            if !word_boundary_before(hay, m.start()) {
                continue;
            }
            if let Some(end) = body_end(hay, m.end(), body) {
                found(m.start(), end);
            }
        }
    }
}

fn body_end(hay: &[u8], at: usize, body: Body) -> Option<usize> {
    match body {
        Body::Run { class, min, mixed } => {
            let end = run_end(hay, at, MAX_BODY, |b| class.contains(b));
            let body = &hay[at..end];
            let varied = || {
                body.iter().any(u8::is_ascii_digit)
                    || body.iter().any(u8::is_ascii_uppercase)
                        && body.iter().any(u8::is_ascii_lowercase)
            };
            let ok = body.len() >= min
                && end - at < MAX_BODY
                && word_boundary_after(hay, end)
                && (!mixed || varied());
            ok.then_some(end)
        }
        Body::Fixed { class, len } => {
            let end = run_end(hay, at, len, |b| class.contains(b));
            (end - at == len && word_boundary_after(hay, end)).then_some(end)
        }
        Body::Bearer => {
            let token = run_end(hay, at, 8, |b| b == b' ' || b == b'\t');
            if token == at {
                return None;
            }
            let is_token = |b: u8| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b);
            let mut end = run_end(hay, token, MAX_BODY, is_token);
            // A full stop after the token ends the sentence.
            while end > token && hay[end - 1] == b'.' {
                end -= 1;
            }
            let body = &hay[token..end];
            let ok = body.len() >= 20
                && end - token < MAX_BODY
                && body.iter().any(u8::is_ascii_digit)
                && body.iter().any(u8::is_ascii_alphabetic);
            if !ok {
                return None;
            }
            end = run_end(hay, end, 3, |b| b == b'=');
            word_boundary_after(hay, end).then_some(end)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        KeyFinder::new().find_all(text.as_bytes(), |s, e| out.push(&text[s..e]));
        out
    }

    #[test]
    fn finds_current_vendor_formats() {
        let openai = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z_AbCd-EfGh";
        let anthropic = "sk-ant-api03-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe-dCbA_zyx";
        let aws = "AKIAIOSFODNN7EXAMPLE";
        let github = "ghp_1234567890abcdefghijklmnopqrstuvwxyzAB";
        let text = format!("{openai} and {anthropic}, {aws}; {github}.");
        assert_eq!(keys(&text), vec![openai, anthropic, aws, github]);
    }

    #[test]
    fn finds_bearer_tokens_with_the_scheme() {
        let text = "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOjF9.sig==\n";
        assert_eq!(keys(text), vec!["Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOjF9.sig=="]);
    }

    #[test]
    fn ignores_words_that_merely_contain_a_prefix() {
        assert!(keys("a risk-free task-oriented plan with no-sk-keys-at-all-here-ok").is_empty());
        assert!(keys("The bearer of this letter is welcome").is_empty());
        assert!(keys("AKIA1234").is_empty());
    }
}
