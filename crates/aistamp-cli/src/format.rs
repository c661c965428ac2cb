//! Records as the reference prints them: the `audit` text block, the
//! `report` text lines, JSON objects and CSV rows, with the field names and
//! order of ai-stamp 0.1.0.

use aistamp_core::{PiiMatch, PiiResult, PolicyDecision, Record, Timestamp};

use crate::json::{Json, python_float};

/// The CSV header, in the reference's order.
pub(crate) const CSV_FIELDS: [&str; 16] = [
    "content_id",
    "app_id",
    "feature_id",
    "user_id",
    "model",
    "status",
    "prompt_hash",
    "response_hash",
    "prompt_tokens",
    "response_tokens",
    "latency_ms",
    "timestamp",
    "pii_match_count",
    "pii_highest_severity",
    "policy_action",
    "policy_rule_name",
];

/// A time as Python's `datetime.isoformat()` writes an aware UTC time.
pub(crate) fn iso(ts: Timestamp) -> String {
    ts.to_canonical_string()
}

/// A time as Python's `str(datetime)` writes it (a space before the time),
/// which is how the reference's JSON shows the times in `filters_applied`.
pub(crate) fn python_str_time(ts: Timestamp) -> String {
    iso(ts).replacen('T', " ", 1)
}

/// The record as a JSON object, keys in the reference's order.
pub(crate) fn record_json(record: &Record) -> Json {
    Json::Object(vec![
        ("content_id", Json::Str(record.content_id.clone())),
        ("app_id", Json::Str(record.app_id.clone())),
        ("feature_id", Json::Str(record.feature_id.clone())),
        ("user_id", Json::Str(record.user_id.clone())),
        ("model", Json::Str(record.model.clone())),
        ("status", Json::Str(record.status.as_str().into())),
        ("prompt_hash", Json::Str(record.prompt_hash.clone())),
        ("response_hash", Json::opt_str(record.response_hash.as_deref())),
        ("prompt_tokens", Json::opt_int(record.prompt_tokens)),
        ("response_tokens", Json::opt_int(record.response_tokens)),
        ("latency_ms", record.latency_ms.map_or(Json::Null, |l| Json::Float(l.get()))),
        ("timestamp", Json::Str(iso(record.timestamp))),
        ("pii_result", record.pii_result.as_ref().map_or(Json::Null, pii_result_json)),
        ("policy_decision", record.policy_decision.as_ref().map_or(Json::Null, decision_json)),
    ])
}

fn pii_result_json(result: &PiiResult) -> Json {
    let list = |matches: &[PiiMatch]| Json::Array(matches.iter().map(match_json).collect());
    Json::Object(vec![
        ("prompt_matches", list(&result.prompt_matches)),
        ("response_matches", list(&result.response_matches)),
        ("highest_severity", Json::opt_str(result.highest_severity.map(|s| s.as_str()))),
        ("match_count", Json::Int(i64::try_from(result.match_count).unwrap_or(i64::MAX))),
    ])
}

/// One PII match as a JSON object.
pub(crate) fn match_json(m: &PiiMatch) -> Json {
    let int = |n: u64| Json::Int(i64::try_from(n).unwrap_or(i64::MAX));
    Json::Object(vec![
        ("pattern_name", Json::Str(m.pattern_name.clone())),
        ("severity", Json::Str(m.severity.as_str().into())),
        ("start", int(m.start)),
        ("end", int(m.end)),
        ("redacted_snippet", Json::Str(m.redacted_snippet.clone())),
    ])
}

fn decision_json(decision: &PolicyDecision) -> Json {
    Json::Object(vec![
        ("action", Json::Str(decision.action.as_str().into())),
        ("rule_name", Json::opt_str(decision.rule_name.as_deref())),
        ("reason", Json::opt_str(decision.reason.as_deref())),
    ])
}

fn pii_count(record: &Record) -> u64 {
    record.pii_result.as_ref().map_or(0, |r| r.match_count)
}

fn python_optional(value: Option<String>) -> String {
    value.unwrap_or_else(|| "None".into())
}

/// The `audit` text block, one `name: value` line per field, as the
/// reference prints it (absent values as Python's `None`).
pub(crate) fn audit_text(record: &Record) -> String {
    let severity =
        record.pii_result.as_ref().and_then(|r| r.highest_severity).map_or("none", |s| s.as_str());
    let action = record.policy_decision.as_ref().map_or("none", |d| d.action.as_str());
    let rule = record
        .policy_decision
        .as_ref()
        .and_then(|d| d.rule_name.as_deref())
        .filter(|name| !name.is_empty())
        .unwrap_or("no rule");
    let latency = python_optional(record.latency_ms.map(|l| python_float(l.get())));
    let response_hash = python_optional(record.response_hash.clone());
    let lines = [
        format!("content_id:    {}", record.content_id),
        format!("app_id:        {}", record.app_id),
        format!("feature_id:    {}", record.feature_id),
        format!("user_id:       {}", record.user_id),
        format!("model:         {}", record.model),
        format!("status:        {}", record.status),
        format!("timestamp:     {}", iso(record.timestamp)),
        format!("latency_ms:    {latency}"),
        format!("prompt_hash:   {}", record.prompt_hash),
        format!("response_hash: {response_hash}"),
        format!("pii_matches:   {} ({severity})", pii_count(record)),
        format!("policy:        {action} ({rule})"),
    ];
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// One `report` text line.
pub(crate) fn report_line(record: &Record) -> String {
    let short: String = record.content_id.chars().take(8).collect();
    let action = record.policy_decision.as_ref().map_or("none", |d| d.action.as_str());
    format!(
        "{} | {short}... | {} | {} | pii:{} | policy:{action}",
        iso(record.timestamp),
        record.model,
        record.status,
        pii_count(record),
    )
}

/// One CSV row, in the order of [`CSV_FIELDS`], absent values empty.
pub(crate) fn csv_row(record: &Record) -> [String; 16] {
    let opt_int = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
    let pii = record.pii_result.as_ref();
    let decision = record.policy_decision.as_ref();
    [
        record.content_id.clone(),
        record.app_id.clone(),
        record.feature_id.clone(),
        record.user_id.clone(),
        record.model.clone(),
        record.status.as_str().into(),
        record.prompt_hash.clone(),
        record.response_hash.clone().unwrap_or_default(),
        opt_int(record.prompt_tokens),
        opt_int(record.response_tokens),
        record.latency_ms.map(|l| python_float(l.get())).unwrap_or_default(),
        iso(record.timestamp),
        pii_count(record).to_string(),
        pii.and_then(|r| r.highest_severity).map(|s| s.as_str().into()).unwrap_or_default(),
        decision.map(|d| d.action.as_str().into()).unwrap_or_default(),
        decision.and_then(|d| d.rule_name.clone()).unwrap_or_default(),
    ]
}

#[cfg(test)]
mod tests {
    use aistamp_core::{LatencyMs, PolicyAction, Severity, Status};

    use super::*;

    fn sample() -> Record {
        let mut record = Record::new("app", "feat", "user", "gpt-4o", "prompt");
        record.content_id = "0123456789abcdef".into();
        record.timestamp = Timestamp::parse("2025-03-14T15:09:26.5Z").unwrap();
        record.latency_ms = Some(LatencyMs::new(12.0).unwrap());
        record.status = Status::Blocked;
        record.policy_decision = Some(PolicyDecision {
            action: PolicyAction::Block,
            rule_name: Some("no_ssn".into()),
            reason: None,
        });
        record.pii_result = Some(PiiResult::from_matches(
            vec![PiiMatch {
                pattern_name: "SSN".into(),
                severity: Severity::High,
                start: 3,
                end: 14,
                redacted_snippet: "is [REDACTED]".into(),
            }],
            vec![],
        ));
        record
    }

    #[test]
    fn text_forms_follow_the_reference() {
        let record = sample();
        assert_eq!(
            report_line(&record),
            "2025-03-14T15:09:26.500000+00:00 | 01234567... | gpt-4o | BLOCKED | pii:1 | policy:BLOCK"
        );
        let text = audit_text(&record);
        assert!(text.contains("\nlatency_ms:    12.0\n"), "{text}");
        assert!(text.contains("\nresponse_hash: None\n"), "{text}");
        assert!(text.contains("\npii_matches:   1 (HIGH)\n"), "{text}");
        assert!(text.ends_with("policy:        BLOCK (no_ssn)\n"), "{text}");
        let row = csv_row(&record);
        assert_eq!((row[7].as_str(), row[10].as_str(), row[13].as_str()), ("", "12.0", "HIGH"));
        assert_eq!(python_str_time(record.timestamp), "2025-03-14 15:09:26.500000+00:00");
    }
}
