//! Any JSON endpoint: `{"prompt", "model"}` in, `text` or `response` out.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::http::{HttpSettings, Transport, parse_object, tokens, wrong_type};
use crate::{AsyncProvider, Completion, Provider, ProviderError, RetryPolicy};

const NAME: &str = "http";

/// A provider for any endpoint that takes a JSON POST of
/// `{"prompt": ..., "model": ...}` and answers with a JSON object holding a
/// string `text` (or, when there is no `text`, `response`), and optionally
/// integer `prompt_tokens` and `response_tokens`.
///
/// This is ai-stamp's `GenericHTTPClient`, with retries and typed errors.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use aistamp_providers::GenericHttp;
///
/// let provider = GenericHttp::builder("http://127.0.0.1:8080/complete")
///     .header("authorization", "Bearer example-token")
///     .timeout(Duration::from_secs(10))
///     .build()?;
/// # Ok::<(), aistamp_providers::ProviderError>(())
/// ```
#[derive(Debug)]
pub struct GenericHttp {
    transport: Transport,
    default_model: String,
}

/// Settings for a [`GenericHttp`] provider.
#[derive(Clone, Debug)]
pub struct GenericHttpBuilder {
    endpoint: String,
    settings: HttpSettings,
}

#[derive(Serialize)]
struct Request<'a> {
    prompt: &'a str,
    model: &'a str,
}

impl GenericHttp {
    /// A builder for `endpoint`, with the defaults: model `unknown`, a 30 s
    /// timeout and 2 retries.
    pub fn builder(endpoint: impl Into<String>) -> GenericHttpBuilder {
        GenericHttpBuilder {
            endpoint: endpoint.into(),
            settings: HttpSettings::new(Duration::from_secs(30), crate::UNKNOWN_MODEL),
        }
    }

    /// A provider for `endpoint` with the defaults.
    ///
    /// # Errors
    ///
    /// When the endpoint is not an http(s) URL.
    pub fn new(endpoint: impl Into<String>) -> Result<GenericHttp, ProviderError> {
        GenericHttp::builder(endpoint).build()
    }

    fn request_body(prompt: &str, model: &str) -> Vec<u8> {
        serde_json::to_vec(&Request { prompt, model }).unwrap_or_default()
    }

    fn parse(body: &[u8]) -> Result<Completion, ProviderError> {
        let mut reply = parse_object(NAME, body)?;
        let (field, value) = match reply.get_mut("text") {
            Some(text) => ("text", text),
            None => match reply.get_mut("response") {
                Some(response) => ("response", response),
                None => {
                    let field = "text' or 'response";
                    return Err(ProviderError::MissingField { provider: NAME, field });
                }
            },
        };
        let text = match value {
            Value::String(text) => std::mem::take(text),
            other => return Err(wrong_type(NAME, field, "a string", other)),
        };
        Ok(Completion {
            text,
            prompt_tokens: tokens(NAME, reply.get("prompt_tokens"), "prompt_tokens")?,
            response_tokens: tokens(NAME, reply.get("response_tokens"), "response_tokens")?,
        })
    }
}

impl Provider for GenericHttp {
    fn complete(&self, prompt: &str, model: &str) -> Result<Completion, ProviderError> {
        let reply = self.transport.post_blocking(GenericHttp::request_body(prompt, model))?;
        GenericHttp::parse(&reply)
    }

    fn default_model(&self) -> &str {
        &self.default_model
    }
}

impl AsyncProvider for GenericHttp {
    async fn complete(&self, prompt: &str, model: &str) -> Result<Completion, ProviderError> {
        let reply = self.transport.post_async(GenericHttp::request_body(prompt, model)).await?;
        GenericHttp::parse(&reply)
    }

    fn default_model(&self) -> &str {
        &self.default_model
    }
}

impl GenericHttpBuilder {
    /// A header sent with every request, such as `authorization`. Its value
    /// never appears in errors.
    pub fn header(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> GenericHttpBuilder {
        self.settings.headers.push((name.into(), value.into()));
        self
    }

    /// The longest wait for one request, reply included (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> GenericHttpBuilder {
        self.settings.timeout = timeout;
        self
    }

    /// The model used when a call names none (default `unknown`).
    pub fn default_model(mut self, model: impl Into<String>) -> GenericHttpBuilder {
        self.settings.default_model = model.into();
        self
    }

    /// How failed requests are retried.
    pub fn retry(mut self, policy: RetryPolicy) -> GenericHttpBuilder {
        self.settings.retry = policy;
        self
    }

    /// The most retries after the first attempt (default 2).
    pub fn max_retries(mut self, retries: u32) -> GenericHttpBuilder {
        self.settings.retry.max_retries = retries;
        self
    }

    /// The provider.
    ///
    /// # Errors
    ///
    /// An endpoint that is not an http(s) URL, or a header that cannot be
    /// sent.
    pub fn build(self) -> Result<GenericHttp, ProviderError> {
        let transport = Transport::new(NAME, &self.endpoint, vec![], &self.settings)?;
        Ok(GenericHttp { transport, default_model: self.settings.default_model })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_or_response_is_read() {
        let done =
            GenericHttp::parse(br#"{"text":"a","prompt_tokens":3,"response_tokens":4}"#).unwrap();
        assert_eq!(
            (done.text.as_str(), done.prompt_tokens, done.response_tokens),
            ("a", Some(3), Some(4))
        );
        let done = GenericHttp::parse(br#"{"response":"b"}"#).unwrap();
        assert_eq!((done.text.as_str(), done.prompt_tokens), ("b", None));
    }

    #[test]
    fn bad_replies_name_the_field() {
        let cases: [(&[u8], &str); 5] = [
            (b"{}", "http reply has no field 'text' or 'response'"),
            (
                br#"{"text":null,"response":"b"}"#,
                "http reply field 'text' is null: expected a string",
            ),
            (
                br#"{"response":["b"]}"#,
                "http reply field 'response' is an array: expected a string",
            ),
            (
                br#"{"text":"a","prompt_tokens":"3"}"#,
                "http reply field 'prompt_tokens' is a string: expected an integer",
            ),
            (b"\"a\"", "http reply field '(reply)' is a string: expected an object"),
        ];
        for (body, expected) in cases {
            assert_eq!(GenericHttp::parse(body).unwrap_err().to_string(), expected);
        }
    }
}
