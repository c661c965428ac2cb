//! The provenance record and the values inside it.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::hash::{new_content_id, sha256_hex};
use crate::time::Timestamp;

/// What happened to a call: the model answered and the answer passed
/// (`COMPLETED`), a policy stopped it (`BLOCKED`), or the model call failed
/// (`ERROR`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// The model answered and no policy blocked the answer.
    Completed,
    /// A policy rule with action BLOCK matched, before or after the call.
    Blocked,
    /// The model call failed.
    Error,
}

/// How sensitive a PII match is. Ordered `Low < Medium < High`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    /// For example an IP address.
    Low,
    /// For example an email address or a phone number.
    Medium,
    /// For example an SSN, a card number or an API key.
    High,
}

/// What a policy decided about a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum PolicyAction {
    /// The call may go ahead.
    Allow,
    /// The call may go ahead, and a warning is emitted.
    Warn,
    /// The call is stopped and a `BLOCKED` record is stored.
    Block,
}

/// A name that is not one of an enumeration's values.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} '{value}': expected {expected}")]
pub struct ParseEnumError {
    what: &'static str,
    value: String,
    expected: &'static str,
}

macro_rules! text_enum {
    ($ty:ident, $what:literal, $expected:literal, $($variant:ident => $text:literal),+) => {
        impl $ty {
            /// The upper-case name stored in records and databases.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// Parses the name in any letter case.
        impl FromStr for $ty {
            type Err = ParseEnumError;

            fn from_str(text: &str) -> Result<$ty, ParseEnumError> {
                $(if text.eq_ignore_ascii_case($text) {
                    return Ok($ty::$variant);
                })+
                Err(ParseEnumError {
                    what: $what,
                    value: text.chars().take(64).collect(),
                    expected: $expected,
                })
            }
        }
    };
}

text_enum!(Status, "status", "COMPLETED, BLOCKED or ERROR",
    Completed => "COMPLETED", Blocked => "BLOCKED", Error => "ERROR");
text_enum!(Severity, "severity", "HIGH, MEDIUM or LOW",
    High => "HIGH", Medium => "MEDIUM", Low => "LOW");
text_enum!(PolicyAction, "policy action", "ALLOW, WARN or BLOCK",
    Allow => "ALLOW", Warn => "WARN", Block => "BLOCK");

/// One PII match as a record stores it. Offsets count Unicode code points.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PiiMatch {
    /// The recognizer's name, such as `EMAIL` or a custom pattern's name.
    pub pattern_name: String,
    /// The recognizer's severity.
    pub severity: Severity,
    /// Code-point offset of the first character of the match.
    pub start: u64,
    /// Code-point offset just past the match.
    pub end: u64,
    /// Up to 20 characters of context each side, every recognized span
    /// replaced by `[REDACTED]`.
    pub redacted_snippet: String,
}

/// The PII matches of a call's prompt and response.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PiiResult {
    /// Matches in the prompt, in the order the scanner reported them.
    pub prompt_matches: Vec<PiiMatch>,
    /// Matches in the response.
    pub response_matches: Vec<PiiMatch>,
    /// The highest severity among all matches, `None` when there are none.
    pub highest_severity: Option<Severity>,
    /// The number of matches in prompt and response together.
    pub match_count: u64,
}

impl PiiResult {
    /// Builds the result from both lists, computing the highest severity and
    /// the count.
    pub fn from_matches(prompt_matches: Vec<PiiMatch>, response_matches: Vec<PiiMatch>) -> Self {
        let all = prompt_matches.iter().chain(&response_matches);
        let highest_severity = all.clone().map(|m| m.severity).max();
        let match_count = all.count() as u64;
        PiiResult { prompt_matches, response_matches, highest_severity, match_count }
    }

    /// Every match, prompt first.
    pub fn matches(&self) -> impl Iterator<Item = &PiiMatch> {
        self.prompt_matches.iter().chain(&self.response_matches)
    }
}

/// The outcome of policy evaluation stored with a record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDecision {
    /// ALLOW, WARN or BLOCK.
    pub action: PolicyAction,
    /// The rule that decided, `None` for the default.
    pub rule_name: Option<String>,
    /// Why, in words.
    pub reason: Option<String>,
}

/// A call's latency in milliseconds: always finite and never negative zero,
/// so that the canonical form can represent it.
///
/// [`LatencyMs::new`] rejects NaN and infinities and turns `-0.0` into
/// `0.0`; deserialization applies the same rule, so no [`Record`] can hold a
/// latency its signature cannot cover.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct LatencyMs(f64);

/// A latency that is NaN or infinite.
#[derive(Clone, Copy, Debug, PartialEq, thiserror::Error)]
#[error("invalid latency {0} ms: expected a finite number")]
pub struct InvalidLatency(f64);

impl LatencyMs {
    /// Validates a latency in milliseconds.
    ///
    /// # Errors
    ///
    /// When `ms` is NaN or infinite.
    pub fn new(ms: f64) -> Result<LatencyMs, InvalidLatency> {
        if !ms.is_finite() {
            return Err(InvalidLatency(ms));
        }
        // Adding zero turns -0.0 into 0.0 and leaves every other value alone.
        Ok(LatencyMs(ms + 0.0))
    }

    /// The latency of a measured duration.
    pub fn from_duration(elapsed: Duration) -> LatencyMs {
        LatencyMs(elapsed.as_secs_f64() * 1000.0)
    }

    /// The value in milliseconds.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl TryFrom<f64> for LatencyMs {
    type Error = InvalidLatency;

    fn try_from(ms: f64) -> Result<LatencyMs, InvalidLatency> {
        LatencyMs::new(ms)
    }
}

impl From<LatencyMs> for f64 {
    fn from(latency: LatencyMs) -> f64 {
        latency.0
    }
}

/// One provenance record: everything aistamp signs about a call.
///
/// Field names and meanings are those of ai-stamp 0.1.0. The record never
/// holds prompt or response text, only their SHA-256 hashes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// The record's id: a UUID v7 for new records (see
    /// [`new_content_id`](crate::new_content_id)), any string when read.
    pub content_id: String,
    /// The calling application.
    pub app_id: String,
    /// The feature of the application that made the call.
    pub feature_id: String,
    /// The end user on whose behalf the call was made.
    pub user_id: String,
    /// The model that was asked.
    pub model: String,
    /// SHA-256 hex of the prompt.
    pub prompt_hash: String,
    /// SHA-256 hex of the response, `None` when there is none.
    pub response_hash: Option<String>,
    /// Prompt tokens as the provider counted them.
    pub prompt_tokens: Option<i64>,
    /// Response tokens as the provider counted them.
    pub response_tokens: Option<i64>,
    /// Wall time of the call.
    pub latency_ms: Option<LatencyMs>,
    /// When the call started, in UTC.
    pub timestamp: Timestamp,
    /// What happened.
    pub status: Status,
    /// PII found in prompt and response.
    pub pii_result: Option<PiiResult>,
    /// What the policy decided.
    pub policy_decision: Option<PolicyDecision>,
}

impl Record {
    /// A new `COMPLETED` record for `prompt` with a fresh content id, the
    /// prompt's hash and the current time; everything else empty.
    pub fn new(
        app_id: impl Into<String>,
        feature_id: impl Into<String>,
        user_id: impl Into<String>,
        model: impl Into<String>,
        prompt: &str,
    ) -> Record {
        Record {
            content_id: new_content_id(),
            app_id: app_id.into(),
            feature_id: feature_id.into(),
            user_id: user_id.into(),
            model: model.into(),
            prompt_hash: sha256_hex(prompt),
            response_hash: None,
            prompt_tokens: None,
            response_tokens: None,
            latency_ms: None,
            timestamp: Timestamp::now(),
            status: Status::Completed,
            pii_result: None,
            policy_decision: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_parse_any_case_and_name_bad_values() {
        assert_eq!("high".parse::<Severity>().unwrap(), Severity::High);
        assert_eq!("Warn".parse::<PolicyAction>().unwrap(), PolicyAction::Warn);
        assert_eq!("blocked".parse::<Status>().unwrap(), Status::Blocked);
        assert_eq!(
            "HGH".parse::<Severity>().unwrap_err().to_string(),
            "invalid severity 'HGH': expected HIGH, MEDIUM or LOW"
        );
        assert!(Severity::Low < Severity::Medium && Severity::Medium < Severity::High);
    }

    #[test]
    fn latency_is_always_representable() {
        assert!(LatencyMs::new(f64::NAN).is_err());
        assert!(LatencyMs::new(f64::INFINITY).is_err());
        assert!(LatencyMs::new(f64::NEG_INFINITY).is_err());
        let zero = LatencyMs::new(-0.0).unwrap().get();
        assert!(zero == 0.0 && zero.is_sign_positive());
        assert_eq!(LatencyMs::new(12.5).unwrap().get(), 12.5);
        assert!(serde_json::from_str::<LatencyMs>("-0.0").unwrap().get().is_sign_positive());
        assert_eq!(LatencyMs::from_duration(Duration::from_micros(1500)).get(), 1.5);
    }

    #[test]
    fn pii_result_counts_and_ranks() {
        let m = |severity| PiiMatch {
            pattern_name: "X".into(),
            severity,
            start: 0,
            end: 1,
            redacted_snippet: "[REDACTED]".into(),
        };
        let result = PiiResult::from_matches(vec![m(Severity::Low)], vec![m(Severity::High)]);
        assert_eq!(result.highest_severity, Some(Severity::High));
        assert_eq!(result.match_count, 2);
        assert_eq!(PiiResult::from_matches(vec![], vec![]).highest_severity, None);
    }

    #[test]
    fn unknown_keys_are_rejected_so_tampering_cannot_hide() {
        let json = r#"{"action":"ALLOW","rule_name":null,"reason":null,"extra":1}"#;
        assert!(serde_json::from_str::<PolicyDecision>(json).is_err());
    }
}
