//! The one error type of every provider: what went wrong with a model call,
//! said without keys, prompts or responses.

use std::time::Duration;

/// A boxed error from a caller's model function.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a model call failed.
///
/// Messages name the provider (`openai`, `anthropic`, `http` or `function`)
/// and never contain an API key: a vendor message that echoes the key has
/// it replaced by `[REDACTED]`, and URLs are shown without their query and
/// credentials.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// The server answered with a status other than 2xx.
    #[error("{provider} answered HTTP {status} after {attempts} attempt(s): {message}")]
    Status {
        /// The provider's name.
        provider: &'static str,
        /// The HTTP status code.
        status: u16,
        /// The vendor's own error message, or the start of the body.
        message: String,
        /// How many requests were made, retries included.
        attempts: u32,
    },
    /// The server did not answer in time.
    #[error("{provider} did not answer within {} ms", timeout.as_millis())]
    Timeout {
        /// The provider's name.
        provider: &'static str,
        /// The configured timeout of one request.
        timeout: Duration,
    },
    /// The server could not be reached, or the connection broke.
    #[error("cannot reach {provider} at {url} after {attempts} attempt(s): {message}")]
    Connection {
        /// The provider's name.
        provider: &'static str,
        /// The endpoint, without query or credentials.
        url: String,
        /// What the network stack said.
        message: String,
        /// How many requests were made, retries included.
        attempts: u32,
    },
    /// The reply body is not JSON.
    #[error("{provider} reply is not valid JSON: {message}")]
    InvalidJson {
        /// The provider's name.
        provider: &'static str,
        /// What the parser said.
        message: String,
    },
    /// The reply body is larger than a model's reply can be.
    #[error("{provider} reply is over the limit of {limit} bytes")]
    ReplyTooLarge {
        /// The provider's name.
        provider: &'static str,
        /// The largest body read, in bytes.
        limit: usize,
    },
    /// The reply lacks a field the provider needs.
    #[error("{provider} reply has no field '{field}'")]
    MissingField {
        /// The provider's name.
        provider: &'static str,
        /// The field's path in the reply, such as `choices[0].message`.
        field: &'static str,
    },
    /// A field of the reply has the wrong JSON type.
    #[error("{provider} reply field '{field}' is {found}: expected {expected}")]
    WrongFieldType {
        /// The provider's name.
        provider: &'static str,
        /// The field's path in the reply.
        field: &'static str,
        /// What was expected, such as `a string`.
        expected: &'static str,
        /// The JSON type found, such as `null` or `a number`.
        found: &'static str,
    },
    /// No API key was given and the environment variable is not set.
    #[error("no API key for {provider}: pass one to the builder or set {variable}")]
    MissingKey {
        /// The provider's name.
        provider: &'static str,
        /// The environment variable that was read.
        variable: &'static str,
    },
    /// A setting the builder cannot use.
    #[error("invalid {provider} setting {setting}: {reason}")]
    InvalidConfig {
        /// The provider's name.
        provider: &'static str,
        /// The setting, such as `base_url`.
        setting: &'static str,
        /// What is wrong and what was expected.
        reason: String,
    },
    /// A caller's model function returned an error.
    #[error("model function failed: {source}")]
    Model {
        /// The function's error.
        source: BoxError,
    },
}

impl ProviderError {
    /// Wraps a model function's error; a [`ProviderError`] inside the box is
    /// unwrapped rather than nested.
    pub fn from_model_error(error: impl Into<BoxError>) -> ProviderError {
        match error.into().downcast::<ProviderError>() {
            Ok(inner) => *inner,
            Err(source) => ProviderError::Model { source },
        }
    }

    /// The HTTP status for [`ProviderError::Status`], `None` otherwise.
    pub fn status(&self) -> Option<u16> {
        match self {
            ProviderError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether a later attempt at the same call could succeed: rate limits,
    /// server errors and connection failures.
    pub fn is_transient(&self) -> bool {
        match self {
            ProviderError::Status { status, .. } => *status == 429 || *status >= 500,
            ProviderError::Connection { .. } | ProviderError::Timeout { .. } => true,
            _ => false,
        }
    }
}

/// The JSON type of `value`, as error messages name it.
#[cfg(feature = "http")]
pub(crate) fn json_type(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_errors_unwrap_provider_errors() {
        let inner = ProviderError::MissingField { provider: "http", field: "text" };
        let err = ProviderError::from_model_error(inner);
        assert!(matches!(err, ProviderError::MissingField { field: "text", .. }));
        let err = ProviderError::from_model_error("quota exceeded");
        assert_eq!(err.to_string(), "model function failed: quota exceeded");
    }

    #[test]
    fn transient_errors_are_classified() {
        let status = |status| ProviderError::Status {
            provider: "openai",
            status,
            message: String::new(),
            attempts: 1,
        };
        assert!(status(429).is_transient());
        assert!(status(503).is_transient());
        assert!(!status(400).is_transient());
        assert_eq!(status(401).status(), Some(401));
        assert!(!ProviderError::from_model_error("x").is_transient());
    }
}
