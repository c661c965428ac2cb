//! How serious a match is: [`Severity`], ordered `Low < Medium < High`.

use std::fmt;
use std::str::FromStr;

/// How serious a kind of PII is. Ordered, so `Severity::Low < Severity::High`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// For example an IP address.
    Low,
    /// For example an email address or a phone number.
    Medium,
    /// For example an SSN, a card number or an API key.
    High,
}

impl Severity {
    /// The upper-case name: `"LOW"`, `"MEDIUM"` or `"HIGH"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A severity name that is not `HIGH`, `MEDIUM` or `LOW` in any case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseSeverityError {
    value: String,
}

impl ParseSeverityError {
    /// The text that failed to parse.
    pub fn value(&self) -> &str {
        &self.value
    }
}

impl fmt::Display for ParseSeverityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid severity '{}': expected HIGH, MEDIUM or LOW", self.value)
    }
}

impl std::error::Error for ParseSeverityError {}

impl FromStr for Severity {
    type Err = ParseSeverityError;

    /// Parses `HIGH`, `MEDIUM` or `LOW` in any case, ignoring surrounding spaces.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        [Severity::Low, Severity::Medium, Severity::High]
            .into_iter()
            .find(|severity| severity.as_str().eq_ignore_ascii_case(trimmed))
            .ok_or_else(|| ParseSeverityError { value: s.to_owned() })
    }
}

#[cfg(feature = "yaml")]
impl serde::Serialize for Severity {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(feature = "yaml")]
impl<'de> serde::Deserialize<'de> for Severity {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_low_medium_high() {
        assert!(Severity::Low < Severity::Medium);
        assert!(Severity::Medium < Severity::High);
        assert_eq!([Severity::High, Severity::Low].iter().max(), Some(&Severity::High));
    }

    #[test]
    fn parses_any_case_and_prints_upper_case() {
        assert_eq!("high".parse::<Severity>(), Ok(Severity::High));
        assert_eq!(" Medium ".parse::<Severity>(), Ok(Severity::Medium));
        assert_eq!("LOW".parse::<Severity>(), Ok(Severity::Low));
        assert_eq!(Severity::Medium.to_string(), "MEDIUM");
    }

    #[test]
    fn rejects_unknown_names_with_the_value_in_the_message() {
        let err = "HGH".parse::<Severity>().unwrap_err();
        assert_eq!(err.to_string(), "invalid severity 'HGH': expected HIGH, MEDIUM or LOW");
        assert_eq!(err.value(), "HGH");
    }
}
