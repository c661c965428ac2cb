//! SQL for [`RecordQuery`]: the filters, the order and the page.

use aistamp_core::{RecordQuery, StoreError, Timestamp};
use rusqlite::Connection;
use rusqlite::types::Value;

use crate::connection::STORED_UTC;
use crate::error::classify;
use crate::row::SELECT_COLUMNS;

/// The highest PII severity inside the `pii_result` column. The same text
/// as in the index of migration V2, so that SQLite uses that index.
const PII_SEVERITY: &str = "(CASE WHEN json_valid(pii_result) \
     THEN json_extract(pii_result, '$.highest_severity') END)";

/// The policy action inside the `policy_decision` column, as in V2.
const POLICY_ACTION: &str = "(CASE WHEN json_valid(policy_decision) \
     THEN json_extract(policy_decision, '$.action') END)";

/// Whether the stored timestamp is in the form the store writes, in which
/// text order is time order. Its negation is the condition of migration
/// V3's partial index, in the same text, so that SQLite uses that index.
const IN_STORED_FORM: &str = "timestamp GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] \
     [0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]'";

/// A day in microseconds.
const DAY_MICROS: i64 = 86_400_000_000;

/// The statements for one query, with their parameters.
#[derive(Debug)]
pub(crate) struct QuerySql {
    /// Selects the page (or every match when there is no limit).
    pub(crate) select: String,
    /// Parameters of `select`.
    pub(crate) select_params: Vec<Value>,
    /// Counts every match.
    pub(crate) count: String,
    /// Parameters of `count`.
    pub(crate) count_params: Vec<Value>,
}

/// Builds the statements for `query`. Time bounds compare the stored text
/// with the bound in the stored form, which is exact for rows in that
/// form; with `exact_time` (when [`other_forms_near`] found rows in other
/// forms near a bound) those rows are judged by their parsed time.
///
/// # Errors
///
/// [`StoreError::InvalidQuery`] for a limit or an offset beyond what SQLite
/// can count.
pub(crate) fn build(query: &RecordQuery, exact_time: bool) -> Result<QuerySql, StoreError> {
    let mut conditions: Vec<&str> = Vec::new();
    let mut params: Vec<Value> = Vec::new();
    let mut equal = |condition: &'static str, value: Option<String>| {
        if let Some(value) = value {
            conditions.push(condition);
            params.push(Value::Text(value));
        }
    };
    equal("content_id = ?", query.content_id.clone());
    equal("user_id = ?", query.user_id.clone());
    equal("app_id = ?", query.app_id.clone());
    equal("feature_id = ?", query.feature_id.clone());
    equal("model = ?", query.model.clone());
    equal("status = ?", query.status.map(|s| s.as_str().to_string()));
    let bounds = [(query.from, true), (query.to, false)];
    let times: Vec<(String, Vec<Value>)> = bounds
        .into_iter()
        .filter_map(|(bound, from)| bound.map(|bound| time_condition(bound, from, exact_time)))
        .collect();
    for (condition, values) in &times {
        conditions.push(condition);
        params.extend(values.iter().cloned());
    }
    let severity = format!("{PII_SEVERITY} = ?");
    let action = format!("{POLICY_ACTION} = ?");
    if let Some(value) = query.pii_severity {
        conditions.push(&severity);
        params.push(Value::Text(value.as_str().to_string()));
    }
    if let Some(value) = query.policy_action {
        conditions.push(&action);
        params.push(Value::Text(value.as_str().to_string()));
    }

    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    let limit = match query.limit {
        None => -1,
        Some(limit) => to_i64(limit, "limit")?,
    };
    let offset = to_i64(query.offset, "offset")?;

    let mut select_params = params.clone();
    select_params.push(Value::Integer(limit));
    select_params.push(Value::Integer(offset));
    Ok(QuerySql {
        select: format!(
            "SELECT {SELECT_COLUMNS} FROM provenance_records{filter} \
             ORDER BY timestamp, id LIMIT ? OFFSET ?"
        ),
        select_params,
        count: format!("SELECT count(*) FROM provenance_records{filter}"),
        count_params: params,
    })
}

/// The condition that the timestamp is at or after `bound` (`from`), or
/// at or before it, and its parameters. With `exact`, rows in the window
/// of [`time_window`] are judged by their form: by their text when in the
/// stored form, by their parsed time otherwise.
fn time_condition(bound: Timestamp, from: bool, exact: bool) -> (String, Vec<Value>) {
    let (at, text) = (if from { ">=" } else { "<=" }, bound.to_sql_string());
    if !exact {
        return (format!("timestamp {at} ?"), vec![Value::Text(text)]);
    }
    let (before, after) = time_window(bound);
    // Beyond the window on the bound's far side, text decides against a
    // row; beyond it on the near side, for it.
    let (beyond, far, near) = if from { (">=", before, after) } else { ("<", after, before) };
    let condition = format!(
        "timestamp {beyond} ? AND (timestamp {beyond} ? OR CASE WHEN {IN_STORED_FORM} \
         THEN timestamp {at} ? ELSE {STORED_UTC}(timestamp) {at} ? END)"
    );
    (condition, [far, near, text.clone(), text].map(Value::Text).to_vec())
}

/// Whether rows whose timestamp is not in the stored form lie near a time
/// bound of `query`, so that [`build`] must judge them by their time. One
/// lookup in migration V3's index per bound (without that index, a scan of
/// the rows near the bound).
///
/// # Errors
///
/// Database failures.
pub(crate) fn other_forms_near(conn: &Connection, query: &RecordQuery) -> Result<bool, StoreError> {
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM provenance_records \
         WHERE NOT ({IN_STORED_FORM}) AND timestamp >= ?1 AND timestamp < ?2)"
    );
    for bound in [query.from, query.to].into_iter().flatten() {
        let (before, after) = time_window(bound);
        let found: bool = conn
            .prepare_cached(&sql)
            .and_then(|mut statement| statement.query_row([before, after], |row| row.get(0)))
            .map_err(|err| classify(&err))?;
        if found {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The text bounds of the days around `bound` in which a stored timestamp
/// may be misjudged by comparing its text: `(before, after)`, where
/// `before` is the date of the day before the bound's and `after` the date
/// two days after it.
///
/// The store writes timestamps as `YYYY-MM-DD HH:MM:SS.ffffff` in UTC,
/// and bounds are written in that form, so comparing text is exact for
/// such rows. Other forms (a `T`, no fraction, an offset) read and verify
/// too, but their text orders differently from their time within a day,
/// and an offset of less than a day may put their date one day off. A row
/// whose text is below `before` is earlier than the bound whatever its
/// form, one at `after` or above is later; only the rows between are
/// judged by their form, and those not in the stored form by their parsed
/// time ([`STORED_UTC`]). Either bound is open at the ends of the range of
/// timestamps.
fn time_window(bound: Timestamp) -> (String, String) {
    let date = |days: i64| {
        bound.checked_add_micros(days * DAY_MICROS).map(|t| t.to_sql_string()[..10].to_string())
    };
    let before = date(-1).unwrap_or_default();
    // Above every stored form: a date starts with a digit.
    let after = date(2).unwrap_or_else(|| "~".to_string());
    (before, after)
}

fn to_i64(value: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::InvalidQuery {
        message: format!("{what} {value} is too large: expected at most {}", i64::MAX),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aistamp_core::{PolicyAction, Severity};

    #[test]
    fn no_filter_reads_everything_in_order() {
        let sql = build(&RecordQuery::default(), false).unwrap();
        assert!(
            sql.select.ends_with("FROM provenance_records ORDER BY timestamp, id LIMIT ? OFFSET ?")
        );
        assert_eq!(sql.select_params, vec![Value::Integer(-1), Value::Integer(0)]);
        assert_eq!(sql.count, "SELECT count(*) FROM provenance_records");
    }

    #[test]
    fn filters_bind_their_values() {
        let query = RecordQuery {
            user_id: Some("u".into()),
            pii_severity: Some(Severity::High),
            policy_action: Some(PolicyAction::Warn),
            limit: Some(10),
            offset: 5,
            ..RecordQuery::default()
        };
        let sql = build(&query, false).unwrap();
        assert_eq!(sql.count_params.len(), 3);
        assert_eq!(sql.select_params.len(), 5);
        assert!(sql.count.contains("user_id = ? AND (CASE WHEN json_valid(pii_result)"));
    }

    /// Every filter is served by an index in the report's order: no
    /// temporary sort, no scan of the whole table, for the page and the count.
    #[test]
    fn every_filter_uses_an_index_in_order() {
        use aistamp_core::Status;
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        crate::migrate::migrate(&mut conn).unwrap();
        crate::connection::add_functions(&conn).unwrap();
        let at = Timestamp::parse("2025-01-01").ok();
        let one = |query: RecordQuery| RecordQuery { limit: Some(1000), ..query };
        let queries = [
            RecordQuery::default(),
            RecordQuery { content_id: Some("c".into()), ..Default::default() },
            RecordQuery { user_id: Some("u".into()), ..Default::default() },
            RecordQuery { app_id: Some("a".into()), ..Default::default() },
            RecordQuery { feature_id: Some("f".into()), ..Default::default() },
            RecordQuery { model: Some("m".into()), ..Default::default() },
            RecordQuery { status: Some(Status::Error), ..Default::default() },
            RecordQuery { pii_severity: Some(Severity::High), ..Default::default() },
            RecordQuery { policy_action: Some(PolicyAction::Block), ..Default::default() },
            RecordQuery { from: at, ..Default::default() },
            RecordQuery { to: at, ..Default::default() },
            RecordQuery { user_id: Some("u".into()), from: at, ..Default::default() },
        ];
        for (query, exact_time) in
            queries.map(one).into_iter().flat_map(|q| [(q.clone(), false), (q, true)])
        {
            let sql = build(&query, exact_time).unwrap();
            for (statement, params) in
                [(&sql.select, &sql.select_params), (&sql.count, &sql.count_params)]
            {
                let mut plan = conn.prepare(&format!("EXPLAIN QUERY PLAN {statement}")).unwrap();
                let details: Vec<String> = plan
                    .query_map(rusqlite::params_from_iter(params), |row| row.get(3))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect();
                let text = details.join("; ");
                assert!(!text.contains("TEMP B-TREE"), "{query:?} {exact_time}: {text}");
                assert!(
                    text.contains("INDEX") || text.contains("PRIMARY KEY"),
                    "{query:?}: {text}"
                );
            }
        }
    }

    /// The look for rows in other forms reads migration V3's index, and
    /// finds a row only near the bound.
    #[test]
    fn rows_in_other_forms_are_found_in_their_index() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        crate::migrate::migrate(&mut conn).unwrap();
        let plan: String = conn
            .query_row(
                &format!(
                    "EXPLAIN QUERY PLAN SELECT 1 FROM provenance_records \
                     WHERE NOT ({IN_STORED_FORM}) AND timestamp >= 'a' AND timestamp < 'b'"
                ),
                [],
                |row| row.get(3),
            )
            .unwrap();
        assert!(plan.contains("ix_provenance_records_timestamp_other_forms"), "{plan}");

        let insert = "INSERT INTO provenance_records (content_id, app_id, feature_id, user_id, \
                      model, prompt_hash, timestamp, status) \
                      VALUES (?1, 'a', 'f', 'u', 'm', 'h', ?2, 'COMPLETED')";
        conn.execute(insert, ["stored", "2025-03-14 10:00:00.000000"]).unwrap();
        let near = |bound: &str| {
            let query = RecordQuery { from: Timestamp::parse(bound).ok(), ..Default::default() };
            other_forms_near(&conn, &query).unwrap()
        };
        assert!(!near("2025-03-14"), "a row in the stored form is not another form");
        conn.execute(insert, ["hand", "2025-03-14T10:00:00"]).unwrap();
        assert!(near("2025-03-14") && near("2025-03-13 01:00") && near("2025-03-15 23:00"));
        assert!(!near("2025-03-12 23:59") && !near("2025-03-16"), "too far to be misjudged");
    }

    #[test]
    fn oversized_pages_are_invalid_queries() {
        let query = RecordQuery { offset: u64::MAX, ..RecordQuery::default() };
        let err = build(&query, false).unwrap_err();
        assert!(matches!(err, StoreError::InvalidQuery { .. }));
        assert!(err.to_string().contains("offset 18446744073709551615"), "{err}");
    }
}
