//! A standalone PII scanner for emails, phone numbers, SSNs, card numbers, API keys and IP addresses.
