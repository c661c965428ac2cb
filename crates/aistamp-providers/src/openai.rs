//! OpenAI Chat Completions, and every server that speaks it (vLLM,
//! llama.cpp, Ollama, gateways).

use std::fmt;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::http::{HttpSettings, Transport, parse_object, tokens, wrong_type};
use crate::{AsyncProvider, Completion, Provider, ProviderError, RetryPolicy};

const NAME: &str = "openai";
const KEY_VARIABLE: &str = "OPENAI_API_KEY";

/// The model used when a call names none.
pub const OPENAI_DEFAULT_MODEL: &str = "gpt-4o";

/// The API used when no base URL is given.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com";

/// A provider for the OpenAI Chat Completions API:
/// `POST {base}/v1/chat/completions` with a bearer key and one user message.
///
/// The text comes from `choices[0].message.content` (a `null` content is
/// the empty text), the token counts from `usage.prompt_tokens` and
/// `usage.completion_tokens` when the server reports them.
///
/// # Example
///
/// ```
/// use aistamp_providers::OpenAi;
///
/// // A local OpenAI-compatible server that wants no key.
/// let provider = OpenAi::builder().base_url("http://127.0.0.1:8000").api_key("").build()?;
/// # Ok::<(), aistamp_providers::ProviderError>(())
/// ```
#[derive(Debug)]
pub struct OpenAi {
    transport: Transport,
    default_model: String,
}

/// Settings for an [`OpenAi`] provider.
#[derive(Clone)]
pub struct OpenAiBuilder {
    api_key: Option<String>,
    base_url: String,
    settings: HttpSettings,
}

#[derive(Serialize)]
struct Request<'a> {
    model: &'a str,
    messages: [Message<'a>; 1],
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'static str,
    content: &'a str,
}

impl OpenAi {
    /// A builder with the defaults: the OpenAI API, the key from
    /// `OPENAI_API_KEY`, model `gpt-4o`, a 120 s timeout and 2 retries.
    pub fn builder() -> OpenAiBuilder {
        OpenAiBuilder {
            api_key: None,
            base_url: OPENAI_BASE_URL.to_string(),
            settings: HttpSettings::new(Duration::from_secs(120), OPENAI_DEFAULT_MODEL),
        }
    }

    /// The OpenAI API with `api_key` and the other defaults.
    ///
    /// # Errors
    ///
    /// When the key cannot be sent as a header.
    pub fn new(api_key: impl Into<String>) -> Result<OpenAi, ProviderError> {
        OpenAi::builder().api_key(api_key).build()
    }

    /// The OpenAI API with the key from `OPENAI_API_KEY`.
    ///
    /// # Errors
    ///
    /// When the variable is not set.
    pub fn from_env() -> Result<OpenAi, ProviderError> {
        OpenAi::builder().build()
    }

    fn request_body(prompt: &str, model: &str) -> Vec<u8> {
        let request = Request { model, messages: [Message { role: "user", content: prompt }] };
        serde_json::to_vec(&request).unwrap_or_default()
    }

    fn parse(body: &[u8]) -> Result<Completion, ProviderError> {
        let mut reply = parse_object(NAME, body)?;
        let missing = |field| ProviderError::MissingField { provider: NAME, field };
        let choices = reply.get_mut("choices").ok_or_else(|| missing("choices"))?;
        let Value::Array(choices) = choices else {
            return Err(wrong_type(NAME, "choices", "an array", choices));
        };
        let first = choices.first_mut().ok_or_else(|| missing("choices[0]"))?;
        let message = first.get_mut("message").ok_or_else(|| missing("choices[0].message"))?;
        let text = match message.get_mut("content") {
            None => return Err(missing("choices[0].message.content")),
            Some(Value::Null) => String::new(),
            Some(Value::String(text)) => std::mem::take(text),
            Some(other) => {
                return Err(wrong_type(NAME, "choices[0].message.content", "a string", other));
            }
        };
        let usage = match reply.get("usage") {
            None | Some(Value::Null) => None,
            Some(usage @ Value::Object(_)) => Some(usage),
            Some(other) => return Err(wrong_type(NAME, "usage", "an object", other)),
        };
        let prompt_tokens =
            tokens(NAME, usage.and_then(|u| u.get("prompt_tokens")), "usage.prompt_tokens")?;
        let response_tokens = tokens(
            NAME,
            usage.and_then(|u| u.get("completion_tokens")),
            "usage.completion_tokens",
        )?;
        Ok(Completion { text, prompt_tokens, response_tokens })
    }
}

impl Provider for OpenAi {
    fn complete(&self, prompt: &str, model: &str) -> Result<Completion, ProviderError> {
        let reply = self.transport.post_blocking(OpenAi::request_body(prompt, model))?;
        OpenAi::parse(&reply)
    }

    fn default_model(&self) -> &str {
        &self.default_model
    }
}

impl AsyncProvider for OpenAi {
    async fn complete(&self, prompt: &str, model: &str) -> Result<Completion, ProviderError> {
        let reply = self.transport.post_async(OpenAi::request_body(prompt, model)).await?;
        OpenAi::parse(&reply)
    }

    fn default_model(&self) -> &str {
        &self.default_model
    }
}

impl fmt::Debug for OpenAiBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiBuilder")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("base_url", &self.base_url)
            .field("settings", &self.settings)
            .finish()
    }
}

impl OpenAiBuilder {
    /// The API key. An empty key sends no `Authorization` header, for local
    /// servers that want none. Without this call the key comes from
    /// `OPENAI_API_KEY`.
    pub fn api_key(mut self, key: impl Into<String>) -> OpenAiBuilder {
        self.api_key = Some(key.into());
        self
    }

    /// The server, such as `http://127.0.0.1:8000`; requests go to
    /// `{base}/v1/chat/completions`. A base that already ends in `/v1`, as
    /// OpenAI's SDKs write it, works too.
    pub fn base_url(mut self, url: impl Into<String>) -> OpenAiBuilder {
        self.base_url = url.into();
        self
    }

    /// The model used when a call names none (default `gpt-4o`).
    pub fn default_model(mut self, model: impl Into<String>) -> OpenAiBuilder {
        self.settings.default_model = model.into();
        self
    }

    /// The longest wait for one request, reply included (default 120 s).
    pub fn timeout(mut self, timeout: Duration) -> OpenAiBuilder {
        self.settings.timeout = timeout;
        self
    }

    /// How failed requests are retried.
    pub fn retry(mut self, policy: RetryPolicy) -> OpenAiBuilder {
        self.settings.retry = policy;
        self
    }

    /// The most retries after the first attempt (default 2).
    pub fn max_retries(mut self, retries: u32) -> OpenAiBuilder {
        self.settings.retry.max_retries = retries;
        self
    }

    /// A header sent with every request, such as an organization id. Its
    /// value never appears in errors.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> OpenAiBuilder {
        self.settings.headers.push((name.into(), value.into()));
        self
    }

    /// The provider.
    ///
    /// # Errors
    ///
    /// No key given and `OPENAI_API_KEY` unset, a base URL that is not
    /// http(s), or a key or header that cannot be sent.
    pub fn build(self) -> Result<OpenAi, ProviderError> {
        let key = match self.api_key {
            Some(key) => key,
            None => std::env::var(KEY_VARIABLE).map_err(|_| ProviderError::MissingKey {
                provider: NAME,
                variable: KEY_VARIABLE,
            })?,
        };
        let base = self.base_url.trim_end_matches('/');
        let url = format!("{}/v1/chat/completions", base.strip_suffix("/v1").unwrap_or(base));
        let auth =
            if key.is_empty() { vec![] } else { vec![("authorization", format!("Bearer {key}"))] };
        let transport = Transport::new(NAME, &url, auth, &self.settings)?;
        Ok(OpenAi { transport, default_model: self.settings.default_model })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_parse_with_and_without_usage() {
        let body = br#"{"choices":[{"message":{"role":"assistant","content":"hi"}}],
            "usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}"#;
        let done = OpenAi::parse(body).unwrap();
        assert_eq!(
            (done.text.as_str(), done.prompt_tokens, done.response_tokens),
            ("hi", Some(5), Some(1))
        );
        let done = OpenAi::parse(br#"{"choices":[{"message":{"content":null}}]}"#).unwrap();
        assert_eq!((done.text.as_str(), done.prompt_tokens), ("", None));
    }

    #[test]
    fn bad_replies_name_the_field() {
        let cases: [(&[u8], &str); 6] = [
            (b"{}", "openai reply has no field 'choices'"),
            (br#"{"choices":[]}"#, "openai reply has no field 'choices[0]'"),
            (br#"{"choices":{}}"#, "openai reply field 'choices' is an object: expected an array"),
            (br#"{"choices":[{}]}"#, "openai reply has no field 'choices[0].message'"),
            (
                br#"{"choices":[{"message":{"content":3}}]}"#,
                "openai reply field 'choices[0].message.content' is a number: expected a string",
            ),
            (b"[1]", "openai reply field '(reply)' is an array: expected an object"),
        ];
        for (body, expected) in cases {
            assert_eq!(OpenAi::parse(body).unwrap_err().to_string(), expected);
        }
    }

    #[test]
    fn debug_output_never_shows_the_key() {
        let builder =
            OpenAi::builder().api_key("sk-secret-debug-key").header("x-org", "org-secret-id");
        let shown = format!("{builder:?}");
        assert!(!shown.contains("sk-secret") && !shown.contains("org-secret"), "{shown}");
        assert!(shown.contains("x-org"), "{shown}");
        let provider = format!("{:?}", builder.build().unwrap());
        assert!(!provider.contains("sk-secret") && !provider.contains("org-secret"), "{provider}");
    }

    #[test]
    fn base_urls_with_or_without_v1_reach_the_same_path() {
        for base in ["http://127.0.0.1:9/", "http://127.0.0.1:9/v1", "http://127.0.0.1:9"] {
            let provider = OpenAi::builder().base_url(base).api_key("k").build().unwrap();
            assert!(format!("{provider:?}").contains("http://127.0.0.1:9/v1/chat/completions"));
        }
    }
}
