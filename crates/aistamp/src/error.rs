//! The errors of the clients: building one ([`ClientError`]) and stamping a
//! call ([`ChatError`]).

use std::fmt;

use aistamp_core::{PolicyDecision, StoreError};
use aistamp_pii::PatternError;
use aistamp_providers::ProviderError;

/// When a policy blocked a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    /// The prompt was blocked; the model was not called.
    BeforeCall,
    /// The response was blocked; the model was called and its answer is
    /// withheld.
    AfterCall,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::BeforeCall => "before the model call",
            Stage::AfterCall => "after the model call",
        })
    }
}

/// Why a call produced no text.
///
/// Every error but [`ChatError::EmptyPrompt`] belongs to a record: its
/// content id is in the error, and for a block so is the decision. The
/// `record_stored` flags say whether that `BLOCKED` or `ERROR` record
/// reached the store (a failure to store it is logged, not raised, as
/// ai-stamp does).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChatError {
    /// The prompt is empty or only whitespace; nothing was recorded.
    #[error("invalid prompt: expected a string that is not empty or only whitespace")]
    EmptyPrompt,
    /// A policy rule with action BLOCK matched.
    #[error("content {content_id} blocked {stage} by policy rule {}", RuleName(decision))]
    Blocked {
        /// The content id of the `BLOCKED` record.
        content_id: String,
        /// The decision: BLOCK, the rule and the reason.
        decision: PolicyDecision,
        /// Whether the prompt or the response was blocked.
        stage: Stage,
        /// Whether the `BLOCKED` record was stored.
        record_stored: bool,
    },
    /// The model call failed.
    #[error("model call failed for content {content_id}: {source}")]
    Model {
        /// The content id of the `ERROR` record.
        content_id: String,
        /// What the provider reported.
        source: ProviderError,
        /// Whether the `ERROR` record was stored.
        record_stored: bool,
    },
    /// The model answered but its `COMPLETED` record could not be stored,
    /// so the text is withheld: no text leaves the client unrecorded.
    #[error("cannot store the record of content {content_id}: {source}")]
    Store {
        /// The content id of the record that was not stored.
        content_id: String,
        /// What the store reported.
        source: StoreError,
    },
}

impl ChatError {
    /// The content id of the call's record, `None` for an empty prompt.
    pub fn content_id(&self) -> Option<&str> {
        match self {
            ChatError::EmptyPrompt => None,
            ChatError::Blocked { content_id, .. }
            | ChatError::Model { content_id, .. }
            | ChatError::Store { content_id, .. } => Some(content_id),
        }
    }

    /// The policy decision of a blocked call.
    pub fn decision(&self) -> Option<&PolicyDecision> {
        match self {
            ChatError::Blocked { decision, .. } => Some(decision),
            _ => None,
        }
    }
}

/// Shows a decision's rule as `'name'` with its reason.
struct RuleName<'a>(&'a PolicyDecision);

impl fmt::Display for RuleName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0.rule_name {
            Some(name) => write!(f, "'{name}'")?,
            None => f.write_str("(none)")?,
        }
        match &self.0.reason {
            Some(reason) => write!(f, ": {reason}"),
            None => Ok(()),
        }
    }
}

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// One of the caller's ids was not given.
    #[error("missing {0}: set it on the client builder")]
    MissingId(&'static str),
    /// An extra PII pattern does not compile.
    #[error("invalid PII pattern: {0}")]
    Pattern(#[from] PatternError),
    /// The store named by the configuration cannot be opened.
    #[error("cannot open the record store: {0}")]
    Store(#[from] StoreError),
    /// The database URL needs a store this build leaves out.
    #[error("database URL scheme '{scheme}' needs the '{feature}' feature of the aistamp crate")]
    StoreNotBuilt {
        /// The URL's scheme.
        scheme: String,
        /// The feature to enable.
        feature: &'static str,
    },
    /// The database URL names no store aistamp has.
    #[error("unsupported database URL scheme '{scheme}': expected sqlite:// or postgres://")]
    UnsupportedUrl {
        /// The URL's scheme.
        scheme: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use aistamp_core::PolicyAction;

    #[test]
    fn messages_name_the_content_and_the_rule() {
        let decision = PolicyDecision {
            action: PolicyAction::Block,
            rule_name: Some("block_high_pii".into()),
            reason: Some("Matched rule 'block_high_pii' with action BLOCK".into()),
        };
        let err = ChatError::Blocked {
            content_id: "c-1".into(),
            decision: decision.clone(),
            stage: Stage::BeforeCall,
            record_stored: true,
        };
        assert_eq!(
            err.to_string(),
            "content c-1 blocked before the model call by policy rule 'block_high_pii': \
             Matched rule 'block_high_pii' with action BLOCK"
        );
        assert_eq!(err.decision(), Some(&decision));
        assert_eq!(err.content_id(), Some("c-1"));
        assert_eq!(ChatError::EmptyPrompt.content_id(), None);
    }
}
