//! The stamping pipeline end to end with function providers and real SQLite
//! files: every outcome stores one signed record, blocking and async alike.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aistamp::core::{
    PolicyAction, RecordQuery, RecordStore, Severity, Status, StoreError, StoredRecord, sha256_hex,
    verify_record,
};
use aistamp::pii::{CustomPattern, Severity as PiiSeverity};
use aistamp::policy::{PolicyEngine, Rule};
use aistamp::store_sqlite::SqliteStore;
use aistamp::{
    AsyncProvenanceClient, ChatError, ClientError, Config, ProvenanceClient, Stage, from_async_fn,
    from_fn,
};

const SECRET: &str = "pipeline-test-secret-0123456789abcdef";

fn config() -> Config {
    Config::new(SECRET).unwrap()
}

fn block_high_pii() -> PolicyEngine {
    PolicyEngine::builder()
        .rule(Rule::new("block_high_pii", PolicyAction::Block).when_pii_severity(Severity::High))
        .rule(Rule::new("warn_email", PolicyAction::Warn).when_pii_type(["EMAIL"]))
        .build()
        .unwrap()
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: SqliteStore,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_path(dir.path().join("records.db")).unwrap();
    Fixture { _dir: dir, store }
}

fn stored(store: &SqliteStore, content_id: &str) -> StoredRecord {
    RecordStore::get(store, content_id).unwrap().expect("the record is stored")
}

fn signature_valid(stored: &StoredRecord) -> bool {
    let key = config().signing_key().clone();
    stored.signature.as_deref().is_some_and(|sig| key.verify(&stored.record, sig))
}

fn count(store: &SqliteStore) -> u64 {
    RecordStore::query(store, &RecordQuery::default()).unwrap().total_count
}

#[test]
fn a_completed_call_stores_a_record_that_verifies() {
    let fx = fixture();
    let model = from_fn(|prompt: &str| Ok::<_, String>(format!("echo: {prompt}")));
    let client = ProvenanceClient::builder(model, config())
        .app_id("app")
        .feature_id("feature")
        .user_id("user")
        .policy(block_high_pii())
        .store(fx.store.clone())
        .build()
        .unwrap();

    let done = client.chat("write to jane@example.com", "m-7").unwrap();
    assert_eq!(done.text, "echo: write to jane@example.com");
    assert_eq!(done.status, Status::Completed);
    let decision = done.policy_decision.clone().unwrap();
    assert_eq!(
        (decision.action, decision.rule_name.as_deref()),
        (PolicyAction::Warn, Some("warn_email"))
    );

    let row = stored(&fx.store, &done.content_id);
    assert_eq!(row.record, done.record);
    assert_eq!(row.signature.as_deref(), Some(done.signature.to_hex().as_str()));
    let record = &row.record;
    assert_eq!(
        (record.app_id.as_str(), record.feature_id.as_str(), record.user_id.as_str()),
        ("app", "feature", "user")
    );
    assert_eq!(record.model, "m-7");
    assert_eq!(record.prompt_hash, sha256_hex("write to jane@example.com"));
    assert_eq!(record.response_hash, Some(sha256_hex(&done.text)));
    assert_eq!((record.prompt_tokens, record.response_tokens), (None, None));
    assert!(record.latency_ms.unwrap().get() > 0.0);
    let pii = record.pii_result.as_ref().unwrap();
    assert_eq!((pii.prompt_matches.len(), pii.response_matches.len()), (1, 1));

    let check =
        verify_record(&done.content_id, &done.text, &fx.store, config().signing_key()).unwrap();
    assert!(check.verified && check.hmac_valid && !check.drift_detected);
    let check = client.verify(&done.content_id, "echo: something else").unwrap();
    assert!(!check.verified && check.hmac_valid && check.drift_detected);
}

#[test]
fn a_blocked_prompt_is_recorded_and_the_model_is_not_called() {
    let fx = fixture();
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    let model = from_fn(move |p: &str| {
        seen.fetch_add(1, Ordering::SeqCst);
        Ok::<_, String>(p.to_string())
    });
    let client = ProvenanceClient::builder(model, config())
        .app_id("app")
        .feature_id("feature")
        .user_id("user")
        .policy(block_high_pii())
        .store(fx.store.clone())
        .build()
        .unwrap();

    let err = client.chat("my SSN is 123-45-6789", None).unwrap_err();
    assert_eq!(calls.load(Ordering::SeqCst), 0, "the model must not be called");
    let ChatError::Blocked { content_id, decision, stage, record_stored } = &err else {
        panic!("expected a block, got {err:?}");
    };
    assert_eq!((*stage, *record_stored), (Stage::BeforeCall, true));
    assert_eq!(decision.rule_name.as_deref(), Some("block_high_pii"));
    assert!(!err.to_string().contains("123-45-6789"), "{err}");

    let row = stored(&fx.store, content_id);
    assert_eq!(row.record.status, Status::Blocked);
    assert_eq!(row.record.model, "unknown", "a function provider's default model");
    assert_eq!((row.record.response_hash.as_ref(), row.record.latency_ms), (None, None));
    assert_eq!(row.record.policy_decision.as_ref(), Some(decision));
    assert_eq!(row.record.pii_result.as_ref().unwrap().highest_severity, Some(Severity::High));
    assert!(signature_valid(&row));
}

#[test]
fn a_blocked_response_is_recorded_with_its_hash() {
    let fx = fixture();
    let leak = "the key is sk-proj-abcdefghijklmnopqrstuvwxyz0123456789ABCD";
    let model = from_fn(move |_: &str| Ok::<_, String>(leak.to_string()));
    let client = ProvenanceClient::builder(model, config())
        .app_id("app")
        .feature_id("feature")
        .user_id("user")
        .policy(block_high_pii())
        .store(fx.store.clone())
        .build()
        .unwrap();

    let err = client.chat("what is the key?", "m").unwrap_err();
    assert!(
        matches!(err, ChatError::Blocked { stage: Stage::AfterCall, record_stored: true, .. }),
        "{err:?}"
    );
    let row = stored(&fx.store, err.content_id().unwrap());
    assert_eq!(row.record.status, Status::Blocked);
    assert_eq!(row.record.response_hash, Some(sha256_hex(leak)));
    assert!(row.record.latency_ms.is_some());
    let pii = row.record.pii_result.as_ref().unwrap();
    assert_eq!(pii.response_matches[0].pattern_name, "API_KEY");
    assert!(!pii.response_matches[0].redacted_snippet.contains("sk-proj"));
    assert_eq!(err.decision().unwrap().action, PolicyAction::Block);
    assert!(signature_valid(&row));
}

#[test]
fn a_failed_model_call_stores_an_error_record() {
    let fx = fixture();
    let model = from_fn(|_: &str| Err::<String, _>("quota exhausted"));
    let client = ProvenanceClient::builder(model, config())
        .app_id("app")
        .feature_id("feature")
        .user_id("user")
        .store(fx.store.clone())
        .build()
        .unwrap();

    let err = client.chat("hello", "m").unwrap_err();
    let ChatError::Model { content_id, source, record_stored: true } = &err else {
        panic!("expected a model error, got {err:?}");
    };
    assert_eq!(source.to_string(), "model function failed: quota exhausted");
    let row = stored(&fx.store, content_id);
    assert_eq!(row.record.status, Status::Error);
    assert_eq!(
        (row.record.response_hash.as_ref(), row.record.policy_decision.as_ref()),
        (None, None)
    );
    assert!(signature_valid(&row));
}

#[test]
fn blank_prompts_are_refused_and_not_recorded() {
    let fx = fixture();
    let model = from_fn(|p: &str| Ok::<_, String>(p.to_string()));
    let client = ProvenanceClient::builder(model, config())
        .app_id("a")
        .feature_id("f")
        .user_id("u")
        .store(fx.store.clone())
        .build()
        .unwrap();
    for prompt in ["", "  \n\t "] {
        assert!(matches!(client.chat(prompt, "m"), Err(ChatError::EmptyPrompt)));
    }
    assert_eq!(count(&fx.store), 0);
}

#[test]
fn a_completed_record_that_cannot_be_stored_withholds_the_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.db");
    let store = SqliteStore::open_path(&path).unwrap();
    let model = from_fn(|p: &str| Ok::<_, String>(p.to_string()));
    let client = ProvenanceClient::builder(model, config())
        .app_id("a")
        .feature_id("f")
        .user_id("u")
        .policy(block_high_pii())
        .store(store)
        .build()
        .unwrap();
    // Break the database under the store: its table is gone.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
    conn.execute_batch("DROP TABLE provenance_records").unwrap();
    drop(conn);

    let err = client.chat("hello", "m").unwrap_err();
    let ChatError::Store { content_id, source } = &err else {
        panic!("expected a store error, got {err:?}");
    };
    assert_eq!(content_id.len(), 36);
    assert!(!matches!(source, StoreError::DuplicateContentId { .. }), "{source:?}");

    // A blocked call still reports the block; the lost record is logged.
    let err = client.chat("SSN 123-45-6789", "m").unwrap_err();
    assert!(matches!(err, ChatError::Blocked { record_stored: false, .. }), "{err:?}");
}

#[test]
fn the_default_store_is_the_sqlite_file_the_config_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested-name.db");
    let config = config().with_database_url(format!("sqlite:///{}", path.display()));
    let model = from_fn(|p: &str| Ok::<_, String>(p.to_uppercase())).with_default_model("shout-1");
    let client = ProvenanceClient::builder(model, config)
        .app_id("a")
        .feature_id("f")
        .user_id("u")
        .build()
        .unwrap();
    assert!(path.exists(), "the database is created when the client is built");
    let done = client.chat("hi", None).unwrap();
    assert_eq!((done.text.as_str(), done.record.model.as_str()), ("HI", "shout-1"));
    let done = client.chat("hi", "").unwrap();
    assert_eq!(done.record.model, "shout-1", "an empty model name means the default");
    assert!(client.verify(&done.content_id, "HI").unwrap().verified);
    assert_eq!(client.store().query(&RecordQuery::default()).unwrap().total_count, 2);
}

#[test]
fn build_errors_name_what_is_wrong() {
    let model = || from_fn(|p: &str| Ok::<_, String>(p.to_string()));
    let err = ProvenanceClient::builder(model(), config())
        .app_id("a")
        .feature_id("f")
        .build()
        .unwrap_err();
    assert_eq!(err.to_string(), "missing user_id: set it on the client builder");

    let bad = CustomPattern::new("BROKEN", "(unclosed", PiiSeverity::High);
    let err = ProvenanceClient::builder(model(), config())
        .app_id("a")
        .feature_id("f")
        .user_id("u")
        .pii_patterns([bad])
        .build()
        .unwrap_err();
    assert!(matches!(err, ClientError::Pattern(_)), "{err:?}");
    assert!(err.to_string().contains("BROKEN"), "{err}");

    let config = config().with_database_url("mysql://user:hunter2@db/records");
    let err = ProvenanceClient::builder(model(), config)
        .app_id("a")
        .feature_id("f")
        .user_id("u")
        .build()
        .unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[test]
fn extra_patterns_and_other_users_are_recorded() {
    let fx = fixture();
    let model = from_fn(|_: &str| Ok::<_, String>("badge EMP-004211 issued".to_string()));
    let employee = CustomPattern::new("EMPLOYEE_ID", r"EMP-\d{6}", PiiSeverity::Medium);
    let client = ProvenanceClient::builder(model, config())
        .app_id("a")
        .feature_id("f")
        .user_id("u")
        .pii_patterns([employee])
        .store(fx.store.clone())
        .build()
        .unwrap();
    let done = client.for_user("someone-else").chat("issue a badge", "m").unwrap();
    let record = stored(&fx.store, &done.content_id).record;
    assert_eq!(record.user_id, "someone-else");
    let pii = record.pii_result.unwrap();
    assert_eq!(pii.response_matches[0].pattern_name, "EMPLOYEE_ID");
    assert_eq!(pii.response_matches[0].severity, Severity::Medium);
    assert_eq!(pii.response_matches[0].redacted_snippet, "badge [REDACTED] issued");
}

#[test]
fn threads_share_one_client() {
    let fx = fixture();
    let model = from_fn(|p: &str| Ok::<_, String>(p.to_string()));
    let client = ProvenanceClient::builder(model, config())
        .app_id("a")
        .feature_id("f")
        .user_id("u")
        .store(fx.store.clone())
        .build()
        .unwrap();
    std::thread::scope(|scope| {
        for t in 0..4 {
            let client = client.clone();
            scope.spawn(move || {
                for i in 0..25 {
                    client.chat(&format!("thread {t} call {i}"), "m").unwrap();
                }
            });
        }
    });
    assert_eq!(count(&fx.store), 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_async_client_runs_the_same_pipeline() {
    let fx = fixture();
    let model = from_async_fn(|prompt: String| async move {
        tokio::task::yield_now().await;
        if prompt.contains("fail") {
            Err("refused".to_string())
        } else {
            Ok(format!("async: {prompt}"))
        }
    });
    let client = AsyncProvenanceClient::builder(model, config())
        .app_id("app")
        .feature_id("feature")
        .user_id("user")
        .policy(block_high_pii())
        .store(fx.store.clone())
        .build()
        .await
        .unwrap();

    let done = client.chat("hello", "m-async").await.unwrap();
    assert_eq!(done.text, "async: hello");
    assert!(client.verify(&done.content_id, &done.text).await.unwrap().verified);
    let row = stored(&fx.store, &done.content_id);
    assert_eq!((row.record.status, row.record.model.as_str()), (Status::Completed, "m-async"));

    let err = client.chat("card 4111 1111 1111 1111", None).await.unwrap_err();
    assert!(matches!(err, ChatError::Blocked { stage: Stage::BeforeCall, .. }), "{err:?}");
    assert_eq!(stored(&fx.store, err.content_id().unwrap()).record.status, Status::Blocked);

    let err = client.chat("please fail", None).await.unwrap_err();
    assert!(matches!(err, ChatError::Model { record_stored: true, .. }), "{err:?}");
    let row = stored(&fx.store, err.content_id().unwrap());
    assert_eq!(row.record.status, Status::Error);
    assert!(signature_valid(&row));

    assert!(matches!(client.chat(" ", None).await, Err(ChatError::EmptyPrompt)));

    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let client = client.for_user(format!("user-{i}"));
            tokio::spawn(async move {
                client.chat(&format!("task {i}"), None).await.map(|s| s.content_id)
            })
        })
        .collect();
    for task in tasks {
        let id = task.await.unwrap().unwrap();
        assert!(signature_valid(&stored(&fx.store, &id)));
    }
    assert_eq!(count(&fx.store), 35);
}

#[tokio::test]
async fn the_async_client_opens_the_default_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("async.db");
    let config = config().with_database_url(format!("sqlite:///{}", path.display()));
    let model = from_fn(|p: &str| Ok::<_, String>(p.to_string()));
    let client = AsyncProvenanceClient::builder(model, config)
        .app_id("a")
        .feature_id("f")
        .user_id("u")
        .build()
        .await
        .unwrap();
    let done = client.chat("sync function, async client", None).await.unwrap();
    assert!(path.exists());
    assert!(client.verify(&done.content_id, &done.text).await.unwrap().verified);
    let err = client.verify("no-such-id", "x").await.unwrap_err();
    assert_eq!(err.to_string(), "no provenance record found for content id 'no-such-id'");
}
