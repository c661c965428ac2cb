//! The schema: embedded migrations, adoption of databases made by ai-stamp
//! 0.1.0, and the check made when a store opens.
//!
//! The SQL lives in `migrations/sqlite/` at the workspace root (this crate's
//! `migrations` directory links there) and is embedded at build time.
//! refinery applies it and records what it applied in its table
//! `refinery_schema_history`. A database that has the records table but no
//! such history was made by the reference, through its Alembic migration
//! (`alembic_version` at `0001`) or its `create_tables`; it is adopted by
//! recording V1 as applied without running it, then migrated as usual.
//! Adoption never touches a row.

use std::fmt;
use std::thread;
use std::time::Duration;

use aistamp_core::{StoreError, check_migration_history_entry};
use refinery::Target;
use rusqlite::{Connection, OptionalExtension};
use tracing::{debug, info};

use crate::error::classify;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// The reference's table, whose columns must match for adoption.
const EXPECTED_COLUMNS: [(&str, &str); 16] = [
    ("id", "INTEGER"),
    ("content_id", "VARCHAR(36)"),
    ("app_id", "VARCHAR(255)"),
    ("feature_id", "VARCHAR(255)"),
    ("user_id", "VARCHAR(255)"),
    ("model", "VARCHAR(255)"),
    ("prompt_hash", "VARCHAR(64)"),
    ("response_hash", "VARCHAR(64)"),
    ("hmac_signature", "VARCHAR(128)"),
    ("prompt_tokens", "INTEGER"),
    ("response_tokens", "INTEGER"),
    ("latency_ms", "FLOAT"),
    ("timestamp", "DATETIME"),
    ("status", "VARCHAR(20)"),
    ("pii_result", "JSON"),
    ("policy_decision", "JSON"),
];

/// The only Alembic revision ai-stamp 0.1.0 has.
const ALEMBIC_REVISION: &str = "0001";

/// refinery's history table.
const HISTORY_TABLE: &str = "refinery_schema_history";

/// How often a migration that failed is tried again. Two processes that
/// migrate one new file at once race; the loser sees the winner's work on
/// its next try.
const ATTEMPTS: u32 = 8;

/// What [`migrate`](crate::SqliteStore::migrate) did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MigrationReport {
    /// Set when the database was made by ai-stamp 0.1.0 and is now
    /// managed by these migrations.
    pub adopted: Option<Adoption>,
    /// The migrations applied now, in order; empty when the schema was
    /// already up to date.
    pub applied: Vec<AppliedMigration>,
    /// The schema version the database is at now.
    pub version: u32,
}

/// How a database made by ai-stamp 0.1.0 was recognized.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Adoption {
    /// Made by the reference's `aistamp migrate`: Alembic at this revision.
    Alembic {
        /// The `alembic_version.version_num` found.
        revision: String,
    },
    /// Made by the reference's `create_tables`: the table without history.
    CreateTables,
}

/// One migration that was applied.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppliedMigration {
    /// Its version, the `N` of `VN__name.sql`.
    pub version: u32,
    /// Its name, such as `query_indexes`.
    pub name: String,
}

impl fmt::Display for MigrationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.adopted {
            Some(Adoption::Alembic { revision }) => writeln!(
                f,
                "adopted a database made by ai-stamp 0.1.0 (alembic revision {revision}), rows untouched"
            )?,
            Some(Adoption::CreateTables) => writeln!(
                f,
                "adopted a database made by ai-stamp 0.1.0 (create_tables), rows untouched"
            )?,
            None => {}
        }
        for migration in &self.applied {
            writeln!(f, "applied migration V{} {}", migration.version, migration.name)?;
        }
        if self.applied.is_empty() {
            write!(f, "database schema is up to date at version {}", self.version)
        } else {
            write!(f, "database schema upgraded to version {}", self.version)
        }
    }
}

/// Brings the database on `conn` to the latest schema. Idempotent.
pub(crate) fn migrate(conn: &mut Connection) -> Result<MigrationReport, StoreError> {
    let mut attempt = 1;
    loop {
        match migrate_once(conn) {
            Ok(report) => return Ok(report),
            Err(Failure::Final(err)) => return Err(err),
            Err(Failure::Retry(err)) if attempt >= ATTEMPTS => return Err(err),
            Err(Failure::Retry(err)) => {
                debug!(attempt, error = %err, "migration failed, trying again");
                thread::sleep(Duration::from_millis(25 * u64::from(attempt)));
                attempt += 1;
            }
        }
    }
}

enum Failure {
    /// Possibly a race with another process migrating the same file.
    Retry(StoreError),
    /// A database that cannot be migrated.
    Final(StoreError),
}

fn migrate_once(conn: &mut Connection) -> Result<MigrationReport, Failure> {
    let db = |err: rusqlite::Error| Failure::Retry(classify(&err));
    let refinery = |err: refinery::Error| {
        Failure::Retry(StoreError::Backend { message: format!("migration failed: {err}") })
    };

    let has_records = table_exists(conn, "provenance_records").map_err(db)?;
    let adopted = if has_records && !has_history(conn).map_err(db)? {
        let adoption = adoption(conn)?;
        embedded::migrations::runner()
            .set_target(Target::FakeVersion(1))
            .run(conn)
            .map_err(refinery)?;
        info!(?adoption, "adopted a database made by ai-stamp 0.1.0");
        Some(adoption)
    } else {
        None
    };

    check_history(conn)?;
    let report = embedded::migrations::runner().set_grouped(true).run(conn).map_err(refinery)?;
    let applied: Vec<AppliedMigration> = report
        .applied_migrations()
        .iter()
        .map(|m| AppliedMigration {
            version: u32::try_from(m.version()).unwrap_or(0),
            name: m.name().to_string(),
        })
        .collect();
    for migration in &applied {
        info!(version = migration.version, name = %migration.name, "applied migration");
    }
    let version = embedded::migrations::runner()
        .get_last_applied_migration(conn)
        .map_err(refinery)?
        .map_or(0, |m| u32::try_from(m.version()).unwrap_or(0));
    Ok(MigrationReport { adopted, applied, version })
}

/// Checks every row of refinery's history before refinery reads it, since
/// refinery panics on a row it did not write itself (see
/// [`check_migration_history_entry`]).
fn check_history(conn: &Connection) -> Result<(), Failure> {
    let db = |err: rusqlite::Error| Failure::Retry(classify(&err));
    if !table_exists(conn, HISTORY_TABLE).map_err(db)? {
        return Ok(());
    }
    let sql = format!(
        "SELECT CAST(version AS TEXT), CAST(applied_on AS TEXT), CAST(checksum AS TEXT) \
         FROM {HISTORY_TABLE}"
    );
    let mut statement = conn.prepare(&sql).map_err(db)?;
    let mut rows = statement.query([]).map_err(db)?;
    while let Some(row) = rows.next().map_err(db)? {
        let version: Option<String> = row.get(0).map_err(db)?;
        let version = version.as_deref().unwrap_or("");
        let version = version.parse::<i32>().map_err(|_| {
            Failure::Final(StoreError::Backend {
                message: format!(
                    "migration history row has version '{}': expected an integer; \
                     the {HISTORY_TABLE} table was edited by hand",
                    version.chars().take(40).collect::<String>()
                ),
            })
        })?;
        let applied_on: Option<String> = row.get(1).map_err(db)?;
        let checksum: Option<String> = row.get(2).map_err(db)?;
        check_migration_history_entry(
            i64::from(version),
            applied_on.as_deref().unwrap_or(""),
            checksum.as_deref().unwrap_or(""),
        )
        .map_err(Failure::Final)?;
    }
    Ok(())
}

/// Recognizes a database made by the reference, or says why it is not one.
fn adoption(conn: &Connection) -> Result<Adoption, Failure> {
    let db = |err: rusqlite::Error| Failure::Retry(classify(&err));
    if let Some(problem) = column_mismatch(conn).map_err(db)? {
        return Err(Failure::Final(StoreError::Backend {
            message: format!(
                "cannot adopt the existing provenance_records table: {problem}; \
                 expected the table of ai-stamp 0.1.0"
            ),
        }));
    }
    if !table_exists(conn, "alembic_version").map_err(db)? {
        return Ok(Adoption::CreateTables);
    }
    let revision: Option<String> = conn
        .query_row("SELECT version_num FROM alembic_version", [], |row| row.get(0))
        .optional()
        .map_err(db)?;
    match revision {
        Some(revision) if revision == ALEMBIC_REVISION => Ok(Adoption::Alembic { revision }),
        None => Ok(Adoption::CreateTables),
        Some(other) => Err(Failure::Final(StoreError::Backend {
            message: format!(
                "cannot adopt a database at alembic revision '{}': expected {ALEMBIC_REVISION}",
                other.chars().take(32).collect::<String>()
            ),
        })),
    }
}

/// Creates the table and indexes when missing, without recording history,
/// like the reference's `create_tables`. For development and tests; a later
/// [`migrate`] adopts the result.
pub(crate) fn create_tables(conn: &Connection) -> Result<(), StoreError> {
    let runner = embedded::migrations::runner();
    let has_records = table_exists(conn, "provenance_records").map_err(|e| classify(&e))?;
    for migration in runner.get_migrations() {
        // V1 creates the table; the later migrations only add, idempotently.
        if migration.version() == 1 && has_records {
            continue;
        }
        let sql = migration.sql().unwrap_or_default();
        conn.execute_batch(sql).map_err(|e| classify(&e))?;
    }
    Ok(())
}

/// Checks, when a store opens, that the table is there with the columns a
/// record needs. Returns whether it is missing altogether.
pub(crate) fn table_missing(conn: &Connection) -> Result<bool, StoreError> {
    if !table_exists(conn, "provenance_records").map_err(|e| classify(&e))? {
        return Ok(true);
    }
    match column_mismatch(conn).map_err(|e| classify(&e))? {
        None => Ok(false),
        Some(problem) => Err(StoreError::SchemaMissing { message: problem }),
    }
}

fn table_exists(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [name],
        |row| row.get::<_, i64>(0),
    )
    .map(|count| count > 0)
}

/// Whether refinery's history exists and holds at least one migration (an
/// adoption interrupted after creating the table left it empty).
fn has_history(conn: &Connection) -> rusqlite::Result<bool> {
    if !table_exists(conn, HISTORY_TABLE)? {
        return Ok(false);
    }
    conn.query_row(&format!("SELECT count(*) FROM {HISTORY_TABLE}"), [], |row| row.get::<_, i64>(0))
        .map(|count| count > 0)
}

/// The first way `provenance_records` differs from the reference's table.
fn column_mismatch(conn: &Connection) -> rusqlite::Result<Option<String>> {
    let mut statement =
        conn.prepare("SELECT name, type FROM pragma_table_info('provenance_records')")?;
    let columns = statement
        .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (name, kind) in EXPECTED_COLUMNS {
        match columns.iter().find(|(found, _)| found == name) {
            None => return Ok(Some(format!("provenance_records has no column {name}"))),
            Some((_, found)) if !found.eq_ignore_ascii_case(kind) => {
                return Ok(Some(format!(
                    "column provenance_records.{name} has type '{found}': expected {kind}"
                )));
            }
            Some(_) => {}
        }
    }
    Ok(None)
}
