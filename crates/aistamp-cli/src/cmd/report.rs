//! `report`: records matching the filters, as text, JSON or CSV, with the
//! reference's field names and order.

use std::io::Write;

use aistamp_core::{QueryPage, RecordQuery, Timestamp};

use crate::cli::{FilterArgs, ReportArgs, ReportFormat};
use crate::error::CliError;
use crate::format::{CSV_FIELDS, csv_row, iso, python_str_time, record_json, report_line};
use crate::json::Json;
use crate::settings::Settings;
use crate::write_error;

/// The reference's default page size.
const DEFAULT_LIMIT: u64 = 100;

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The store query for the filters; a bare `--to` date covers its whole
/// UTC day (up to one microsecond before the next midnight).
pub(crate) fn query_from(filters: &FilterArgs, default_limit: Option<u64>) -> RecordQuery {
    let to = filters.to.map(|to| {
        if to.date_only {
            to.at.checked_add_micros(MICROS_PER_DAY - 1).unwrap_or(to.at)
        } else {
            to.at
        }
    });
    RecordQuery {
        content_id: None,
        user_id: filters.user_id.clone(),
        app_id: filters.app_id.clone(),
        feature_id: filters.feature_id.clone(),
        model: filters.model.clone(),
        status: filters.status,
        pii_severity: filters.pii_severity,
        policy_action: filters.policy_decision,
        from: filters.from.map(|from| from.at),
        to,
        limit: filters.limit.or(default_limit),
        offset: filters.offset.unwrap_or(0),
    }
}

/// The filters as the reference's `filters_applied` object: its query
/// field names and order, only the filters that are set, times as
/// Python's `str(datetime)`.
fn filters_applied(query: &RecordQuery) -> Json {
    let mut fields = Vec::new();
    let mut text = |name, value: Option<&str>| {
        if let Some(value) = value {
            fields.push((name, Json::Str(value.to_string())));
        }
    };
    text("content_id", query.content_id.as_deref());
    text("user_id", query.user_id.as_deref());
    text("app_id", query.app_id.as_deref());
    text("feature_id", query.feature_id.as_deref());
    text("model", query.model.as_deref());
    text("status", query.status.map(|s| s.as_str()));
    text("pii_severity", query.pii_severity.map(|s| s.as_str()));
    text("policy_decision", query.policy_action.map(|a| a.as_str()));
    text("from_dt", query.from.map(python_str_time).as_deref());
    text("to_dt", query.to.map(python_str_time).as_deref());
    let count = |n: u64| Json::Int(i64::try_from(n).unwrap_or(i64::MAX));
    if let Some(limit) = query.limit {
        fields.push(("limit", count(limit)));
    }
    fields.push(("offset", count(query.offset)));
    Json::Object(fields)
}

pub(crate) fn run(
    args: &ReportArgs,
    settings: &Settings,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let query = query_from(&args.filters, Some(DEFAULT_LIMIT));
    let store = settings.open_existing_store()?;
    let page = store.query(&query)?;
    tracing::debug!(returned = page.records.len(), total = page.total_count, "report queried");
    let generated_at = Timestamp::now();
    match args.format {
        ReportFormat::Text => write_text(&page, generated_at, out),
        ReportFormat::Json => write_json(&page, &query, generated_at, out),
        ReportFormat::Csv => write_csv(&page, out),
    }
}

fn write_text(
    page: &QueryPage,
    generated_at: Timestamp,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    writeln!(out, "total_count: {}    generated_at: {}", page.total_count, iso(generated_at))
        .map_err(write_error)?;
    for stored in &page.records {
        writeln!(out, "{}", report_line(&stored.record)).map_err(write_error)?;
    }
    Ok(())
}

fn write_json(
    page: &QueryPage,
    query: &RecordQuery,
    generated_at: Timestamp,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let report = Json::Object(vec![
        ("generated_at", Json::Str(iso(generated_at))),
        ("total_count", Json::Int(i64::try_from(page.total_count).unwrap_or(i64::MAX))),
        ("filters_applied", filters_applied(query)),
        ("records", Json::Array(page.records.iter().map(|s| record_json(&s.record)).collect())),
    ]);
    let mut text = report.to_pretty();
    text.push('\n');
    out.write_all(text.as_bytes()).map_err(write_error)
}

/// CSV with `\r\n` after every row, the last one included, and nothing
/// after it (the reference adds a blank line).
fn write_csv(page: &QueryPage, out: &mut dyn Write) -> Result<(), CliError> {
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(out);
    let csv_error = |e: csv::Error| match e.into_kind() {
        csv::ErrorKind::Io(err) => write_error(err),
        other => CliError::failure(format!("cannot write CSV: {other:?}")),
    };
    writer.write_record(CSV_FIELDS).map_err(csv_error)?;
    for stored in &page.records {
        writer.write_record(csv_row(&stored.record)).map_err(csv_error)?;
    }
    writer.flush().map_err(write_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::TimeArg;

    fn no_filters() -> FilterArgs {
        FilterArgs {
            from: None,
            to: None,
            model: None,
            user_id: None,
            app_id: None,
            feature_id: None,
            status: None,
            pii_severity: None,
            policy_decision: None,
            limit: None,
            offset: None,
        }
    }

    #[test]
    fn a_bare_to_date_covers_the_whole_day() {
        let day = Timestamp::parse("2025-03-14").unwrap();
        let filters = FilterArgs {
            from: Some(TimeArg { at: day, date_only: true }),
            to: Some(TimeArg { at: day, date_only: true }),
            ..no_filters()
        };
        let query = query_from(&filters, Some(100));
        assert_eq!(query.to.unwrap().to_canonical_string(), "2025-03-14T23:59:59.999999+00:00");
        assert_eq!(query.from, Some(day));
        assert_eq!(
            filters_applied(&query).to_pretty(),
            "{\n  \"from_dt\": \"2025-03-14 00:00:00+00:00\",\n  \
             \"to_dt\": \"2025-03-14 23:59:59.999999+00:00\",\n  \"limit\": 100,\n  \"offset\": 0\n}"
        );
    }
}
