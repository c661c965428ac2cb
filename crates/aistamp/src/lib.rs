//! Provenance and audit records for AI-generated content: sign, store and verify every LLM call.
