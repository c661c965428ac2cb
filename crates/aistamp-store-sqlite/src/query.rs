//! SQL for [`RecordQuery`]: the filters, the order and the page.

use aistamp_core::{RecordQuery, StoreError};
use rusqlite::types::Value;

use crate::row::SELECT_COLUMNS;

/// The highest PII severity inside the `pii_result` column. The same text
/// as in the index of migration V2, so that SQLite uses that index.
const PII_SEVERITY: &str = "(CASE WHEN json_valid(pii_result) \
     THEN json_extract(pii_result, '$.highest_severity') END)";

/// The policy action inside the `policy_decision` column, as in V2.
const POLICY_ACTION: &str = "(CASE WHEN json_valid(policy_decision) \
     THEN json_extract(policy_decision, '$.action') END)";

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
/// with the bound in the stored form (`YYYY-MM-DD HH:MM:SS.ffffff`), as the
/// reference does.
///
/// # Errors
///
/// [`StoreError::InvalidQuery`] for a limit or an offset beyond what SQLite
/// can count.
pub(crate) fn build(query: &RecordQuery) -> Result<QuerySql, StoreError> {
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
    equal("timestamp >= ?", query.from.map(|t| t.to_sql_string()));
    equal("timestamp <= ?", query.to.map(|t| t.to_sql_string()));
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
        let sql = build(&RecordQuery::default()).unwrap();
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
        let sql = build(&query).unwrap();
        assert_eq!(sql.count_params.len(), 3);
        assert_eq!(sql.select_params.len(), 5);
        assert!(sql.count.contains("user_id = ? AND (CASE WHEN json_valid(pii_result)"));
    }

    /// Every filter is served by an index in the report's order: no
    /// temporary sort, no scan of the whole table, for the page and the count.
    #[test]
    fn every_filter_uses_an_index_in_order() {
        use aistamp_core::{Status, Timestamp};
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        crate::migrate::migrate(&mut conn).unwrap();
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
        for query in queries.map(one) {
            let sql = build(&query).unwrap();
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
                assert!(!text.contains("TEMP B-TREE"), "{query:?}: {text}");
                assert!(
                    text.contains("INDEX") || text.contains("PRIMARY KEY"),
                    "{query:?}: {text}"
                );
            }
        }
    }

    #[test]
    fn oversized_pages_are_invalid_queries() {
        let query = RecordQuery { offset: u64::MAX, ..RecordQuery::default() };
        let err = build(&query).unwrap_err();
        assert!(matches!(err, StoreError::InvalidQuery { .. }));
        assert!(err.to_string().contains("offset 18446744073709551615"), "{err}");
    }
}
