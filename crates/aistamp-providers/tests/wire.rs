//! Every HTTP provider against a real HTTP server on 127.0.0.1 (wiremock's
//! hyper server) that speaks the vendor's wire format: success, missing
//! usage, error bodies, retries, timeouts, bad JSON and refused connections.
#![cfg(feature = "http")]

use std::time::{Duration, Instant};

use aistamp_providers::{
    Anthropic, AsyncProvider, Completion, GenericHttp, OpenAi, Provider, ProviderError, RetryPolicy,
};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A key that must never show in an error.
const KEY: &str = "sk-test-SECRET-0123456789abcdef";

#[derive(Clone, Copy, Debug)]
enum Vendor {
    OpenAi,
    Anthropic,
    Generic,
}

const ALL: [Vendor; 3] = [Vendor::OpenAi, Vendor::Anthropic, Vendor::Generic];

/// One provider of any vendor, so that tests can loop over vendors.
enum Any {
    OpenAi(OpenAi),
    Anthropic(Anthropic),
    Generic(GenericHttp),
}

impl Any {
    async fn call(&self, prompt: &str) -> Result<Completion, ProviderError> {
        match self {
            Any::OpenAi(p) => AsyncProvider::complete(p, prompt, "m-1").await,
            Any::Anthropic(p) => AsyncProvider::complete(p, prompt, "m-1").await,
            Any::Generic(p) => AsyncProvider::complete(p, prompt, "m-1").await,
        }
    }

    fn call_blocking(&self, prompt: &str) -> Result<Completion, ProviderError> {
        match self {
            Any::OpenAi(p) => Provider::complete(p, prompt, "m-1"),
            Any::Anthropic(p) => Provider::complete(p, prompt, "m-1"),
            Any::Generic(p) => Provider::complete(p, prompt, "m-1"),
        }
    }
}

fn quick_retries(max_retries: u32) -> RetryPolicy {
    RetryPolicy { max_retries, initial_backoff: Duration::from_millis(5), ..RetryPolicy::default() }
}

impl Vendor {
    fn path(self) -> &'static str {
        match self {
            Vendor::OpenAi => "/v1/chat/completions",
            Vendor::Anthropic => "/v1/messages",
            Vendor::Generic => "/complete",
        }
    }

    /// A successful reply with `text`, and token counts 7 and 3 when
    /// `usage` is set.
    fn reply(self, text: &str, usage: bool) -> Value {
        match (self, usage) {
            (Vendor::OpenAi, true) => json!({
                "id": "chatcmpl-1", "object": "chat.completion", "model": "m-1",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}
            }),
            (Vendor::OpenAi, false) => json!({
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]
            }),
            (Vendor::Anthropic, true) => json!({
                "id": "msg_1", "type": "message", "role": "assistant", "model": "m-1",
                "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
                "usage": {"input_tokens": 7, "output_tokens": 3}
            }),
            (Vendor::Anthropic, false) => json!({
                "type": "message", "content": [{"type": "text", "text": text}]
            }),
            (Vendor::Generic, true) => json!({
                "text": text, "prompt_tokens": 7, "response_tokens": 3
            }),
            (Vendor::Generic, false) => json!({"response": text}),
        }
    }

    /// The vendor's error body, carrying `message`.
    fn error_reply(self, message: &str) -> Value {
        match self {
            Vendor::OpenAi => json!({"error": {
                "message": message, "type": "invalid_request_error", "param": null,
                "code": "invalid_api_key"}}),
            Vendor::Anthropic => json!({"type": "error", "error": {
                "type": "authentication_error", "message": message}}),
            Vendor::Generic => json!({"error": message}),
        }
    }

    fn provider(self, base: &str, timeout: Duration, retry: RetryPolicy) -> Any {
        match self {
            Vendor::OpenAi => Any::OpenAi(
                OpenAi::builder()
                    .base_url(base)
                    .api_key(KEY)
                    .timeout(timeout)
                    .retry(retry)
                    .build()
                    .unwrap(),
            ),
            Vendor::Anthropic => Any::Anthropic(
                Anthropic::builder()
                    .base_url(base)
                    .api_key(KEY)
                    .timeout(timeout)
                    .retry(retry)
                    .build()
                    .unwrap(),
            ),
            Vendor::Generic => Any::Generic(
                GenericHttp::builder(format!("{base}/complete"))
                    .header("authorization", format!("Bearer {KEY}"))
                    .timeout(timeout)
                    .retry(retry)
                    .build()
                    .unwrap(),
            ),
        }
    }

    fn default_provider(self, server: &MockServer) -> Any {
        self.provider(&server.uri(), Duration::from_secs(5), quick_retries(2))
    }
}

fn assert_no_key(err: &ProviderError) {
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(KEY), "the key leaked: {shown}");
    assert!(!shown.contains("SECRET"), "part of the key leaked: {shown}");
}

async fn requests(server: &MockServer) -> Vec<wiremock::Request> {
    server.received_requests().await.unwrap_or_default()
}

#[tokio::test]
async fn requests_and_replies_follow_each_wire_format() {
    for vendor in ALL {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(vendor.path()))
            .respond_with(ResponseTemplate::new(200).set_body_json(vendor.reply("Bonjour", true)))
            .mount(&server)
            .await;

        let done = vendor.default_provider(&server).call("Say hello in French").await.unwrap();
        assert_eq!(done, Completion::new("Bonjour").with_tokens(Some(7), Some(3)), "{vendor:?}");

        let seen = requests(&server).await;
        assert_eq!(seen.len(), 1, "{vendor:?}");
        let request = &seen[0];
        let header =
            |name: &str| request.headers.get(name).map(|v| v.to_str().unwrap().to_string());
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(header("content-type").as_deref(), Some("application/json"));
        match vendor {
            Vendor::OpenAi => {
                assert_eq!(header("authorization"), Some(format!("Bearer {KEY}")));
                assert_eq!(
                    body,
                    json!({"model": "m-1", "messages": [{"role": "user", "content": "Say hello in French"}]})
                );
            }
            Vendor::Anthropic => {
                assert_eq!(header("x-api-key").as_deref(), Some(KEY));
                assert_eq!(header("anthropic-version").as_deref(), Some("2023-06-01"));
                assert_eq!(header("authorization"), None);
                assert_eq!(
                    body,
                    json!({"model": "m-1", "max_tokens": 1024,
                           "messages": [{"role": "user", "content": "Say hello in French"}]})
                );
            }
            Vendor::Generic => {
                assert_eq!(header("authorization"), Some(format!("Bearer {KEY}")));
                assert_eq!(body, json!({"prompt": "Say hello in French", "model": "m-1"}));
            }
        }
    }
}

#[tokio::test]
async fn replies_without_usage_have_no_token_counts() {
    for vendor in ALL {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_json(vendor.reply("ok", false)))
            .mount(&server)
            .await;
        let done = vendor.default_provider(&server).call("p").await.unwrap();
        assert_eq!(done, Completion::new("ok"), "{vendor:?}");
    }
}

#[tokio::test]
async fn vendor_error_messages_are_kept_and_keys_are_not() {
    for vendor in ALL {
        let server = MockServer::start().await;
        let echo = format!("Incorrect API key provided: {KEY}. Find your key in the dashboard");
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(401).set_body_json(vendor.error_reply(&echo)))
            .mount(&server)
            .await;

        let err = vendor.default_provider(&server).call("p").await.unwrap_err();
        assert_no_key(&err);
        let ProviderError::Status { status, message, attempts, .. } = &err else {
            panic!("{vendor:?}: expected a status error, got {err:?}");
        };
        assert_eq!((*status, *attempts), (401, 1), "{vendor:?}: a 401 is not retried");
        assert!(
            message.contains("Incorrect API key provided: [REDACTED]"),
            "{vendor:?}: {message}"
        );
        match vendor {
            Vendor::OpenAi => assert!(message.starts_with("invalid_request_error: "), "{message}"),
            Vendor::Anthropic => {
                assert!(message.starts_with("authentication_error: "), "{message}")
            }
            Vendor::Generic => assert!(message.starts_with("Incorrect"), "{message}"),
        }
        assert_eq!(requests(&server).await.len(), 1);
    }
}

#[tokio::test]
async fn rate_limits_are_retried_until_success() {
    for vendor in ALL {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(429)
                    .insert_header("retry-after", "0")
                    .set_body_json(vendor.error_reply("Rate limit reached")),
            )
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_json(vendor.reply("late", true)))
            .mount(&server)
            .await;

        let done = vendor.default_provider(&server).call("p").await.unwrap();
        assert_eq!(done.text, "late", "{vendor:?}");
        assert_eq!(requests(&server).await.len(), 2, "{vendor:?}");
    }
}

#[tokio::test]
async fn server_errors_exhaust_the_retries() {
    for vendor in ALL {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(500).set_body_string("upstream exploded"))
            .mount(&server)
            .await;

        let err = vendor.default_provider(&server).call("p").await.unwrap_err();
        let ProviderError::Status { status: 500, attempts: 3, message, .. } = &err else {
            panic!("{vendor:?}: expected 500 after 3 attempts, got {err:?}");
        };
        assert_eq!(message, "upstream exploded");
        assert_eq!(requests(&server).await.len(), 3, "{vendor:?}: one try and two retries");
        assert_no_key(&err);
    }
}

#[tokio::test]
async fn retry_after_is_honoured_and_a_long_one_is_not_waited_for() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(Vendor::Generic.reply("ok", false)))
        .mount(&server)
        .await;
    let started = Instant::now();
    let done = Vendor::Generic.default_provider(&server).call("p").await.unwrap();
    assert_eq!(done.text, "ok");
    assert!(started.elapsed() >= Duration::from_millis(950), "the server asked for 1 s");

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "3600"))
        .mount(&server)
        .await;
    let err = Vendor::OpenAi.default_provider(&server).call("p").await.unwrap_err();
    assert_eq!(err.status(), Some(429));
    assert_eq!(requests(&server).await.len(), 1, "an hour is past the longest honoured wait");
}

#[tokio::test]
async fn timeouts_are_reported_and_not_retried() {
    for vendor in ALL {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(vendor.reply("slow", true))
                    .set_delay(Duration::from_secs(3)),
            )
            .mount(&server)
            .await;
        let provider = vendor.provider(&server.uri(), Duration::from_millis(200), quick_retries(2));
        let err = provider.call("p").await.unwrap_err();
        assert!(
            matches!(err, ProviderError::Timeout { timeout, .. } if timeout == Duration::from_millis(200)),
            "{vendor:?}: {err:?}"
        );
        assert!(err.to_string().ends_with("did not answer within 200 ms"), "{err}");
        assert_eq!(requests(&server).await.len(), 1, "{vendor:?}");
    }
}

#[tokio::test]
async fn malformed_json_and_missing_fields_are_reported() {
    for vendor in ALL {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_string("{\"choices\": [tru"))
            .mount(&server)
            .await;
        let err = vendor.default_provider(&server).call("p").await.unwrap_err();
        assert!(matches!(err, ProviderError::InvalidJson { .. }), "{vendor:?}: {err:?}");

        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"unrelated": 1})))
            .mount(&server)
            .await;
        let err = vendor.default_provider(&server).call("p").await.unwrap_err();
        assert!(matches!(err, ProviderError::MissingField { .. }), "{vendor:?}: {err:?}");
    }
}

/// A loopback port that nothing listens on.
fn dead_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn refused_connections_are_retried_then_reported() {
    for vendor in ALL {
        let base = format!("http://127.0.0.1:{}", dead_port());
        let err = vendor
            .provider(&base, Duration::from_secs(2), quick_retries(2))
            .call("p")
            .await
            .unwrap_err();
        let ProviderError::Connection { attempts, url, message, .. } = &err else {
            panic!("{vendor:?}: expected a connection error, got {err:?}");
        };
        assert_eq!(*attempts, 3, "{vendor:?}");
        assert!(url.starts_with(&base), "{url}");
        assert!(message.to_lowercase().contains("refused"), "{message}");
        assert_no_key(&err);
    }

    let endpoint = format!("http://127.0.0.1:{}/complete?api_key={KEY}", dead_port());
    let generic = GenericHttp::builder(endpoint).max_retries(0).build().unwrap();
    let err = AsyncProvider::complete(&generic, "p", "m").await.unwrap_err();
    assert!(matches!(err, ProviderError::Connection { attempts: 1, .. }), "{err:?}");
    assert_no_key(&err);
}

#[test]
fn blocking_calls_speak_the_same_wire_format() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for vendor in ALL {
        let server = runtime.block_on(MockServer::start());
        runtime.block_on(
            Mock::given(method("POST"))
                .respond_with(
                    ResponseTemplate::new(429).set_body_json(vendor.error_reply("slow down")),
                )
                .up_to_n_times(1)
                .with_priority(1)
                .mount(&server),
        );
        runtime.block_on(
            Mock::given(method("POST"))
                .and(path(vendor.path()))
                .respond_with(ResponseTemplate::new(200).set_body_json(vendor.reply("sync", true)))
                .mount(&server),
        );

        let provider = vendor.default_provider(&server);
        let done = provider.call_blocking("p").unwrap();
        assert_eq!(done, Completion::new("sync").with_tokens(Some(7), Some(3)), "{vendor:?}");
        assert_eq!(runtime.block_on(requests(&server)).len(), 2, "{vendor:?}: 429, then success");

        let dead = format!("http://127.0.0.1:{}", dead_port());
        let err = vendor.provider(&dead, Duration::from_secs(1), quick_retries(1));
        let err = err.call_blocking("p").unwrap_err();
        assert!(matches!(err, ProviderError::Connection { attempts: 2, .. }), "{err:?}");
        assert_no_key(&err);
    }

    let server = runtime.block_on(MockServer::start());
    runtime.block_on(
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
            .mount(&server),
    );
    let slow = Vendor::OpenAi.provider(&server.uri(), Duration::from_millis(200), quick_retries(2));
    assert!(matches!(slow.call_blocking("p"), Err(ProviderError::Timeout { .. })));
}

/// Just over the largest reply body a provider reads (32 MiB).
const OVERSIZED: usize = (32 << 20) + 1;

#[tokio::test]
async fn an_oversized_reply_fails_for_every_vendor_and_is_not_retried() {
    for vendor in ALL {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_string("x".repeat(OVERSIZED)))
            .mount(&server)
            .await;
        let err = vendor.default_provider(&server).call("p").await.unwrap_err();
        assert!(
            matches!(err, ProviderError::ReplyTooLarge { limit, .. } if limit == OVERSIZED - 1),
            "{vendor:?}: {err:?}"
        );
        assert!(err.to_string().ends_with("reply is over the limit of 33554432 bytes"), "{err}");
        assert_eq!(requests(&server).await.len(), 1, "{vendor:?}: not retried");
    }
}

/// A server on loopback that, on a thread per connection, reads the
/// request's head and then lets `respond` write whatever it likes.
fn raw_server(respond: impl Fn(std::net::TcpStream) + Send + Sync + 'static) -> String {
    use std::io::{BufRead, BufReader};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/complete", listener.local_addr().unwrap());
    let respond = std::sync::Arc::new(respond);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let respond = std::sync::Arc::clone(&respond);
            std::thread::spawn(move || {
                // Read the request head; the body that follows is not needed.
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    line.clear();
                }
                respond(stream);
            });
        }
    });
    url
}

/// A server that answers with a chunked 200 reply of `total` bytes in
/// 1 MiB chunks, without a length, and counts the bytes it managed to send.
fn endless_chunks(total: usize) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::Write;
    use std::sync::atomic::Ordering;
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&sent);
    let url = raw_server(move |mut stream| {
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                    transfer-encoding: chunked\r\n\r\n";
        if stream.write_all(head.as_bytes()).is_err() {
            return;
        }
        let chunk = vec![b' '; 1 << 20];
        let mut written = 0;
        while written < total {
            let size = format!("{:x}\r\n", chunk.len());
            let framed = [size.as_bytes(), &chunk, b"\r\n"];
            if framed.iter().any(|part| stream.write_all(part).is_err()) {
                return;
            }
            written += chunk.len();
            counter.fetch_add(chunk.len(), Ordering::Relaxed);
        }
        let _ = stream.write_all(b"0\r\n\r\n");
    });
    (url, sent)
}

/// A reply that declares a length over the limit fails at once: the
/// server here never sends the body, so a client that waited for it would
/// time out instead.
#[test]
fn a_declared_oversized_length_fails_before_the_body_is_read() {
    use std::io::Write;
    let url = raw_server(|mut stream| {
        let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {OVERSIZED}\r\n\r\n");
        let _ = stream.write_all(head.as_bytes());
        std::thread::sleep(Duration::from_secs(10));
    });
    let generic = GenericHttp::builder(url.as_str())
        .timeout(Duration::from_secs(5))
        .max_retries(0)
        .build()
        .unwrap();
    let err = Provider::complete(&generic, "p", "m").unwrap_err();
    assert!(matches!(err, ProviderError::ReplyTooLarge { .. }), "blocking: {err:?}");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let err = runtime.block_on(AsyncProvider::complete(&generic, "p", "m")).unwrap_err();
    assert!(matches!(err, ProviderError::ReplyTooLarge { .. }), "async: {err:?}");
}

#[test]
fn a_streamed_reply_is_cut_off_at_the_limit() {
    use std::sync::atomic::Ordering;
    let total = 256 << 20;
    let (url, sent) = endless_chunks(total);
    let generic = GenericHttp::builder(url.as_str()).max_retries(0).build().unwrap();
    let err = Provider::complete(&generic, "p", "m").unwrap_err();
    assert!(matches!(err, ProviderError::ReplyTooLarge { .. }), "{err:?}");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let err = runtime.block_on(AsyncProvider::complete(&generic, "p", "m")).unwrap_err();
    assert!(matches!(err, ProviderError::ReplyTooLarge { .. }), "{err:?}");
    // Both calls stopped reading soon after the limit, so the server could
    // not send its whole reply twice (socket buffers hold a few MiB).
    assert!(sent.load(Ordering::Relaxed) < total, "{} bytes sent", sent.load(Ordering::Relaxed));

    // A streamed reply under the limit is read whole.
    let (url, _) = endless_chunks(2 << 20);
    let generic = GenericHttp::builder(url.as_str()).max_retries(0).build().unwrap();
    let err = Provider::complete(&generic, "p", "m").unwrap_err();
    assert!(matches!(err, ProviderError::InvalidJson { .. }), "read to the end: {err:?}");
}
