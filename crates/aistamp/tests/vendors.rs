//! Both clients against real HTTP servers on 127.0.0.1 speaking the OpenAI,
//! Anthropic and generic JSON wire formats, checking the record each call
//! stores: status, hashes, tokens, decision and signature.

use std::time::Duration;

use aistamp::core::{
    PolicyAction, RecordStore, Severity, Status, StoredRecord, sha256_hex, verify_record,
};
use aistamp::policy::{PolicyEngine, Rule};
use aistamp::providers::{Anthropic, GenericHttp, OpenAi, RetryPolicy};
use aistamp::store_sqlite::SqliteStore;
use aistamp::{AsyncProvenanceClient, ChatError, Config, ProvenanceClient, ProviderError, Stage};
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "vendor-test-secret-0123456789abcdef";
const KEY: &str = "sk-vendor-test-key-do-not-leak-0123";

#[derive(Clone, Copy, Debug)]
enum Vendor {
    OpenAi,
    Anthropic,
    Generic,
}

const ALL: [Vendor; 3] = [Vendor::OpenAi, Vendor::Anthropic, Vendor::Generic];

impl Vendor {
    fn reply(self, text: &str) -> Value {
        match self {
            Vendor::OpenAi => json!({
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}],
                "usage": {"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16}
            }),
            Vendor::Anthropic => json!({
                "type": "message", "content": [{"type": "text", "text": text}],
                "usage": {"input_tokens": 11, "output_tokens": 5}
            }),
            Vendor::Generic => json!({"text": text, "prompt_tokens": 11, "response_tokens": 5}),
        }
    }

    /// A successful reply without token counts.
    fn bare_reply(self, text: &str) -> Value {
        match self {
            Vendor::OpenAi => {
                json!({"choices": [{"message": {"role": "assistant", "content": text}}]})
            }
            Vendor::Anthropic => json!({"content": [{"type": "text", "text": text}]}),
            Vendor::Generic => json!({"response": text}),
        }
    }

    fn default_model(self) -> &'static str {
        match self {
            Vendor::OpenAi => "gpt-4o",
            Vendor::Anthropic => "claude-3-5-sonnet-20241022",
            Vendor::Generic => "unknown",
        }
    }
}

/// Runs `body` with `vendor`'s provider pointed at `server`; without a
/// retry policy and timeout the provider never retries and waits 5 s.
macro_rules! with_provider {
    ($vendor:expr, $server:expr, |$p:ident| $body:expr) => {
        with_provider!($vendor, $server, RetryPolicy::none(), Duration::from_secs(5), |$p| $body)
    };
    ($vendor:expr, $server:expr, $retry:expr, $timeout:expr, |$p:ident| $body:expr) => {{
        let (retry, timeout) = ($retry, $timeout);
        let base = $server.uri();
        match $vendor {
            Vendor::OpenAi => {
                let $p = OpenAi::builder()
                    .base_url(&base)
                    .api_key(KEY)
                    .retry(retry)
                    .timeout(timeout)
                    .build()
                    .unwrap();
                $body
            }
            Vendor::Anthropic => {
                let $p = Anthropic::builder()
                    .base_url(&base)
                    .api_key(KEY)
                    .retry(retry)
                    .timeout(timeout)
                    .build()
                    .unwrap();
                $body
            }
            Vendor::Generic => {
                let $p = GenericHttp::builder(format!("{base}/generate"))
                    .header("authorization", format!("Bearer {KEY}"))
                    .retry(retry)
                    .timeout(timeout)
                    .build()
                    .unwrap();
                $body
            }
        }
    }};
}

fn policy() -> PolicyEngine {
    PolicyEngine::builder()
        .rule(Rule::new("block_high_pii", PolicyAction::Block).when_pii_severity(Severity::High))
        .build()
        .unwrap()
}

fn signature_valid(stored: &StoredRecord) -> bool {
    let key = Config::new(SECRET).unwrap().signing_key().clone();
    stored.signature.as_deref().is_some_and(|sig| key.verify(&stored.record, sig))
}

fn get(store: &SqliteStore, content_id: &str) -> StoredRecord {
    RecordStore::get(store, content_id).unwrap().expect("the record is stored")
}

async fn server_answering(status: u16, body: Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(&server)
        .await;
    server
}

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.map_or(0, |r| r.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_calls_to_each_vendor_are_stamped() {
    for vendor in ALL {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_path(dir.path().join("r.db")).unwrap();
        let server = server_answering(200, vendor.reply("The capital is Paris.")).await;
        let done = with_provider!(vendor, server, |provider| {
            let client = AsyncProvenanceClient::builder(provider, Config::new(SECRET).unwrap())
                .app_id("geo")
                .feature_id("quiz")
                .user_id("u-1")
                .policy(policy())
                .store(store.clone())
                .build()
                .await
                .unwrap();
            client.chat("What is the capital of France?", None).await.unwrap()
        });

        let row = get(&store, &done.content_id);
        let record = &row.record;
        assert_eq!(done.text, "The capital is Paris.", "{vendor:?}");
        assert_eq!(record.status, Status::Completed);
        assert_eq!(record.model, vendor.default_model());
        assert_eq!(record.prompt_hash, sha256_hex("What is the capital of France?"));
        assert_eq!(record.response_hash, Some(sha256_hex("The capital is Paris.")));
        assert_eq!((record.prompt_tokens, record.response_tokens), (Some(11), Some(5)));
        let decision = record.policy_decision.as_ref().unwrap();
        assert_eq!((decision.action, decision.rule_name.as_ref()), (PolicyAction::Allow, None));
        let key = Config::new(SECRET).unwrap();
        let check = verify_record(&done.content_id, &done.text, &store, key.signing_key()).unwrap();
        assert!(check.verified, "{vendor:?}: {check:?}");
    }
}

#[test]
fn blocking_calls_to_each_vendor_are_stamped() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for vendor in ALL {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_path(dir.path().join("r.db")).unwrap();
        let server = runtime.block_on(server_answering(200, vendor.reply("Bonjour")));
        let done = with_provider!(vendor, server, |provider| {
            let client = ProvenanceClient::builder(provider, Config::new(SECRET).unwrap())
                .app_id("a")
                .feature_id("f")
                .user_id("u")
                .store(store.clone())
                .build()
                .unwrap();
            client.chat("Say hello in French", "model-x").unwrap()
        });
        let row = get(&store, &done.content_id);
        assert_eq!((row.record.status, row.record.model.as_str()), (Status::Completed, "model-x"));
        assert_eq!((row.record.prompt_tokens, row.record.response_tokens), (Some(11), Some(5)));
        assert_eq!(row.record.policy_decision, None, "{vendor:?}: no policy, no decision");
        assert_eq!(row.record.response_hash, Some(sha256_hex("Bonjour")));
        assert!(signature_valid(&row), "{vendor:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_prompt_sends_no_request() {
    for vendor in ALL {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_path(dir.path().join("r.db")).unwrap();
        let server = server_answering(200, vendor.reply("never sent")).await;
        let err = with_provider!(vendor, server, |provider| {
            let client = AsyncProvenanceClient::builder(provider, Config::new(SECRET).unwrap())
                .app_id("a")
                .feature_id("f")
                .user_id("u")
                .policy(policy())
                .store(store.clone())
                .build()
                .await
                .unwrap();
            client.chat("my SSN is 123-45-6789, summarize my file", None).await.unwrap_err()
        });
        assert_eq!(requests(&server).await, 0, "{vendor:?}: the server must see no request");
        assert!(matches!(
            err,
            ChatError::Blocked { stage: Stage::BeforeCall, record_stored: true, .. }
        ));
        let row = get(&store, err.content_id().unwrap());
        assert_eq!((row.record.status, row.record.response_hash.as_ref()), (Status::Blocked, None));
        assert_eq!(row.record.policy_decision.as_ref(), err.decision());
        assert!(signature_valid(&row));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_response_stores_its_hash() {
    let leak = "Sure: the card is 4111 1111 1111 1111.";
    for vendor in ALL {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_path(dir.path().join("r.db")).unwrap();
        let server = server_answering(200, vendor.reply(leak)).await;
        let err = with_provider!(vendor, server, |provider| {
            let client = AsyncProvenanceClient::builder(provider, Config::new(SECRET).unwrap())
                .app_id("a")
                .feature_id("f")
                .user_id("u")
                .policy(policy())
                .store(store.clone())
                .build()
                .await
                .unwrap();
            client.chat("which card is on file?", None).await.unwrap_err()
        });
        assert!(matches!(err, ChatError::Blocked { stage: Stage::AfterCall, .. }), "{err:?}");
        assert!(!err.to_string().contains("4111"), "{err}");
        let row = get(&store, err.content_id().unwrap());
        assert_eq!(row.record.status, Status::Blocked);
        assert_eq!(row.record.response_hash, Some(sha256_hex(leak)));
        assert_eq!((row.record.prompt_tokens, row.record.response_tokens), (Some(11), Some(5)));
        assert!(signature_valid(&row), "{vendor:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_call_stores_an_error_record_without_the_key() {
    for vendor in ALL {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_path(dir.path().join("r.db")).unwrap();
        let body = json!({"error": {"type": "api_error", "message": format!("bad key {KEY}")}});
        let server = server_answering(500, body).await;
        let err = with_provider!(vendor, server, |provider| {
            let client = AsyncProvenanceClient::builder(provider, Config::new(SECRET).unwrap())
                .app_id("a")
                .feature_id("f")
                .user_id("u")
                .store(store.clone())
                .build()
                .await
                .unwrap();
            client.chat("hello", None).await.unwrap_err()
        });
        let ChatError::Model { content_id, source, record_stored: true } = &err else {
            panic!("{vendor:?}: expected a model error, got {err:?}");
        };
        assert_eq!(source.status(), Some(500));
        assert!(!format!("{err} {err:?}").contains(KEY), "{err}");
        let row = get(&store, content_id);
        assert_eq!((row.record.status, row.record.response_hash.as_ref()), (Status::Error, None));
        assert!(signature_valid(&row));
    }
}

/// What the loopback server does in one scenario.
#[derive(Clone, Copy, Debug)]
enum Scenario {
    UsageMissing,
    Unauthorized,
    RateLimitedOnce,
    ServerErrorAlways,
    TooSlow,
    MalformedJson,
}

async fn scenario_server(vendor: Vendor, scenario: Scenario) -> MockServer {
    let server = MockServer::start().await;
    let error = json!({"error": {"type": "x_error", "message": "refused"}});
    let reply = match scenario {
        Scenario::UsageMissing => {
            ResponseTemplate::new(200).set_body_json(vendor.bare_reply("fine"))
        }
        Scenario::Unauthorized => ResponseTemplate::new(401).set_body_json(error),
        Scenario::RateLimitedOnce => {
            Mock::given(method("POST"))
                .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
                .up_to_n_times(1)
                .with_priority(1)
                .mount(&server)
                .await;
            ResponseTemplate::new(200).set_body_json(vendor.reply("fine"))
        }
        Scenario::ServerErrorAlways => ResponseTemplate::new(503).set_body_json(error),
        Scenario::TooSlow => ResponseTemplate::new(200)
            .set_body_json(vendor.reply("late"))
            .set_delay(Duration::from_secs(3)),
        Scenario::MalformedJson => ResponseTemplate::new(200).set_body_string("{\"choices\": ["),
    };
    Mock::given(method("POST")).respond_with(reply).mount(&server).await;
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_wire_outcome_stores_a_signed_record() {
    let scenarios = [
        Scenario::UsageMissing,
        Scenario::Unauthorized,
        Scenario::RateLimitedOnce,
        Scenario::ServerErrorAlways,
        Scenario::TooSlow,
        Scenario::MalformedJson,
    ];
    let retry = RetryPolicy { initial_backoff: Duration::from_millis(5), ..RetryPolicy::default() };
    for vendor in ALL {
        for scenario in scenarios {
            let dir = tempfile::tempdir().unwrap();
            let store = SqliteStore::open_path(dir.path().join("r.db")).unwrap();
            let server = scenario_server(vendor, scenario).await;
            let outcome = with_provider!(vendor, server, retry, Duration::from_millis(300), |p| {
                let client = AsyncProvenanceClient::builder(p, Config::new(SECRET).unwrap())
                    .app_id("a")
                    .feature_id("f")
                    .user_id("u")
                    .policy(policy())
                    .store(store.clone())
                    .build()
                    .await
                    .unwrap();
                client.chat("hello", None).await
            });
            let case = format!("{vendor:?} {scenario:?}");
            let content_id = match &outcome {
                Ok(done) => done.content_id.clone(),
                Err(err) => err.content_id().unwrap().to_string(),
            };
            let row = get(&store, &content_id);
            let record = &row.record;
            assert!(signature_valid(&row), "{case}");
            assert_eq!(record.prompt_hash, sha256_hex("hello"), "{case}");
            assert_eq!(
                record.policy_decision.as_ref().unwrap().action,
                PolicyAction::Allow,
                "{case}"
            );
            let sent = requests(&server).await;
            match scenario {
                Scenario::UsageMissing | Scenario::RateLimitedOnce => {
                    let done = outcome.unwrap();
                    assert_eq!(record.status, Status::Completed, "{case}");
                    assert_eq!(record.response_hash, Some(sha256_hex(&done.text)), "{case}");
                    let tokens = (record.prompt_tokens, record.response_tokens);
                    let expected = match scenario {
                        Scenario::UsageMissing => (None, None),
                        _ => (Some(11), Some(5)),
                    };
                    assert_eq!(tokens, expected, "{case}");
                    let expected_requests =
                        if matches!(scenario, Scenario::RateLimitedOnce) { 2 } else { 1 };
                    assert_eq!(sent, expected_requests, "{case}");
                }
                _ => {
                    let err = outcome.unwrap_err();
                    let ChatError::Model { source, record_stored: true, .. } = &err else {
                        panic!("{case}: expected a model error, got {err:?}");
                    };
                    assert_eq!(record.status, Status::Error, "{case}");
                    assert_eq!(
                        (record.response_hash.as_ref(), record.latency_ms),
                        (None, None),
                        "{case}"
                    );
                    let (kind_ok, expected_requests) = match scenario {
                        Scenario::Unauthorized => (source.status() == Some(401), 1),
                        Scenario::ServerErrorAlways => (source.status() == Some(503), 3),
                        Scenario::TooSlow => (matches!(source, ProviderError::Timeout { .. }), 1),
                        _ => (matches!(source, ProviderError::InvalidJson { .. }), 1),
                    };
                    assert!(kind_ok, "{case}: {source:?}");
                    assert_eq!(sent, expected_requests, "{case}");
                    assert!(!format!("{err} {err:?}").contains(KEY), "{case}");
                }
            }
        }
    }
}
