//! Both clients with a `postgres://` URL in the configuration: the store is
//! opened and migrated on build, and the records verify. Runs against a
//! throwaway PostgreSQL server, one fresh database per test.

use aistamp::core::{PolicyAction, RecordQuery, Severity, Status};
use aistamp::policy::{PolicyEngine, Rule};
use aistamp::{AsyncProvenanceClient, ChatError, Config, ProvenanceClient, from_fn};

const SECRET: &str = "postgres-client-secret-0123456789abcdef";

fn policy() -> PolicyEngine {
    PolicyEngine::builder()
        .rule(Rule::new("block_high_pii", PolicyAction::Block).when_pii_severity(Severity::High))
        .build()
        .unwrap()
}

#[test]
fn the_blocking_client_stamps_into_postgres() {
    let url = aistamp_testkit::fresh_database();
    let config = Config::new(SECRET).unwrap().with_database_url(&url);
    let model = from_fn(|p: &str| Ok::<_, String>(format!("pg: {p}")));
    let client = ProvenanceClient::builder(model, config)
        .app_id("a")
        .feature_id("f")
        .user_id("u")
        .policy(policy())
        .build()
        .unwrap();

    let done = client.chat("hello postgres", "m").unwrap();
    assert!(client.verify(&done.content_id, "pg: hello postgres").unwrap().verified);
    let err = client.chat("SSN 123-45-6789", "m").unwrap_err();
    assert!(matches!(err, ChatError::Blocked { record_stored: true, .. }), "{err:?}");

    let page = client.store().query(&RecordQuery::default()).unwrap();
    assert_eq!(page.total_count, 2);
    let statuses: Vec<Status> = page.records.iter().map(|r| r.record.status).collect();
    assert_eq!(statuses, [Status::Completed, Status::Blocked]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_async_client_stamps_into_postgres() {
    let url = tokio::task::spawn_blocking(aistamp_testkit::fresh_database).await.unwrap();
    let config =
        Config::new(SECRET).unwrap().with_database_url(url.replace("postgres://", "postgresql://"));
    let model = from_fn(|p: &str| Ok::<_, String>(p.chars().rev().collect()));
    let client = AsyncProvenanceClient::builder(model, config)
        .app_id("a")
        .feature_id("f")
        .user_id("u")
        .build()
        .await
        .unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move { client.chat(&format!("call {i}"), None).await.unwrap() })
        })
        .collect();
    for task in tasks {
        let done = task.await.unwrap();
        assert!(client.verify(&done.content_id, &done.text).await.unwrap().verified);
    }
}
