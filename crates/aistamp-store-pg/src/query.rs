//! SQL for the record queries: the filters of [`RecordQuery`] as a WHERE
//! clause with parameters, in the documented order (timestamp, then id).

use aistamp_core::{RecordQuery, StoreError};
use tokio_postgres::types::ToSql;

use crate::row::COLUMNS;

/// A statement and its parameters.
pub(crate) struct Sql {
    pub(crate) text: String,
    params: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Sql {
    /// The parameters as the driver takes them.
    pub(crate) fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect()
    }

    fn bind(&mut self, value: impl ToSql + Sync + Send + 'static) -> String {
        self.params.push(Box::new(value));
        format!("${}", self.params.len())
    }
}

/// ` WHERE ...` for the filters of `query`, with its parameters.
fn filtered(query: &RecordQuery) -> Sql {
    let mut sql = Sql { text: String::new(), params: Vec::new() };
    let mut conditions = Vec::new();
    let text_filters = [
        ("content_id", &query.content_id),
        ("user_id", &query.user_id),
        ("app_id", &query.app_id),
        ("feature_id", &query.feature_id),
        ("model", &query.model),
    ];
    for (column, value) in text_filters {
        if let Some(value) = value {
            let param = sql.bind(value.clone());
            conditions.push(format!("{column} = {param}"));
        }
    }
    if let Some(status) = query.status {
        let param = sql.bind(status.as_str());
        conditions.push(format!("status = {param}"));
    }
    // The functions of the V2 expression indexes: `->> 'highest_severity'`
    // and `->> 'action'`, priced so that the planner uses those indexes.
    if let Some(severity) = query.pii_severity {
        let param = sql.bind(severity.as_str());
        conditions.push(format!("aistamp_pii_severity(pii_result) = {param}"));
    }
    if let Some(action) = query.policy_action {
        let param = sql.bind(action.as_str());
        conditions.push(format!("aistamp_policy_action(policy_decision) = {param}"));
    }
    if let Some(from) = query.from {
        let param = sql.bind(from.to_system_time());
        conditions.push(format!("timestamp >= {param}"));
    }
    if let Some(to) = query.to {
        let param = sql.bind(to.to_system_time());
        conditions.push(format!("timestamp <= {param}"));
    }
    if !conditions.is_empty() {
        sql.text = format!(" WHERE {}", conditions.join(" AND "));
    }
    sql
}

fn page_bounds(query: &RecordQuery, sql: &mut Sql) -> Result<String, StoreError> {
    let as_i64 = |value: u64, what: &str| {
        i64::try_from(value).map_err(|_| StoreError::InvalidQuery {
            message: format!("{what} {value} is too large: expected at most {}", i64::MAX),
        })
    };
    let mut bounds = String::from(" ORDER BY timestamp, id");
    if let Some(limit) = query.limit {
        let param = sql.bind(as_i64(limit, "limit")?);
        bounds.push_str(&format!(" LIMIT {param}"));
    }
    if query.offset > 0 {
        let param = sql.bind(as_i64(query.offset, "offset")?);
        bounds.push_str(&format!(" OFFSET {param}"));
    }
    Ok(bounds)
}

/// One page with the total count of all matches as an extra last column,
/// computed in the same statement and so from the same snapshot.
pub(crate) fn page(query: &RecordQuery) -> Result<Sql, StoreError> {
    let mut sql = filtered(query);
    let filter = std::mem::take(&mut sql.text);
    let bounds = page_bounds(query, &mut sql)?;
    sql.text = format!(
        "SELECT {COLUMNS}, (SELECT count(*) FROM provenance_records{filter}) \
         FROM provenance_records{filter}{bounds}"
    );
    Ok(sql)
}

/// The matching rows without the count, for streaming.
pub(crate) fn rows(query: &RecordQuery) -> Result<Sql, StoreError> {
    let mut sql = filtered(query);
    let filter = std::mem::take(&mut sql.text);
    let bounds = page_bounds(query, &mut sql)?;
    sql.text = format!("SELECT {COLUMNS} FROM provenance_records{filter}{bounds}");
    Ok(sql)
}

/// The number of matching rows.
pub(crate) fn count(query: &RecordQuery) -> Sql {
    let mut sql = filtered(query);
    sql.text = format!("SELECT count(*) FROM provenance_records{}", sql.text);
    sql
}

#[cfg(test)]
mod tests {
    use aistamp_core::{PolicyAction, Severity, Status, Timestamp};

    use super::*;

    #[test]
    fn every_filter_becomes_one_condition() {
        let query = RecordQuery {
            content_id: Some("c".into()),
            user_id: Some("u".into()),
            app_id: Some("a".into()),
            feature_id: Some("f".into()),
            model: Some("m".into()),
            status: Some(Status::Blocked),
            pii_severity: Some(Severity::High),
            policy_action: Some(PolicyAction::Warn),
            from: Some(Timestamp::from_unix_micros(0).unwrap()),
            to: Some(Timestamp::from_unix_micros(1).unwrap()),
            limit: Some(10),
            offset: 5,
        };
        let sql = rows(&query).unwrap();
        assert_eq!(sql.params().len(), 12);
        assert!(
            sql.text.ends_with(
                "WHERE content_id = $1 AND user_id = $2 AND app_id = $3 AND feature_id = $4 \
             AND model = $5 AND status = $6 AND aistamp_pii_severity(pii_result) = $7 \
             AND aistamp_policy_action(policy_decision) = $8 AND timestamp >= $9 \
             AND timestamp <= $10 \
             ORDER BY timestamp, id LIMIT $11 OFFSET $12"
            ),
            "{}",
            sql.text
        );
        assert_eq!(count(&RecordQuery::default()).text, "SELECT count(*) FROM provenance_records");
    }

    #[test]
    fn oversized_bounds_are_invalid_queries() {
        let query = RecordQuery { limit: Some(u64::MAX), ..RecordQuery::default() };
        let err = page(&query).err().unwrap();
        assert!(matches!(err, StoreError::InvalidQuery { .. }));
        assert!(err.to_string().contains("limit 18446744073709551615 is too large"), "{err}");
        let query = RecordQuery { offset: u64::MAX, ..RecordQuery::default() };
        assert!(rows(&query).is_err());
    }
}
