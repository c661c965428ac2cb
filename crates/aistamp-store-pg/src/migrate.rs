//! Schema migrations with refinery, from the SQL files in
//! `migrations/postgres/`, and the adoption of databases that ai-stamp
//! 0.1.0 created.

use aistamp_core::{StoreError, check_migration_history_entry};
use refinery::Target;
use tokio_postgres::Client;

use crate::error::classify;

refinery::embed_migrations!("migrations");

/// Serializes `migrate` and `create_tables` across processes.
const MIGRATION_LOCK: i64 = 0x0061_6973_7461_6d70; // "aistamp"

/// What [`crate::PgStore::migrate`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MigrationReport {
    /// The migrations this run applied, oldest first, such as
    /// `V2__query_indexes`; empty when the schema was already current.
    pub applied: Vec<String>,
    /// The schema version after the run.
    pub version: u32,
    /// Set when this run took over a database that ai-stamp 0.1.0 created.
    pub adopted: Option<Adoption>,
}

/// How a database without aistamp's migration history was taken over. Its
/// rows are never touched: the first migration is recorded as applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Adoption {
    /// Made by the reference's `aistamp migrate`: Alembic's
    /// `alembic_version` at revision `0001`.
    Alembic,
    /// A `provenance_records` table with the reference's columns and no
    /// history at all, as the reference's `create_tables` makes it.
    UnversionedTable,
}

/// Brings the database to the latest schema. See [`crate::PgStore::migrate`].
pub(crate) async fn migrate(client: &mut Client) -> Result<MigrationReport, StoreError> {
    // The lock belongs to this connection, which is closed afterwards.
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(|e| classify(&e))?;

    let mut adopted = None;
    if !exists(client, "refinery_schema_history").await?
        && exists(client, "provenance_records").await?
    {
        adopted = Some(adoptable(client).await?);
        tracing::info!(?adopted, "adopting an existing ai-stamp database");
        migrations::runner()
            .set_target(Target::FakeVersion(1))
            .run_async(client)
            .await
            .map_err(migration_error)?;
    }

    check_history(client).await?;
    let runner = migrations::runner();
    let report = runner.run_async(client).await.map_err(migration_error)?;
    let applied: Vec<String> = report
        .applied_migrations()
        .iter()
        .map(|m| format!("V{}__{}", m.version(), m.name()))
        .collect();
    for name in &applied {
        tracing::info!(migration = %name, "migration applied");
    }
    let version = runner
        .get_last_applied_migration_async(client)
        .await
        .map_err(migration_error)?
        .map_or(0, |m| u32::try_from(m.version()).unwrap_or(0));

    client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(|e| classify(&e))?;
    Ok(MigrationReport { applied, version, adopted })
}

/// Creates the table and indexes of every migration without recording any
/// history, for development and tests. A later `migrate` adopts the
/// result like a table made by the reference's `create_tables`.
pub(crate) async fn create_tables(client: &mut Client) -> Result<(), StoreError> {
    let transaction = client.transaction().await.map_err(|e| classify(&e))?;
    transaction
        .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(|e| classify(&e))?;
    for migration in migrations::runner().get_migrations() {
        if let Some(sql) = migration.sql() {
            transaction.batch_execute(sql).await.map_err(|e| classify(&e))?;
        }
    }
    transaction.commit().await.map_err(|e| classify(&e))
}

/// Checks every row of refinery's history before refinery reads it, since
/// refinery panics on a row it did not write itself (see
/// [`check_migration_history_entry`]).
async fn check_history(client: &Client) -> Result<(), StoreError> {
    if !exists(client, "refinery_schema_history").await? {
        return Ok(());
    }
    let rows = client
        .query(
            "SELECT version::int8, applied_on::text, checksum::text FROM refinery_schema_history",
            &[],
        )
        .await
        .map_err(|e| classify(&e))?;
    for row in rows {
        let version: i64 = row.try_get(0).map_err(|e| classify(&e))?;
        let applied_on: Option<String> = row.try_get(1).map_err(|e| classify(&e))?;
        let checksum: Option<String> = row.try_get(2).map_err(|e| classify(&e))?;
        check_migration_history_entry(
            version,
            applied_on.as_deref().unwrap_or(""),
            checksum.as_deref().unwrap_or(""),
        )?;
    }
    Ok(())
}

async fn exists(client: &Client, table: &str) -> Result<bool, StoreError> {
    let row = client
        .query_one("SELECT to_regclass($1::text) IS NOT NULL", &[&table])
        .await
        .map_err(|e| classify(&e))?;
    row.try_get(0).map_err(|e| classify(&e))
}

/// Checks that an existing `provenance_records` table without our history
/// is the reference's, and says how it was made.
async fn adoptable(client: &Client) -> Result<Adoption, StoreError> {
    let adoption = if exists(client, "alembic_version").await? {
        let rows = client
            .query("SELECT version_num::text FROM alembic_version", &[])
            .await
            .map_err(|e| classify(&e))?;
        let revisions: Vec<String> = rows.iter().filter_map(|row| row.try_get(0).ok()).collect();
        if revisions != ["0001"] {
            return Err(StoreError::Backend {
                message: format!(
                    "cannot adopt the database: alembic_version holds {revisions:?}, expected \
                     revision 0001 of ai-stamp 0.1.0"
                ),
            });
        }
        Adoption::Alembic
    } else {
        Adoption::UnversionedTable
    };

    let rows = client
        .query(
            "SELECT column_name::text, data_type::text, character_maximum_length, \
             is_nullable::text FROM information_schema.columns \
             WHERE table_name = 'provenance_records' AND table_schema = current_schema()",
            &[],
        )
        .await
        .map_err(|e| classify(&e))?;
    let mut problems = Vec::new();
    for (name, data_type, length, nullable) in EXPECTED_COLUMNS {
        let found =
            rows.iter().find(|row| row.try_get::<_, String>(0).ok().as_deref() == Some(name));
        let Some(row) = found else {
            problems.push(format!("column {name} is missing"));
            continue;
        };
        let found_type: String = row.try_get(1).unwrap_or_default();
        let found_length: Option<i32> = row.try_get(2).unwrap_or_default();
        let found_nullable = row.try_get::<_, String>(3).is_ok_and(|n| n == "YES");
        let type_ok = found_type == *data_type;
        if !type_ok || found_length != *length || found_nullable != *nullable {
            problems.push(format!(
                "column {name} is {found_type}({found_length:?}, nullable {found_nullable}), \
                 expected {data_type}({length:?}, nullable {nullable})"
            ));
        }
    }
    if problems.is_empty() {
        Ok(adoption)
    } else {
        Err(StoreError::Backend {
            message: format!(
                "cannot adopt the existing provenance_records table, it is not ai-stamp 0.1.0's: {}",
                problems.join("; ")
            ),
        })
    }
}

/// The reference's columns: name, `information_schema` type, maximum
/// length, nullable.
const EXPECTED_COLUMNS: &[(&str, &str, Option<i32>, bool)] = &[
    ("id", "integer", None, false),
    ("content_id", "character varying", Some(36), false),
    ("app_id", "character varying", Some(255), false),
    ("feature_id", "character varying", Some(255), false),
    ("user_id", "character varying", Some(255), false),
    ("model", "character varying", Some(255), false),
    ("prompt_hash", "character varying", Some(64), false),
    ("response_hash", "character varying", Some(64), true),
    ("hmac_signature", "character varying", Some(128), true),
    ("prompt_tokens", "integer", None, true),
    ("response_tokens", "integer", None, true),
    ("latency_ms", "double precision", None, true),
    ("timestamp", "timestamp without time zone", None, false),
    ("status", "character varying", Some(20), false),
    ("pii_result", "json", None, true),
    ("policy_decision", "json", None, true),
];

fn migration_error(err: refinery::Error) -> StoreError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    while let Some(current) = source {
        if let Some(pg) = current.downcast_ref::<tokio_postgres::Error>() {
            return classify(pg);
        }
        source = current.source();
    }
    StoreError::Backend { message: format!("migration failed: {err}") }
}
