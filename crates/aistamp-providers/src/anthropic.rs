//! Anthropic Messages API.

use std::fmt;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::http::{HttpSettings, Transport, parse_object, tokens, wrong_type};
use crate::{AsyncProvider, Completion, Provider, ProviderError, RetryPolicy};

const NAME: &str = "anthropic";
const KEY_VARIABLE: &str = "ANTHROPIC_API_KEY";
const API_VERSION: &str = "2023-06-01";

/// The model used when a call names none.
pub const ANTHROPIC_DEFAULT_MODEL: &str = "claude-3-5-sonnet-20241022";

/// The API used when no base URL is given.
pub const ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com";

/// A provider for the Anthropic Messages API: `POST {base}/v1/messages`
/// with `x-api-key`, `anthropic-version: 2023-06-01`, `max_tokens` and one
/// user message.
///
/// The text is every `text` content block of the reply, joined; the token
/// counts come from `usage.input_tokens` and `usage.output_tokens`.
///
/// # Example
///
/// ```
/// use aistamp_providers::Anthropic;
///
/// let provider = Anthropic::builder().api_key("sk-ant-example").max_tokens(2048).build()?;
/// # Ok::<(), aistamp_providers::ProviderError>(())
/// ```
#[derive(Debug)]
pub struct Anthropic {
    transport: Transport,
    default_model: String,
    max_tokens: u32,
}

/// Settings for an [`Anthropic`] provider.
#[derive(Clone)]
pub struct AnthropicBuilder {
    api_key: Option<String>,
    base_url: String,
    max_tokens: u32,
    settings: HttpSettings,
}

#[derive(Serialize)]
struct Request<'a> {
    model: &'a str,
    max_tokens: u32,
    messages: [Message<'a>; 1],
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'static str,
    content: &'a str,
}

impl Anthropic {
    /// A builder with the defaults: the Anthropic API, the key from
    /// `ANTHROPIC_API_KEY`, model `claude-3-5-sonnet-20241022`, 1024 tokens
    /// at most, a 120 s timeout and 2 retries.
    pub fn builder() -> AnthropicBuilder {
        AnthropicBuilder {
            api_key: None,
            base_url: ANTHROPIC_BASE_URL.to_string(),
            max_tokens: 1024,
            settings: HttpSettings::new(Duration::from_secs(120), ANTHROPIC_DEFAULT_MODEL),
        }
    }

    /// The Anthropic API with `api_key` and the other defaults.
    ///
    /// # Errors
    ///
    /// When the key cannot be sent as a header.
    pub fn new(api_key: impl Into<String>) -> Result<Anthropic, ProviderError> {
        Anthropic::builder().api_key(api_key).build()
    }

    /// The Anthropic API with the key from `ANTHROPIC_API_KEY`.
    ///
    /// # Errors
    ///
    /// When the variable is not set.
    pub fn from_env() -> Result<Anthropic, ProviderError> {
        Anthropic::builder().build()
    }

    fn request_body(&self, prompt: &str, model: &str) -> Vec<u8> {
        let request = Request {
            model,
            max_tokens: self.max_tokens,
            messages: [Message { role: "user", content: prompt }],
        };
        serde_json::to_vec(&request).unwrap_or_default()
    }

    fn parse(body: &[u8]) -> Result<Completion, ProviderError> {
        let reply = parse_object(NAME, body)?;
        let content = reply
            .get("content")
            .ok_or(ProviderError::MissingField { provider: NAME, field: "content" })?;
        let Value::Array(blocks) = content else {
            return Err(wrong_type(NAME, "content", "an array", content));
        };
        let mut text = String::new();
        for block in blocks {
            if block.get("type").and_then(Value::as_str) != Some("text") {
                continue;
            }
            match block.get("text") {
                Some(Value::String(part)) => text.push_str(part),
                Some(other) => return Err(wrong_type(NAME, "content[].text", "a string", other)),
                None => {
                    return Err(ProviderError::MissingField {
                        provider: NAME,
                        field: "content[].text",
                    });
                }
            }
        }
        let usage = match reply.get("usage") {
            None | Some(Value::Null) => None,
            Some(usage @ Value::Object(_)) => Some(usage),
            Some(other) => return Err(wrong_type(NAME, "usage", "an object", other)),
        };
        let prompt_tokens =
            tokens(NAME, usage.and_then(|u| u.get("input_tokens")), "usage.input_tokens")?;
        let response_tokens =
            tokens(NAME, usage.and_then(|u| u.get("output_tokens")), "usage.output_tokens")?;
        Ok(Completion { text, prompt_tokens, response_tokens })
    }
}

impl Provider for Anthropic {
    fn complete(&self, prompt: &str, model: &str) -> Result<Completion, ProviderError> {
        let reply = self.transport.post_blocking(self.request_body(prompt, model))?;
        Anthropic::parse(&reply)
    }

    fn default_model(&self) -> &str {
        &self.default_model
    }
}

impl AsyncProvider for Anthropic {
    async fn complete(&self, prompt: &str, model: &str) -> Result<Completion, ProviderError> {
        let reply = self.transport.post_async(self.request_body(prompt, model)).await?;
        Anthropic::parse(&reply)
    }

    fn default_model(&self) -> &str {
        &self.default_model
    }
}

impl fmt::Debug for AnthropicBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnthropicBuilder")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("base_url", &self.base_url)
            .field("max_tokens", &self.max_tokens)
            .field("settings", &self.settings)
            .finish()
    }
}

impl AnthropicBuilder {
    /// The API key. Without this call it comes from `ANTHROPIC_API_KEY`.
    pub fn api_key(mut self, key: impl Into<String>) -> AnthropicBuilder {
        self.api_key = Some(key.into());
        self
    }

    /// The server; requests go to `{base}/v1/messages`. A base that already
    /// ends in `/v1` works too.
    pub fn base_url(mut self, url: impl Into<String>) -> AnthropicBuilder {
        self.base_url = url.into();
        self
    }

    /// The most tokens the model may answer with (default 1024).
    pub fn max_tokens(mut self, max_tokens: u32) -> AnthropicBuilder {
        self.max_tokens = max_tokens;
        self
    }

    /// The model used when a call names none.
    pub fn default_model(mut self, model: impl Into<String>) -> AnthropicBuilder {
        self.settings.default_model = model.into();
        self
    }

    /// The longest wait for one request, reply included (default 120 s).
    pub fn timeout(mut self, timeout: Duration) -> AnthropicBuilder {
        self.settings.timeout = timeout;
        self
    }

    /// How failed requests are retried.
    pub fn retry(mut self, policy: RetryPolicy) -> AnthropicBuilder {
        self.settings.retry = policy;
        self
    }

    /// The most retries after the first attempt (default 2).
    pub fn max_retries(mut self, retries: u32) -> AnthropicBuilder {
        self.settings.retry.max_retries = retries;
        self
    }

    /// A header sent with every request, such as `anthropic-beta`. Its
    /// value never appears in errors.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> AnthropicBuilder {
        self.settings.headers.push((name.into(), value.into()));
        self
    }

    /// The provider.
    ///
    /// # Errors
    ///
    /// No key given and `ANTHROPIC_API_KEY` unset, an empty key, a base URL
    /// that is not http(s), `max_tokens` of 0, or a key or header that
    /// cannot be sent.
    pub fn build(self) -> Result<Anthropic, ProviderError> {
        let key = match self.api_key {
            Some(key) => key,
            None => std::env::var(KEY_VARIABLE).map_err(|_| ProviderError::MissingKey {
                provider: NAME,
                variable: KEY_VARIABLE,
            })?,
        };
        if key.is_empty() {
            return Err(ProviderError::MissingKey { provider: NAME, variable: KEY_VARIABLE });
        }
        if self.max_tokens == 0 {
            return Err(ProviderError::InvalidConfig {
                provider: NAME,
                setting: "max_tokens",
                reason: "0: expected at least 1".into(),
            });
        }
        let base = self.base_url.trim_end_matches('/');
        let url = format!("{}/v1/messages", base.strip_suffix("/v1").unwrap_or(base));
        let auth = vec![("x-api-key", key), ("anthropic-version", API_VERSION.to_string())];
        let transport = Transport::new(NAME, &url, auth, &self.settings)?;
        Ok(Anthropic {
            transport,
            default_model: self.settings.default_model,
            max_tokens: self.max_tokens,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_blocks_are_joined_and_others_skipped() {
        let body = br#"{"type":"message","content":[{"type":"text","text":"Hello, "},
            {"type":"tool_use","id":"t","name":"f","input":{}},{"type":"text","text":"world"}],
            "usage":{"input_tokens":10,"output_tokens":3}}"#;
        let done = Anthropic::parse(body).unwrap();
        assert_eq!(done.text, "Hello, world");
        assert_eq!((done.prompt_tokens, done.response_tokens), (Some(10), Some(3)));
        let done = Anthropic::parse(br#"{"content":[]}"#).unwrap();
        assert_eq!((done.text.as_str(), done.prompt_tokens), ("", None));
    }

    #[test]
    fn bad_replies_name_the_field() {
        let cases: [(&[u8], &str); 4] = [
            (b"{}", "anthropic reply has no field 'content'"),
            (
                br#"{"content":"x"}"#,
                "anthropic reply field 'content' is a string: expected an array",
            ),
            (
                br#"{"content":[{"type":"text","text":null}]}"#,
                "anthropic reply field 'content[].text' is null: expected a string",
            ),
            (
                br#"{"content":[],"usage":{"input_tokens":"9"}}"#,
                "anthropic reply field 'usage.input_tokens' is a string: expected an integer",
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(Anthropic::parse(body).unwrap_err().to_string(), expected);
        }
    }

    #[test]
    fn debug_output_never_shows_the_key() {
        let builder = Anthropic::builder().api_key("sk-ant-secret-debug-key");
        let shown = format!("{builder:?} {:?}", builder.clone().build().unwrap());
        assert!(!shown.contains("sk-ant-secret"), "{shown}");
    }

    #[test]
    fn settings_are_checked() {
        let err = Anthropic::builder().api_key("").build().unwrap_err();
        assert!(matches!(err, ProviderError::MissingKey { variable: "ANTHROPIC_API_KEY", .. }));
        let err = Anthropic::builder().api_key("k").max_tokens(0).build().unwrap_err();
        assert_eq!(err.to_string(), "invalid anthropic setting max_tokens: 0: expected at least 1");
    }
}
