//! LLM providers for aistamp: OpenAI, Anthropic, generic JSON over HTTP and
//! closures, behind one blocking trait ([`Provider`]) and one async trait
//! ([`AsyncProvider`]).
//!
//! A provider turns a prompt and a model name into a [`Completion`]: the
//! response text and, when the vendor reports them, the token counts. The
//! stamping client in the `aistamp` crate wraps any provider and records
//! every call; this crate knows nothing about records.
//!
//! | provider | wire format | key |
//! |---|---|---|
//! | `OpenAi` | `POST {base}/v1/chat/completions` | `OPENAI_API_KEY` |
//! | `Anthropic` | `POST {base}/v1/messages` | `ANTHROPIC_API_KEY` |
//! | `GenericHttp` | `POST {endpoint}` with `{"prompt", "model"}` | headers you set |
//! | [`from_fn`], [`from_async_fn`] | a Rust function | none |
//!
//! The HTTP providers retry rate limits (429), server errors (5xx) and
//! connection failures with exponential backoff and jitter, honouring the
//! server's `Retry-After`, at most `RetryPolicy::max_retries` times (2 by
//! default). Timeouts are not retried. A reply body over 32 MiB is not
//! read: it fails as [`ProviderError::ReplyTooLarge`]. Failures are a typed
//! [`ProviderError`] whose message never contains a key.
//!
//! # Example
//!
//! ```no_run
//! use aistamp_providers::{OpenAi, Provider};
//!
//! let openai = OpenAi::from_env()?; // reads OPENAI_API_KEY
//! let done = openai.complete("Say hello", openai.default_model())?;
//! println!("{} ({:?} tokens)", done.text, done.response_tokens);
//! # Ok::<(), aistamp_providers::ProviderError>(())
//! ```
//!
//! Any OpenAI-compatible server (vLLM, llama.cpp, Ollama) works by its base
//! URL, and a closure is a provider too:
//!
//! ```
//! use aistamp_providers::{OpenAi, Provider, from_fn};
//!
//! let local = OpenAi::builder().base_url("http://127.0.0.1:11434").api_key("").build()?;
//! let echo = from_fn(|prompt: &str| Ok::<_, String>(format!("you said: {prompt}")));
//! assert_eq!(echo.complete("hi", "any")?.text, "you said: hi");
//! # let _ = local;
//! # Ok::<(), aistamp_providers::ProviderError>(())
//! ```
//!
//! # Features
//!
//! `http` (on by default) brings the HTTP providers and their reqwest
//! stack. Without it the crate holds only the traits, [`Completion`],
//! [`ProviderError`] and the function providers, with no network code.
//!
//! # Blocking and async
//!
//! Every HTTP provider implements both traits. The blocking side uses its
//! own background thread and must not be called from inside an async
//! runtime; call the [`AsyncProvider`] side there. A provider that has made
//! blocking calls should also be dropped outside async code.
#![deny(missing_docs)]

#[cfg(feature = "http")]
mod anthropic;
mod error;
mod function;
#[cfg(feature = "http")]
mod generic;
#[cfg(feature = "http")]
mod http;
#[cfg(feature = "http")]
mod openai;
#[cfg(feature = "http")]
mod retry;

use std::future::Future;
use std::sync::Arc;

#[cfg(feature = "http")]
pub use anthropic::{ANTHROPIC_BASE_URL, ANTHROPIC_DEFAULT_MODEL, Anthropic, AnthropicBuilder};
pub use error::{BoxError, ProviderError};
pub use function::{AsyncFnProvider, FnProvider, from_async_fn, from_fn};
#[cfg(feature = "http")]
pub use generic::{GenericHttp, GenericHttpBuilder};
#[cfg(feature = "http")]
pub use openai::{OPENAI_BASE_URL, OPENAI_DEFAULT_MODEL, OpenAi, OpenAiBuilder};
#[cfg(feature = "http")]
pub use retry::RetryPolicy;

/// The model name used when neither the call nor the provider names one.
pub const UNKNOWN_MODEL: &str = "unknown";

/// A model's answer to one prompt.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Completion {
    /// The response text.
    pub text: String,
    /// Prompt tokens as the vendor counted them.
    pub prompt_tokens: Option<i64>,
    /// Response tokens as the vendor counted them.
    pub response_tokens: Option<i64>,
}

impl Completion {
    /// A completion with `text` and no token counts.
    pub fn new(text: impl Into<String>) -> Completion {
        Completion { text: text.into(), prompt_tokens: None, response_tokens: None }
    }

    /// The same completion with token counts.
    pub fn with_tokens(mut self, prompt: Option<i64>, response: Option<i64>) -> Completion {
        self.prompt_tokens = prompt;
        self.response_tokens = response;
        self
    }
}

/// A model that answers prompts, called from blocking code.
pub trait Provider: Send + Sync {
    /// Asks `model` to answer `prompt`.
    ///
    /// # Errors
    ///
    /// When the model cannot be reached, refuses, or answers in a form that
    /// cannot be read.
    fn complete(&self, prompt: &str, model: &str) -> Result<Completion, ProviderError>;

    /// The model used when a call names none.
    fn default_model(&self) -> &str {
        UNKNOWN_MODEL
    }
}

/// A model that answers prompts, called from async code on a Tokio
/// runtime.
pub trait AsyncProvider: Send + Sync {
    /// Asks `model` to answer `prompt`.
    ///
    /// # Errors
    ///
    /// As [`Provider::complete`].
    fn complete(
        &self,
        prompt: &str,
        model: &str,
    ) -> impl Future<Output = Result<Completion, ProviderError>> + Send;

    /// The model used when a call names none.
    fn default_model(&self) -> &str {
        UNKNOWN_MODEL
    }
}

impl<P: Provider + ?Sized> Provider for &P {
    fn complete(&self, prompt: &str, model: &str) -> Result<Completion, ProviderError> {
        (**self).complete(prompt, model)
    }

    fn default_model(&self) -> &str {
        (**self).default_model()
    }
}

impl<P: Provider + ?Sized> Provider for Box<P> {
    fn complete(&self, prompt: &str, model: &str) -> Result<Completion, ProviderError> {
        (**self).complete(prompt, model)
    }

    fn default_model(&self) -> &str {
        (**self).default_model()
    }
}

impl<P: Provider + ?Sized> Provider for Arc<P> {
    fn complete(&self, prompt: &str, model: &str) -> Result<Completion, ProviderError> {
        (**self).complete(prompt, model)
    }

    fn default_model(&self) -> &str {
        (**self).default_model()
    }
}

impl<P: AsyncProvider> AsyncProvider for &P {
    fn complete(
        &self,
        prompt: &str,
        model: &str,
    ) -> impl Future<Output = Result<Completion, ProviderError>> + Send {
        (**self).complete(prompt, model)
    }

    fn default_model(&self) -> &str {
        (**self).default_model()
    }
}

impl<P: AsyncProvider> AsyncProvider for Box<P> {
    fn complete(
        &self,
        prompt: &str,
        model: &str,
    ) -> impl Future<Output = Result<Completion, ProviderError>> + Send {
        (**self).complete(prompt, model)
    }

    fn default_model(&self) -> &str {
        (**self).default_model()
    }
}

impl<P: AsyncProvider> AsyncProvider for Arc<P> {
    fn complete(
        &self,
        prompt: &str,
        model: &str,
    ) -> impl Future<Output = Result<Completion, ProviderError>> + Send {
        (**self).complete(prompt, model)
    }

    fn default_model(&self) -> &str {
        (**self).default_model()
    }
}
