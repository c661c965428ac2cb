//! The two clients, [`ProvenanceClient`] (blocking) and
//! [`AsyncProvenanceClient`], and their builders. Both run the steps of
//! `pipeline.rs`; they differ only in how they wait for the model and the
//! store.

use std::fmt;
use std::sync::Arc;

use aistamp_core::{
    Config, PolicyDecision, Record, RecordStore, Signature, Status, VerificationResult,
    VerifyError, verify_record, verify_stored,
};
use aistamp_pii::{CustomPattern, Scanner};
use aistamp_policy::PolicyEngine;
use aistamp_providers::{AsyncProvider, Provider};

use crate::error::{ChatError, ClientError};
use crate::pipeline::Stamper;
use crate::store::{DynAsyncStore, open_async, open_blocking};

/// A stamped call: the model's text, and the signed `COMPLETED` record
/// that now stands for it in the store.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Stamped {
    /// The record's content id: keep it to verify the text later.
    pub content_id: String,
    /// The model's response text.
    pub text: String,
    /// The record's status, `COMPLETED`.
    pub status: Status,
    /// The policy's decision on the response (ALLOW or WARN), `None`
    /// without a policy.
    pub policy_decision: Option<PolicyDecision>,
    /// The record as stored: hashes, tokens, latency, PII matches.
    pub record: Record,
    /// The record's signature.
    pub signature: Signature,
}

/// The settings both builders share.
#[derive(Debug)]
struct Settings {
    config: Config,
    app_id: Option<String>,
    feature_id: Option<String>,
    user_id: Option<String>,
    policy: Option<Arc<PolicyEngine>>,
    patterns: Vec<CustomPattern>,
}

impl Settings {
    fn new(config: Config) -> Settings {
        Settings {
            config,
            app_id: None,
            feature_id: None,
            user_id: None,
            policy: None,
            patterns: Vec::new(),
        }
    }

    fn stamper(self) -> Result<(Stamper, Config), ClientError> {
        let scanner = if self.patterns.is_empty() {
            Scanner::new()
        } else {
            Scanner::builder().add_patterns(self.patterns).build()?
        };
        let stamper = Stamper {
            key: self.config.signing_key().clone(),
            app_id: self.app_id.ok_or(ClientError::MissingId("app_id"))?,
            feature_id: self.feature_id.ok_or(ClientError::MissingId("feature_id"))?,
            user_id: self.user_id.ok_or(ClientError::MissingId("user_id"))?,
            policy: self.policy,
            scanner,
        };
        Ok((stamper, self.config))
    }
}

/// The model to ask: the caller's, unless empty, else the provider's default.
fn resolve_model<'a>(requested: Option<&'a str>, default: &'a str) -> &'a str {
    requested.filter(|m| !m.is_empty()).unwrap_or(default)
}

macro_rules! shared_setters {
    ($builder:ident) => {
        impl<P> $builder<P> {
            /// The calling application's id (required).
            pub fn app_id(mut self, id: impl Into<String>) -> Self {
                self.settings.app_id = Some(id.into());
                self
            }

            /// The id of the feature that makes the calls (required).
            pub fn feature_id(mut self, id: impl Into<String>) -> Self {
                self.settings.feature_id = Some(id.into());
                self
            }

            /// The id of the end user the calls are made for (required).
            pub fn user_id(mut self, id: impl Into<String>) -> Self {
                self.settings.user_id = Some(id.into());
                self
            }

            /// The policy to enforce before and after each model call.
            /// Without one, no call is blocked and records carry no
            /// decision.
            pub fn policy(mut self, policy: impl Into<Arc<PolicyEngine>>) -> Self {
                self.settings.policy = Some(policy.into());
                self
            }

            /// PII patterns to scan for beside the built-in ones.
            pub fn pii_patterns(
                mut self,
                patterns: impl IntoIterator<Item = CustomPattern>,
            ) -> Self {
                self.settings.patterns.extend(patterns);
                self
            }
        }
    };
}

/// Builds a [`ProvenanceClient`]; see [`ProvenanceClient::builder`].
pub struct ClientBuilder<P> {
    provider: P,
    settings: Settings,
    store: Option<Arc<dyn RecordStore>>,
}

shared_setters!(ClientBuilder);

impl<P> ClientBuilder<P> {
    /// The store for the records. Without one, the store the
    /// configuration's database URL names is opened (an SQLite file is
    /// created with its table on first use).
    pub fn store(mut self, store: impl RecordStore + 'static) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// As [`ClientBuilder::store`], for a store shared with other code.
    pub fn shared_store(mut self, store: Arc<dyn RecordStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// The client.
    ///
    /// # Errors
    ///
    /// A missing id, an extra PII pattern that does not compile, or a store
    /// that cannot be opened.
    pub fn build(self) -> Result<ProvenanceClient<P>, ClientError> {
        let (stamper, config) = self.settings.stamper()?;
        let store = match self.store {
            Some(store) => store,
            None => open_blocking(config.database_url())?,
        };
        Ok(ProvenanceClient {
            provider: Arc::new(self.provider),
            store,
            stamper: Arc::new(stamper),
        })
    }
}

impl<P> fmt::Debug for ClientBuilder<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder").field("settings", &self.settings).finish_non_exhaustive()
    }
}

/// Wraps a model and stamps every call with a signed provenance record,
/// from blocking code.
///
/// Each [`chat`](ProvenanceClient::chat) stores exactly one record,
/// whatever happens: `COMPLETED` with the text returned, `BLOCKED` when the
/// policy stops the prompt (the model is not called) or the response, or
/// `ERROR` when the model call fails. The client is cheap to clone and may
/// be shared between threads.
///
/// With an HTTP provider, call it from plain threads, not from inside an
/// async runtime: use [`AsyncProvenanceClient`] there.
pub struct ProvenanceClient<P> {
    provider: Arc<P>,
    store: Arc<dyn RecordStore>,
    stamper: Arc<Stamper>,
}

impl<P> Clone for ProvenanceClient<P> {
    fn clone(&self) -> Self {
        ProvenanceClient {
            provider: Arc::clone(&self.provider),
            store: Arc::clone(&self.store),
            stamper: Arc::clone(&self.stamper),
        }
    }
}

impl<P> fmt::Debug for ProvenanceClient<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProvenanceClient").field("stamper", &self.stamper).finish_non_exhaustive()
    }
}

impl<P: Provider> ProvenanceClient<P> {
    /// A builder for a client of `provider`, signing with `config`'s key.
    pub fn builder(provider: P, config: Config) -> ClientBuilder<P> {
        ClientBuilder { provider, settings: Settings::new(config), store: None }
    }

    /// Asks the model and stamps the call. `model` may be a name, or
    /// `None` (or empty) for the provider's default.
    ///
    /// # Errors
    ///
    /// [`ChatError::EmptyPrompt`] for a blank prompt (nothing is recorded);
    /// [`ChatError::Blocked`] when the policy blocks the prompt or the
    /// response; [`ChatError::Model`] when the model call fails;
    /// [`ChatError::Store`] when the `COMPLETED` record cannot be stored.
    /// All but the first carry the record's content id.
    pub fn chat<'a>(
        &self,
        prompt: &str,
        model: impl Into<Option<&'a str>>,
    ) -> Result<Stamped, ChatError> {
        let model = resolve_model(model.into(), self.provider.default_model());
        let stamper = &self.stamper;
        let mut call = stamper.begin(prompt, model)?;
        if stamper.before_model(&mut call, prompt) {
            let reply = self.provider.complete(prompt, call.model());
            stamper.after_model(&mut call, reply);
        }
        let signed = stamper.sign(&call);
        let signature = signed.signature;
        let written = self.store.write(signed);
        stamper.conclude(call, signature, written)
    }
}

impl<P> ProvenanceClient<P> {
    /// The same client, making calls for another end user.
    pub fn for_user(&self, user_id: impl Into<String>) -> Self {
        let stamper = Stamper { user_id: user_id.into(), ..(*self.stamper).clone() };
        ProvenanceClient { stamper: Arc::new(stamper), ..self.clone() }
    }

    /// Checks `text` against the stored record `content_id`: the response
    /// hash and the signature.
    ///
    /// # Errors
    ///
    /// No such record, or a store failure.
    pub fn verify(&self, content_id: &str, text: &str) -> Result<VerificationResult, VerifyError> {
        verify_record(content_id, text, &*self.store, &self.stamper.key)
    }

    /// The store the records go to.
    pub fn store(&self) -> &dyn RecordStore {
        &*self.store
    }
}

/// Builds an [`AsyncProvenanceClient`]; see
/// [`AsyncProvenanceClient::builder`].
pub struct AsyncClientBuilder<P> {
    provider: P,
    settings: Settings,
    store: Option<Arc<dyn DynAsyncStore>>,
}

shared_setters!(AsyncClientBuilder);

impl<P> AsyncClientBuilder<P> {
    /// The store for the records. Without one, the store the
    /// configuration's database URL names is opened (an SQLite file is
    /// created with its table on first use).
    pub fn store(mut self, store: impl aistamp_core::AsyncRecordStore + 'static) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// The client.
    ///
    /// # Errors
    ///
    /// As [`ClientBuilder::build`].
    pub async fn build(self) -> Result<AsyncProvenanceClient<P>, ClientError> {
        let (stamper, config) = self.settings.stamper()?;
        let store = match self.store {
            Some(store) => store,
            None => open_async(config.database_url()).await?,
        };
        Ok(AsyncProvenanceClient {
            provider: Arc::new(self.provider),
            store,
            stamper: Arc::new(stamper),
        })
    }
}

impl<P> fmt::Debug for AsyncClientBuilder<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncClientBuilder")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Wraps a model and stamps every call with a signed provenance record,
/// from async code on a Tokio runtime. Behaves as [`ProvenanceClient`].
pub struct AsyncProvenanceClient<P> {
    provider: Arc<P>,
    store: Arc<dyn DynAsyncStore>,
    stamper: Arc<Stamper>,
}

impl<P> Clone for AsyncProvenanceClient<P> {
    fn clone(&self) -> Self {
        AsyncProvenanceClient {
            provider: Arc::clone(&self.provider),
            store: Arc::clone(&self.store),
            stamper: Arc::clone(&self.stamper),
        }
    }
}

impl<P> fmt::Debug for AsyncProvenanceClient<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncProvenanceClient")
            .field("stamper", &self.stamper)
            .finish_non_exhaustive()
    }
}

impl<P: AsyncProvider> AsyncProvenanceClient<P> {
    /// A builder for a client of `provider`, signing with `config`'s key.
    pub fn builder(provider: P, config: Config) -> AsyncClientBuilder<P> {
        AsyncClientBuilder { provider, settings: Settings::new(config), store: None }
    }

    /// Asks the model and stamps the call; see [`ProvenanceClient::chat`].
    ///
    /// # Errors
    ///
    /// As [`ProvenanceClient::chat`].
    pub async fn chat<'a>(
        &self,
        prompt: &str,
        model: impl Into<Option<&'a str>>,
    ) -> Result<Stamped, ChatError> {
        let model = resolve_model(model.into(), self.provider.default_model());
        let stamper = &self.stamper;
        let mut call = stamper.begin(prompt, model)?;
        if stamper.before_model(&mut call, prompt) {
            let reply = self.provider.complete(prompt, call.model()).await;
            stamper.after_model(&mut call, reply);
        }
        let signed = stamper.sign(&call);
        let signature = signed.signature;
        let written = self.store.write(signed).await;
        stamper.conclude(call, signature, written)
    }
}

impl<P> AsyncProvenanceClient<P> {
    /// The same client, making calls for another end user.
    pub fn for_user(&self, user_id: impl Into<String>) -> Self {
        let stamper = Stamper { user_id: user_id.into(), ..(*self.stamper).clone() };
        AsyncProvenanceClient { stamper: Arc::new(stamper), ..self.clone() }
    }

    /// Checks `text` against the stored record `content_id`: the response
    /// hash and the signature.
    ///
    /// # Errors
    ///
    /// No such record, or a store failure.
    pub async fn verify(
        &self,
        content_id: &str,
        text: &str,
    ) -> Result<VerificationResult, VerifyError> {
        let stored = self
            .store
            .get(content_id)
            .await?
            .ok_or_else(|| VerifyError::NotFound { content_id: content_id.to_string() })?;
        Ok(verify_stored(&stored, text, &self.stamper.key))
    }
}
