//! Provenance and audit records for AI-generated content: sign, store and
//! verify every LLM call.
//!
//! Wrap a model in a [`ProvenanceClient`] (blocking) or an
//! [`AsyncProvenanceClient`], and every call leaves a signed record in a
//! store, whatever happens to the call: who asked (app, feature, user),
//! which model answered, SHA-256 hashes of the prompt and the response
//! (never the text), token counts, latency, time, the PII found and the
//! policy's decision. Later, anyone with the key can check that a text is
//! the one a record stands for and that the record is unchanged.
//!
//! # Example
//!
//! ```
//! use aistamp::{Config, ProvenanceClient, from_fn};
//!
//! # let dir = tempfile::tempdir()?;
//! # let url = format!("sqlite:///{}", dir.path().join("aistamp.db").display());
//! let config = Config::new("a-secret-of-at-least-32-bytes-0123456789")?
//!     .with_database_url(url); // default: sqlite:///./aistamp.db
//! let model = from_fn(|prompt: &str| Ok::<_, String>(format!("echo: {prompt}")));
//! let client = ProvenanceClient::builder(model, config)
//!     .app_id("my_app")
//!     .feature_id("summarizer")
//!     .user_id("user_42")
//!     .build()?;
//!
//! let stamped = client.chat("Summarize our Q3 report", "my-model")?;
//! assert_eq!(stamped.text, "echo: Summarize our Q3 report");
//!
//! // Keep the content id with the text; verify it later.
//! let check = client.verify(&stamped.content_id, &stamped.text)?;
//! assert!(check.verified);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! With the `providers` feature, `providers::OpenAi`, `providers::Anthropic`
//! and `providers::GenericHttp` are providers too:
//!
//! ```no_run
//! # #[cfg(feature = "providers")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use aistamp::policy::PolicyEngine;
//! use aistamp::providers::OpenAi;
//! use aistamp::{Config, ProvenanceClient};
//!
//! let openai = OpenAi::from_env()?; // OPENAI_API_KEY
//! let client = ProvenanceClient::builder(openai, Config::from_env()?) // AISTAMP_SECRET_KEY
//!     .app_id("my_app")
//!     .feature_id("chat")
//!     .user_id("user_42")
//!     .policy(PolicyEngine::from_yaml_file("policy.yaml")?)
//!     .build()?;
//! let answer = client.chat("Hello", None)?; // None: the provider's default model, gpt-4o
//! println!("{} (content id {})", answer.text, answer.content_id);
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "providers"))]
//! # fn main() {}
//! ```
//!
//! # What a call does
//!
//! [`chat`](ProvenanceClient::chat) runs ai-stamp 0.1.0's pipeline, the same
//! steps for both clients:
//!
//! 1. A prompt that is empty or only whitespace is refused
//!    ([`ChatError::EmptyPrompt`]); nothing is recorded.
//! 2. The record is opened (a new content id, the prompt's hash, the time)
//!    and the latency clock starts.
//! 3. The prompt is scanned for PII and the policy, if any, decides. On
//!    BLOCK a `BLOCKED` record is stored, the model is **not** called, and
//!    [`ChatError::Blocked`] carries the content id and the decision.
//! 4. The model is called. On failure an `ERROR` record is stored and
//!    [`ChatError::Model`] carries the content id and the provider's error.
//! 5. The response is hashed, the latency taken (from step 2 to here, in
//!    milliseconds), the response scanned and the policy asked again. On
//!    BLOCK a `BLOCKED` record with the response hash is stored and the
//!    text withheld.
//! 6. Otherwise a `COMPLETED` record is signed and stored and the text
//!    comes back as [`Stamped`], with its content id.
//!
//! A `BLOCKED` or `ERROR` record that cannot be stored is logged (a
//! `tracing` warning) and the call's own error returned, with
//! `record_stored: false`. A `COMPLETED` record that cannot be stored is an
//! error ([`ChatError::Store`]): no text leaves the client unrecorded.
//!
//! Unlike ai-stamp, `chat` returns the content id with the text, so that the
//! caller can verify the text later.
//!
//! # Stores
//!
//! Without [`ClientBuilder::store`], the client opens the store that the
//! configuration's database URL names: an SQLite file (created with its
//! table on first use) for `sqlite:///path`, PostgreSQL for `postgres://`
//! and `postgresql://` with the `postgres` feature. Any
//! [`RecordStore`](core::RecordStore) (blocking) or
//! [`AsyncRecordStore`](core::AsyncRecordStore) works.
//!
//! # Features
//!
//! | feature | adds |
//! |---|---|
//! | `sqlite` (default) | `store_sqlite`, SQLite URLs as the default store |
//! | `postgres` | `store_pg`, PostgreSQL URLs as the default store |
//! | `providers` | the HTTP providers in [`providers`]: OpenAI, Anthropic, generic JSON |
//!
//! The PII scanner ([`pii`]) and the policy engine ([`policy`]) are always
//! part of the client; without `providers`, [`providers`] still holds the
//! provider traits and [`from_fn`] / [`from_async_fn`].
#![deny(missing_docs)]

mod client;
mod error;
mod pipeline;
mod store;

pub use client::{
    AsyncClientBuilder, AsyncProvenanceClient, ClientBuilder, ProvenanceClient, Stamped,
};
pub use error::{ChatError, ClientError, Stage};

/// Records, signing, configuration and the store interface.
pub use aistamp_core as core;
/// The PII scanner.
pub use aistamp_pii as pii;
/// The policy engine.
pub use aistamp_policy as policy;
/// Model providers: the traits and function providers, and with the
/// `providers` feature OpenAI, Anthropic and generic JSON over HTTP.
pub use aistamp_providers as providers;
/// The PostgreSQL store.
#[cfg(feature = "postgres")]
pub use aistamp_store_pg as store_pg;
/// The SQLite store.
#[cfg(feature = "sqlite")]
pub use aistamp_store_sqlite as store_sqlite;

pub use aistamp_core::{Config, Record, Status, VerificationResult};
pub use aistamp_providers::{
    AsyncProvider, Completion, Provider, ProviderError, from_async_fn, from_fn,
};
