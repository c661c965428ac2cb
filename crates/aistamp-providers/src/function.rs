//! Plain Rust functions and closures as providers, blocking and async.

use std::fmt;
use std::future::Future;

use crate::error::BoxError;
use crate::{AsyncProvider, Completion, Provider, ProviderError, UNKNOWN_MODEL};

/// A blocking function `Fn(&str) -> Result<String, E>` as a provider; made
/// by [`from_fn`]. It serves the async trait too, running on the caller's
/// task. The function sees only the prompt; no token counts are reported.
#[derive(Clone)]
pub struct FnProvider<F> {
    function: F,
    default_model: String,
}

/// An async function `Fn(String) -> impl Future<Output = Result<String, E>>`
/// as an [`AsyncProvider`]; made by [`from_async_fn`].
#[derive(Clone)]
pub struct AsyncFnProvider<F> {
    function: F,
    default_model: String,
}

/// Wraps a blocking function that maps a prompt to a response.
///
/// The error type may be anything that converts into a boxed error
/// (`String`, `&str`, `std::io::Error`, a [`ProviderError`], ...).
///
/// # Example
///
/// ```
/// use aistamp_providers::{Provider, from_fn};
///
/// let echo = from_fn(|prompt: &str| Ok::<_, std::convert::Infallible>(prompt.to_uppercase()));
/// assert_eq!(echo.complete("hi", echo.default_model())?.text, "HI");
/// assert_eq!(echo.default_model(), "unknown");
/// # Ok::<(), aistamp_providers::ProviderError>(())
/// ```
pub fn from_fn<F, E>(function: F) -> FnProvider<F>
where
    F: Fn(&str) -> Result<String, E> + Send + Sync,
    E: Into<BoxError>,
{
    FnProvider { function, default_model: UNKNOWN_MODEL.to_string() }
}

/// Wraps an async function that maps a prompt to a response.
///
/// # Example
///
/// ```
/// use aistamp_providers::{AsyncProvider, from_async_fn};
///
/// let echo = from_async_fn(|prompt: String| async move { Ok::<_, String>(prompt) });
/// # let _ = echo;
/// ```
pub fn from_async_fn<F, Fut, E>(function: F) -> AsyncFnProvider<F>
where
    F: Fn(String) -> Fut + Send + Sync,
    Fut: Future<Output = Result<String, E>> + Send,
    E: Into<BoxError>,
{
    AsyncFnProvider { function, default_model: UNKNOWN_MODEL.to_string() }
}

impl<F> FnProvider<F> {
    /// The same provider with another default model (default `unknown`).
    pub fn with_default_model(mut self, model: impl Into<String>) -> FnProvider<F> {
        self.default_model = model.into();
        self
    }
}

impl<F> AsyncFnProvider<F> {
    /// The same provider with another default model (default `unknown`).
    pub fn with_default_model(mut self, model: impl Into<String>) -> AsyncFnProvider<F> {
        self.default_model = model.into();
        self
    }
}

impl<F> fmt::Debug for FnProvider<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnProvider").field("default_model", &self.default_model).finish()
    }
}

impl<F> fmt::Debug for AsyncFnProvider<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFnProvider").field("default_model", &self.default_model).finish()
    }
}

impl<F, E> Provider for FnProvider<F>
where
    F: Fn(&str) -> Result<String, E> + Send + Sync,
    E: Into<BoxError>,
{
    fn complete(&self, prompt: &str, _model: &str) -> Result<Completion, ProviderError> {
        (self.function)(prompt).map(Completion::new).map_err(ProviderError::from_model_error)
    }

    fn default_model(&self) -> &str {
        &self.default_model
    }
}

impl<F, E> AsyncProvider for FnProvider<F>
where
    F: Fn(&str) -> Result<String, E> + Send + Sync,
    E: Into<BoxError>,
{
    fn complete(
        &self,
        prompt: &str,
        model: &str,
    ) -> impl Future<Output = Result<Completion, ProviderError>> + Send {
        std::future::ready(Provider::complete(self, prompt, model))
    }

    fn default_model(&self) -> &str {
        &self.default_model
    }
}

impl<F, Fut, E> AsyncProvider for AsyncFnProvider<F>
where
    F: Fn(String) -> Fut + Send + Sync,
    Fut: Future<Output = Result<String, E>> + Send,
    E: Into<BoxError>,
{
    async fn complete(&self, prompt: &str, _model: &str) -> Result<Completion, ProviderError> {
        (self.function)(prompt.to_string())
            .await
            .map(Completion::new)
            .map_err(ProviderError::from_model_error)
    }

    fn default_model(&self) -> &str {
        &self.default_model
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_errors_become_model_errors() {
        let failing = from_fn(|_: &str| Err::<String, _>("out of credit"));
        let err = Provider::complete(&failing, "p", "m").unwrap_err();
        assert_eq!(err.to_string(), "model function failed: out of credit");
        let custom =
            from_fn(|p: &str| Ok::<_, String>(p.len().to_string())).with_default_model("len");
        assert_eq!(Provider::default_model(&custom), "len");
        assert_eq!(Provider::complete(&custom, "four", "m").unwrap().text, "4");
    }

    #[tokio::test]
    async fn async_functions_are_awaited() {
        let echo = from_async_fn(|prompt: String| async move {
            tokio::task::yield_now().await;
            Ok::<_, std::io::Error>(format!("echo: {prompt}"))
        });
        let done = AsyncProvider::complete(&echo, "hi", "m").await.unwrap();
        assert_eq!((done.text.as_str(), done.prompt_tokens), ("echo: hi", None));
        let sync_one = from_fn(|p: &str| Ok::<_, String>(p.to_string()));
        assert_eq!(AsyncProvider::complete(&sync_one, "x", "m").await.unwrap().text, "x");
        let failing = from_async_fn(|_: String| async {
            Err::<String, _>(ProviderError::MissingKey { provider: "openai", variable: "K" })
        });
        let err = AsyncProvider::complete(&failing, "x", "m").await.unwrap_err();
        assert!(matches!(err, ProviderError::MissingKey { .. }));
    }
}
