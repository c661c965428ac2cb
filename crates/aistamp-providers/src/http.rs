//! The HTTP transport the vendor providers share: one endpoint, its headers
//! and timeout, the retry loop (blocking and async), and the helpers that
//! read a JSON reply into typed errors.

use std::fmt;
use std::io::Read;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use crate::error::{ProviderError, json_type};
use crate::retry::{RetryPolicy, retry_after};

/// A provider call slower than this is logged as slow.
const SLOW_CALL: Duration = Duration::from_secs(30);

/// The longest vendor error message kept, in characters.
const MAX_MESSAGE_CHARS: usize = 300;

/// The largest reply body read, in bytes. A model's reply is text of a few
/// megabytes at most; a larger body means a misbehaving endpoint, and
/// reading it whole could exhaust the memory of the calling process.
pub(crate) const MAX_REPLY_BYTES: usize = 32 << 20;

/// Settings every HTTP provider has.
#[derive(Clone)]
pub(crate) struct HttpSettings {
    pub(crate) timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) default_model: String,
}

impl fmt::Debug for HttpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpSettings")
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("headers", &self.headers.iter().map(|(name, _)| name).collect::<Vec<_>>())
            .field("default_model", &self.default_model)
            .finish()
    }
}

impl HttpSettings {
    pub(crate) fn new(timeout: Duration, default_model: &str) -> HttpSettings {
        HttpSettings {
            timeout,
            retry: RetryPolicy::default(),
            headers: Vec::new(),
            default_model: default_model.to_string(),
        }
    }
}

/// One failed attempt: the error, and whether and when to try again.
struct Failure {
    error: ProviderError,
    retryable: bool,
    retry_after: Option<Duration>,
}

/// An endpoint with its headers, timeout and retry policy, and the HTTP
/// clients that reach it. The async client is built at once; the blocking
/// one, which owns a background thread, on first blocking use.
pub(crate) struct Transport {
    provider: &'static str,
    url: reqwest::Url,
    shown_url: String,
    headers: HeaderMap,
    secrets: Vec<String>,
    timeout: Duration,
    retry: RetryPolicy,
    async_client: reqwest::Client,
    blocking_client: OnceLock<reqwest::blocking::Client>,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("url", &self.shown_url)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// Validates the URL and headers. Header values, `auth_headers` and
    /// the configured ones alike, are sent but never shown: they are
    /// removed from every error message.
    pub(crate) fn new(
        provider: &'static str,
        url: &str,
        auth_headers: Vec<(&'static str, String)>,
        settings: &HttpSettings,
    ) -> Result<Transport, ProviderError> {
        let invalid =
            |setting, reason: String| ProviderError::InvalidConfig { provider, setting, reason };
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| invalid("url", format!("'{}' is not a URL ({e})", shown_url_text(url))))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(invalid(
                "url",
                format!(
                    "'{}' has scheme '{}': expected http or https",
                    shown_url_text(url),
                    parsed.scheme()
                ),
            ));
        }

        let mut headers = HeaderMap::new();
        headers.insert(reqwest::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let mut secrets = Vec::new();
        let configured = settings.headers.iter().map(|(n, v)| (n.as_str(), v));
        for (name, value) in configured.chain(auth_headers.iter().map(|(n, v)| (*n, v))) {
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| invalid("header", format!("'{name}' is not a valid header name")))?;
            let mut header_value = HeaderValue::from_str(value).map_err(|_| {
                invalid("header", format!("the value of '{name}' is not a valid header value"))
            })?;
            // Values of configured headers are often credentials too.
            header_value.set_sensitive(true);
            headers.insert(header, header_value);
            if value.len() >= 4 {
                secrets.push(value.clone());
                if let Some(token) = value.strip_prefix("Bearer ").filter(|t| t.len() >= 4) {
                    secrets.push(token.to_string());
                }
            }
        }
        // Query values such as `?api-key=...` are credentials too.
        secrets.extend(parsed.query_pairs().map(|(_, v)| v.into_owned()).filter(|v| v.len() >= 4));
        // Longest first, so that a key is removed before a shorter part of it.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));

        let async_client = reqwest::Client::builder()
            .default_headers(headers.clone())
            .timeout(settings.timeout)
            .build()
            .map_err(|e| invalid("client", error_chain(&e.without_url())))?;
        Ok(Transport {
            provider,
            shown_url: shown_url(&parsed),
            url: parsed,
            headers,
            secrets,
            timeout: settings.timeout,
            retry: settings.retry,
            async_client,
            blocking_client: OnceLock::new(),
        })
    }

    /// POSTs `body` and returns the 2xx reply's body, retrying as the policy
    /// says; the calling thread sleeps between attempts.
    pub(crate) fn post_blocking(&self, body: Vec<u8>) -> Result<Vec<u8>, ProviderError> {
        let client = self.blocking_client()?;
        let started = Instant::now();
        let mut retry = 0;
        loop {
            let attempt = client.post(self.url.clone()).body(body.clone()).send();
            let outcome = match attempt {
                Ok(response) => {
                    let status = response.status();
                    let wait = retry_after(response.headers());
                    self.read_blocking(response).and_then(|body| self.judge(status, wait, body))
                }
                Err(e) => Err(self.transport_failure(e)),
            };
            match outcome {
                Ok(reply) => return Ok(self.done(reply, started)),
                Err(failure) => {
                    std::thread::sleep(self.next_wait(failure, retry)?);
                    retry += 1;
                }
            }
        }
    }

    /// As [`Transport::post_blocking`], waiting asynchronously.
    pub(crate) async fn post_async(&self, body: Vec<u8>) -> Result<Vec<u8>, ProviderError> {
        let started = Instant::now();
        let mut retry = 0;
        loop {
            let attempt = self.async_client.post(self.url.clone()).body(body.clone()).send().await;
            let outcome = match attempt {
                Ok(response) => {
                    let status = response.status();
                    let wait = retry_after(response.headers());
                    self.read_async(response).await.and_then(|body| self.judge(status, wait, body))
                }
                Err(e) => Err(self.transport_failure(e)),
            };
            match outcome {
                Ok(reply) => return Ok(self.done(reply, started)),
                Err(failure) => {
                    tokio::time::sleep(self.next_wait(failure, retry)?).await;
                    retry += 1;
                }
            }
        }
    }

    fn blocking_client(&self) -> Result<&reqwest::blocking::Client, ProviderError> {
        if let Some(client) = self.blocking_client.get() {
            return Ok(client);
        }
        let client = reqwest::blocking::Client::builder()
            .default_headers(self.headers.clone())
            .timeout(self.timeout)
            .build()
            .map_err(|e| ProviderError::InvalidConfig {
                provider: self.provider,
                setting: "client",
                reason: error_chain(&e.without_url()),
            })?;
        Ok(self.blocking_client.get_or_init(|| client))
    }

    /// Logs the finished call and hands its reply back.
    fn done(&self, reply: Vec<u8>, started: Instant) -> Vec<u8> {
        let elapsed = started.elapsed();
        if elapsed > SLOW_CALL {
            tracing::warn!(
                provider = self.provider,
                elapsed_ms = elapsed.as_millis() as u64,
                "slow provider call"
            );
        } else {
            tracing::debug!(
                provider = self.provider,
                elapsed_ms = elapsed.as_millis() as u64,
                "provider call done"
            );
        }
        reply
    }

    /// The body of `response`, up to [`MAX_REPLY_BYTES`].
    fn read_blocking(&self, response: reqwest::blocking::Response) -> Result<Vec<u8>, Failure> {
        let mut body = self.reply_buffer(response.content_length())?;
        let limit = MAX_REPLY_BYTES as u64 + 1;
        match response.take(limit).read_to_end(&mut body) {
            Ok(_) if body.len() > MAX_REPLY_BYTES => Err(self.too_large()),
            Ok(_) => Ok(body),
            Err(err) => Err(self.read_failure(err)),
        }
    }

    /// As [`Transport::read_blocking`], reading asynchronously.
    async fn read_async(&self, mut response: reqwest::Response) -> Result<Vec<u8>, Failure> {
        let mut body = self.reply_buffer(response.content_length())?;
        while let Some(chunk) = response.chunk().await.map_err(|e| self.transport_failure(e))? {
            if body.len() + chunk.len() > MAX_REPLY_BYTES {
                return Err(self.too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// A buffer for a body of `length` bytes, when the server said; a
    /// declared length over the limit fails before anything is read.
    fn reply_buffer(&self, length: Option<u64>) -> Result<Vec<u8>, Failure> {
        match length {
            Some(length) if length > MAX_REPLY_BYTES as u64 => Err(self.too_large()),
            Some(length) => Ok(Vec::with_capacity(length as usize)),
            None => Ok(Vec::new()),
        }
    }

    fn too_large(&self) -> Failure {
        Failure {
            error: ProviderError::ReplyTooLarge { provider: self.provider, limit: MAX_REPLY_BYTES },
            retryable: false,
            retry_after: None,
        }
    }

    /// A body read that failed: the blocking client reports the transport's
    /// error inside an I/O error.
    fn read_failure(&self, err: std::io::Error) -> Failure {
        let timed_out = err.kind() == std::io::ErrorKind::TimedOut;
        let message = err.to_string();
        match err.into_inner().map(|inner| inner.downcast::<reqwest::Error>()) {
            Some(Ok(transport)) => self.transport_failure(*transport),
            _ if timed_out => self.timed_out(),
            _ => self.connection_failure(message),
        }
    }

    /// The reply of a 2xx status, or the failure of any other.
    fn judge(
        &self,
        status: reqwest::StatusCode,
        retry_after: Option<Duration>,
        body: Vec<u8>,
    ) -> Result<Vec<u8>, Failure> {
        if status.is_success() {
            return Ok(body);
        }
        let code = status.as_u16();
        Err(Failure {
            error: ProviderError::Status {
                provider: self.provider,
                status: code,
                message: self.redact(vendor_message(&body)),
                attempts: 0,
            },
            retryable: code == 429 || code >= 500,
            retry_after,
        })
    }

    fn transport_failure(&self, error: reqwest::Error) -> Failure {
        if error.is_timeout() {
            return self.timed_out();
        }
        self.connection_failure(error_chain(&error.without_url()))
    }

    /// A request that ran out of time, which is not retried.
    fn timed_out(&self) -> Failure {
        let error = ProviderError::Timeout { provider: self.provider, timeout: self.timeout };
        Failure { error, retryable: false, retry_after: None }
    }

    /// A connection that failed as `message` says, which is retried.
    fn connection_failure(&self, message: String) -> Failure {
        Failure {
            error: ProviderError::Connection {
                provider: self.provider,
                url: self.shown_url.clone(),
                message: self.redact(message),
                attempts: 0,
            },
            retryable: true,
            retry_after: None,
        }
    }

    /// How long to wait before retry number `retry`, or the final error.
    fn next_wait(&self, failure: Failure, retry: u32) -> Result<Duration, ProviderError> {
        let wait =
            if failure.retryable { self.retry.delay(retry, failure.retry_after) } else { None };
        let mut error = failure.error;
        if let ProviderError::Status { attempts, .. } | ProviderError::Connection { attempts, .. } =
            &mut error
        {
            *attempts = retry + 1;
        }
        match wait {
            Some(wait) => {
                tracing::warn!(
                    provider = self.provider,
                    retry = retry + 1,
                    wait_ms = wait.as_millis() as u64,
                    error = %error,
                    "retrying provider call"
                );
                Ok(wait)
            }
            None => Err(error),
        }
    }

    /// `text` with every configured secret replaced by `[REDACTED]`.
    fn redact(&self, mut text: String) -> String {
        for secret in &self.secrets {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), "[REDACTED]");
            }
        }
        text
    }
}

/// `url` without credentials, query or fragment, for messages.
fn shown_url(url: &reqwest::Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

/// A URL that did not parse, cut before any query and credentials.
fn shown_url_text(url: &str) -> String {
    let before_query = url.split(['?', '#']).next().unwrap_or_default();
    let host_part = match before_query.split_once("://") {
        Some((scheme, rest)) => {
            let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
            format!("{scheme}://{rest}")
        }
        None => before_query.to_string(),
    };
    host_part.chars().take(200).collect()
}

/// The messages of `error` and its sources, joined by `: `.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let part = inner.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = inner.source();
    }
    text
}

/// The vendor's error message in an error reply: `error.type` and
/// `error.message` (OpenAI, Anthropic), a string `error`, `message` or
/// `detail`; otherwise the start of the body.
fn vendor_message(body: &[u8]) -> String {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let message = match serde_json::from_slice::<Value>(body) {
        Ok(reply) => {
            let error = reply.get("error");
            let nested = error.and_then(|e| text(e.get("message")));
            match (nested, error.and_then(|e| text(e.get("type")))) {
                (Some(message), Some(kind)) => Some(format!("{kind}: {message}")),
                (Some(message), None) => Some(message),
                (None, _) => text(error)
                    .or_else(|| text(reply.get("message")))
                    .or_else(|| text(reply.get("detail"))),
            }
        }
        Err(_) => None,
    };
    let message = message.unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_string());
    if message.is_empty() {
        return "empty body".to_string();
    }
    let mut shown: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_MESSAGE_CHARS)
        .collect();
    if message.chars().nth(MAX_MESSAGE_CHARS).is_some() {
        shown.push_str("...");
    }
    shown
}

/// The reply body as a JSON object.
pub(crate) fn parse_object(
    provider: &'static str,
    body: &[u8],
) -> Result<serde_json::Map<String, Value>, ProviderError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ProviderError::InvalidJson { provider, message: e.to_string() })?;
    match value {
        Value::Object(object) => Ok(object),
        other => Err(ProviderError::WrongFieldType {
            provider,
            field: "(reply)",
            expected: "an object",
            found: json_type(&other),
        }),
    }
}

/// The error for a field of the wrong type.
pub(crate) fn wrong_type(
    provider: &'static str,
    field: &'static str,
    expected: &'static str,
    found: &Value,
) -> ProviderError {
    ProviderError::WrongFieldType { provider, field, expected, found: json_type(found) }
}

/// An optional token count: absent or `null` is `None`, anything but an
/// integer that fits in 64 bits is an error.
pub(crate) fn tokens(
    provider: &'static str,
    value: Option<&Value>,
    field: &'static str,
) -> Result<Option<i64>, ProviderError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.as_i64().is_some() => Ok(n.as_i64()),
        Some(other) => Err(wrong_type(provider, field, "an integer", other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_messages_are_found_in_each_format() {
        let openai = br#"{"error":{"message":"Rate limit reached","type":"requests","code":null}}"#;
        assert_eq!(vendor_message(openai), "requests: Rate limit reached");
        let anthropic =
            br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        assert_eq!(vendor_message(anthropic), "overloaded_error: Overloaded");
        assert_eq!(vendor_message(br#"{"error":"bad model"}"#), "bad model");
        assert_eq!(vendor_message(br#"{"detail":"Not Found"}"#), "Not Found");
        assert_eq!(vendor_message(b"<html>Bad\nGateway</html>"), "<html>Bad Gateway</html>");
        assert_eq!(vendor_message(b""), "empty body");
        let long = vendor_message(&[b'x'; 1000]);
        assert_eq!(long.len(), MAX_MESSAGE_CHARS + 3);
    }

    #[test]
    fn urls_are_shown_without_secrets() {
        let url = reqwest::Url::parse("https://user:pw@host:8443/v1/x?api-key=SECRET#f").unwrap();
        assert_eq!(shown_url(&url), "https://host:8443/v1/x");
        assert_eq!(shown_url_text("ht!tp://user:pw@host/x?key=SECRET"), "ht!tp://host/x");
    }

    #[test]
    fn bad_settings_are_named() {
        let settings = HttpSettings::new(Duration::from_secs(1), "m");
        let err = Transport::new("http", "ftp://host/x", vec![], &settings).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid http setting url: 'ftp://host/x' has scheme 'ftp': expected http or https"
        );
        let err = Transport::new("http", "not a url?key=SECRET", vec![], &settings).unwrap_err();
        assert!(!err.to_string().contains("SECRET"), "{err}");
        let err = Transport::new(
            "openai",
            "http://h/",
            vec![("authorization", "a\nb".into())],
            &settings,
        )
        .unwrap_err();
        assert!(err.to_string().contains("'authorization' is not a valid header value"), "{err}");
        assert!(!err.to_string().contains("a\nb"));
    }

    #[test]
    fn tokens_must_be_integers() {
        assert_eq!(tokens("x", None, "t").unwrap(), None);
        assert_eq!(tokens("x", Some(&Value::Null), "t").unwrap(), None);
        assert_eq!(tokens("x", Some(&serde_json::json!(12)), "t").unwrap(), Some(12));
        let err = tokens("x", Some(&serde_json::json!("12")), "usage.t").unwrap_err();
        assert_eq!(err.to_string(), "x reply field 'usage.t' is a string: expected an integer");
        assert!(tokens("x", Some(&serde_json::json!(1.5)), "t").is_err());
        assert!(tokens("x", Some(&serde_json::json!(u64::MAX)), "t").is_err());
    }
}
