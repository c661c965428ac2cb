//! The stamping pipeline: the steps of one call, shared by the blocking and
//! the async client. Each step is plain computation; the clients only do
//! the two waits in between (the model call and the store write).
//!
//! The order is ai-stamp 0.1.0's: validate the prompt, start the clock,
//! scan the prompt and ask the policy, call the model, hash and scan the
//! response and ask the policy again, then sign and store one record,
//! `COMPLETED`, `BLOCKED` or `ERROR`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aistamp_core::{
    LatencyMs, PiiMatch, PiiResult, PolicyAction, PolicyDecision, Record, Signature, SignedRecord,
    SigningKey, Status, StoreError, sha256_hex,
};
use aistamp_pii::Scanner;
use aistamp_policy::{PolicyEngine, PolicyInput};
use aistamp_providers::{Completion, ProviderError};

use crate::Stamped;
use crate::error::{ChatError, Stage};

/// The smallest latency recorded, so that a record never claims a call took
/// no time at all (ai-stamp 0.1.0 records at least 0.000001 ms too).
const MIN_LATENCY: Duration = Duration::from_nanos(1);

/// Everything a client knows before a call: the key, the caller's ids, the
/// policy and the scanner. Immutable and shared.
#[derive(Clone, Debug)]
pub(crate) struct Stamper {
    pub(crate) key: SigningKey,
    pub(crate) app_id: String,
    pub(crate) feature_id: String,
    pub(crate) user_id: String,
    pub(crate) policy: Option<Arc<PolicyEngine>>,
    pub(crate) scanner: Scanner,
}

/// Why a call ends without a `COMPLETED` record.
#[derive(Debug)]
enum Stop {
    Blocked { decision: PolicyDecision, stage: Stage },
    Model(ProviderError),
}

/// One call in progress: its record as built so far.
#[derive(Debug)]
pub(crate) struct Call {
    record: Record,
    started: Instant,
    response: Option<String>,
    stop: Option<Stop>,
}

impl Call {
    /// The model the call asks.
    pub(crate) fn model(&self) -> &str {
        &self.record.model
    }
}

impl Stamper {
    /// Step 1: checks the prompt and opens the record (content id, prompt
    /// hash, time), and starts the clock.
    pub(crate) fn begin(&self, prompt: &str, model: &str) -> Result<Call, ChatError> {
        if prompt.trim().is_empty() {
            return Err(ChatError::EmptyPrompt);
        }
        let record = Record::new(&self.app_id, &self.feature_id, &self.user_id, model, prompt);
        Ok(Call { record, started: Instant::now(), response: None, stop: None })
    }

    /// Step 2: scans the prompt and asks the policy. Returns whether the
    /// model may be called; when not, the record is `BLOCKED`.
    pub(crate) fn before_model(&self, call: &mut Call, prompt: &str) -> bool {
        let prompt_matches = self.scan(prompt);
        call.record.pii_result = Some(PiiResult::from_matches(prompt_matches, Vec::new()));
        self.decide(call, Stage::BeforeCall)
    }

    /// Step 3: takes the model's answer. A failure makes the record
    /// `ERROR`; an answer is hashed, timed, scanned and put to the policy,
    /// which may make the record `BLOCKED`.
    pub(crate) fn after_model(&self, call: &mut Call, reply: Result<Completion, ProviderError>) {
        let completion = match reply {
            Ok(completion) => completion,
            Err(error) => {
                call.record.status = Status::Error;
                call.stop = Some(Stop::Model(error));
                return;
            }
        };

        let record = &mut call.record;
        record.response_hash = Some(sha256_hex(&completion.text));
        record.latency_ms = Some(LatencyMs::from_duration(call.started.elapsed().max(MIN_LATENCY)));
        record.prompt_tokens = completion.prompt_tokens;
        record.response_tokens = completion.response_tokens;

        // The prompt was scanned before the call; only the response is new.
        let prompt_matches = record.pii_result.take().map(|r| r.prompt_matches).unwrap_or_default();
        let response_matches = self.scan(&completion.text);
        record.pii_result = Some(PiiResult::from_matches(prompt_matches, response_matches));
        call.response = Some(completion.text);
        self.decide(call, Stage::AfterCall);
    }

    /// Step 4: the record with its signature, ready to store.
    pub(crate) fn sign(&self, call: &Call) -> SignedRecord {
        SignedRecord { record: call.record.clone(), signature: self.key.sign(&call.record) }
    }

    /// Step 5: the call's result, given how the store write went. Failing
    /// to store a `BLOCKED` or `ERROR` record is logged and the call's own
    /// error returned; failing to store a `COMPLETED` record is the error.
    pub(crate) fn conclude(
        &self,
        call: Call,
        signature: Signature,
        written: Result<(), StoreError>,
    ) -> Result<Stamped, ChatError> {
        let record = call.record;
        let content_id = record.content_id.clone();
        let Some(stop) = call.stop else {
            written
                .map_err(|source| ChatError::Store { content_id: content_id.clone(), source })?;
            tracing::debug!(
                content_id,
                model = record.model,
                status = "COMPLETED",
                "stamped a call"
            );
            return Ok(Stamped {
                content_id,
                text: call.response.unwrap_or_default(),
                status: record.status,
                policy_decision: record.policy_decision.clone(),
                signature,
                record,
            });
        };

        let record_stored = match written {
            Ok(()) => {
                tracing::debug!(content_id, model = record.model, status = %record.status, "stamped a call");
                true
            }
            Err(error) => {
                tracing::warn!(
                    content_id,
                    status = %record.status,
                    error = %error,
                    "cannot store the record of a blocked or failed call"
                );
                false
            }
        };
        Err(match stop {
            Stop::Blocked { decision, stage } => {
                ChatError::Blocked { content_id, decision, stage, record_stored }
            }
            Stop::Model(source) => ChatError::Model { content_id, source, record_stored },
        })
    }

    /// Asks the policy about the call as it stands; on BLOCK marks the
    /// record `BLOCKED` and the call stopped. Returns whether it may go on.
    fn decide(&self, call: &mut Call, stage: Stage) -> bool {
        let Some(policy) = &self.policy else {
            return true;
        };
        let input = PolicyInput::from_record(&call.record);
        // A call that goes ahead is decided again after the model answers,
        // so only that final decision emits the WARN event: one per call.
        let verdict = match stage {
            Stage::BeforeCall => {
                let decision = policy.evaluate(&input);
                if decision.action == PolicyAction::Block { Err(decision) } else { Ok(decision) }
            }
            Stage::AfterCall => {
                policy.enforce(&input, &call.record.content_id).map_err(|blocked| blocked.decision)
            }
        };
        match verdict {
            Ok(decision) => {
                call.record.policy_decision = Some(decision);
                true
            }
            Err(decision) => {
                call.record.status = Status::Blocked;
                call.record.policy_decision = Some(decision.clone());
                call.stop = Some(Stop::Blocked { decision, stage });
                false
            }
        }
    }

    /// The PII in `text`, as records store it.
    fn scan(&self, text: &str) -> Vec<PiiMatch> {
        self.scanner.scan(text).into_iter().map(record_match).collect()
    }
}

/// A scanner match in the record's form.
fn record_match(found: aistamp_pii::Match) -> PiiMatch {
    let severity = match found.severity {
        aistamp_pii::Severity::Low => aistamp_core::Severity::Low,
        aistamp_pii::Severity::Medium => aistamp_core::Severity::Medium,
        aistamp_pii::Severity::High => aistamp_core::Severity::High,
    };
    PiiMatch {
        pattern_name: found.pattern_name.to_string(),
        severity,
        start: found.start as u64,
        end: found.end as u64,
        redacted_snippet: found.redacted_snippet,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aistamp_core::{PolicyAction, Severity};
    use aistamp_policy::Rule;

    fn stamper(policy: Option<PolicyEngine>) -> Stamper {
        Stamper {
            key: SigningKey::new("a-test-secret-that-is-long-enough-0123").unwrap(),
            app_id: "app".into(),
            feature_id: "feature".into(),
            user_id: "user".into(),
            policy: policy.map(Arc::new),
            scanner: Scanner::new(),
        }
    }

    fn block_high() -> PolicyEngine {
        PolicyEngine::builder()
            .rule(
                Rule::new("block_high_pii", PolicyAction::Block).when_pii_severity(Severity::High),
            )
            .build()
            .unwrap()
    }

    #[test]
    fn blank_prompts_are_refused() {
        for prompt in ["", "   ", "\n\t", "\u{2003}"] {
            assert!(matches!(stamper(None).begin(prompt, "m"), Err(ChatError::EmptyPrompt)));
        }
    }

    #[test]
    fn a_completed_call_carries_hashes_tokens_pii_and_latency() {
        let stamper = stamper(Some(PolicyEngine::allow_all()));
        let mut call = stamper.begin("mail jane@example.com", "m").unwrap();
        assert!(stamper.before_model(&mut call, "mail jane@example.com"));
        let reply = Completion::new("call 10.0.0.1").with_tokens(Some(4), Some(2));
        stamper.after_model(&mut call, Ok(reply));
        let signed = stamper.sign(&call);
        let done = stamper.conclude(call, signed.signature, Ok(())).unwrap();

        let record = &done.record;
        assert_eq!(done.text, "call 10.0.0.1");
        assert_eq!(record.status, Status::Completed);
        assert_eq!(record.prompt_hash, sha256_hex("mail jane@example.com"));
        assert_eq!(record.response_hash, Some(sha256_hex("call 10.0.0.1")));
        assert_eq!((record.prompt_tokens, record.response_tokens), (Some(4), Some(2)));
        assert!(record.latency_ms.unwrap().get() > 0.0);
        let pii = record.pii_result.as_ref().unwrap();
        assert_eq!(pii.prompt_matches[0].pattern_name, "EMAIL");
        assert_eq!(pii.response_matches[0].pattern_name, "IP_ADDRESS");
        assert_eq!(pii.highest_severity, Some(Severity::Medium));
        assert_eq!(record.policy_decision.as_ref().unwrap().action, PolicyAction::Allow);
        assert!(stamper.key.verify(record, &done.signature.to_hex()));
    }

    #[test]
    fn a_blocked_prompt_stops_before_the_model() {
        let stamper = stamper(Some(block_high()));
        let prompt = "my SSN is 123-45-6789";
        let mut call = stamper.begin(prompt, "m").unwrap();
        assert!(!stamper.before_model(&mut call, prompt));
        let signed = stamper.sign(&call);
        assert_eq!(signed.record.status, Status::Blocked);
        assert_eq!(signed.record.response_hash, None);
        assert_eq!(signed.record.latency_ms, None);
        let failed = Err(StoreError::Backend { message: "disk on fire".into() });
        let err = stamper.conclude(call, signed.signature, failed).unwrap_err();
        let ChatError::Blocked { stage, record_stored, decision, .. } = err else {
            panic!("expected a block, got {err:?}");
        };
        assert_eq!((stage, record_stored), (Stage::BeforeCall, false));
        assert_eq!(decision.rule_name.as_deref(), Some("block_high_pii"));
    }

    #[test]
    fn a_failed_model_call_makes_an_error_record() {
        let stamper = stamper(None);
        let mut call = stamper.begin("p", "m").unwrap();
        assert!(stamper.before_model(&mut call, "p"));
        stamper.after_model(&mut call, Err(ProviderError::from_model_error("no credit")));
        let signed = stamper.sign(&call);
        assert_eq!(signed.record.status, Status::Error);
        assert_eq!(signed.record.policy_decision, None);
        let err = stamper.conclude(call, signed.signature, Ok(())).unwrap_err();
        assert!(matches!(err, ChatError::Model { record_stored: true, .. }), "{err:?}");
        assert_eq!(err.content_id(), Some(signed.record.content_id.as_str()));
    }

    #[test]
    fn a_completed_record_that_cannot_be_stored_is_an_error() {
        let stamper = stamper(None);
        let mut call = stamper.begin("p", "m").unwrap();
        stamper.before_model(&mut call, "p");
        stamper.after_model(&mut call, Ok(Completion::new("r")));
        let signed = stamper.sign(&call);
        let failed = Err(StoreError::Unavailable { message: "gone".into() });
        let err = stamper.conclude(call, signed.signature, failed).unwrap_err();
        assert!(matches!(err, ChatError::Store { .. }), "{err:?}");
        assert_eq!(err.content_id(), Some(signed.record.content_id.as_str()));
    }
}
