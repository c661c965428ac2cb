//! `migrate`: brings the configured database to the latest schema,
//! creating it when new and adopting one made by ai-stamp 0.1.0.

use std::io::Write;

use crate::backends::{Backend, backend_of};
use crate::error::CliError;
use crate::settings::{Settings, redact_url};
use crate::write_error;

pub(crate) fn run(settings: &Settings, out: &mut dyn Write) -> Result<(), CliError> {
    let url = settings.database_url();
    let report = match backend_of(url)? {
        Backend::Sqlite => aistamp_store_sqlite::migrate(url)?.to_string(),
        Backend::Postgres => {
            pg_report(&aistamp_store_pg::BlockingPgStore::connect(url)?.migrate()?)
        }
    };
    tracing::info!(database = %redact_url(url), "migrated");
    // The last line is the reference's, which scripts may look for.
    writeln!(out, "{report}\nDatabase schema upgraded to head.").map_err(write_error)
}

/// The PostgreSQL store's migration report in the words the SQLite store
/// uses for its own.
fn pg_report(report: &aistamp_store_pg::MigrationReport) -> String {
    let mut lines = Vec::new();
    match report.adopted {
        Some(aistamp_store_pg::Adoption::Alembic) => lines.push(
            "adopted a database made by ai-stamp 0.1.0 (alembic revision 0001), rows untouched"
                .to_string(),
        ),
        Some(_) => lines.push(
            "adopted a database made by ai-stamp 0.1.0 (create_tables), rows untouched".to_string(),
        ),
        None => {}
    }
    for name in &report.applied {
        lines.push(format!("applied migration {name}"));
    }
    lines.push(if report.applied.is_empty() {
        format!("database schema is up to date at version {}", report.version)
    } else {
        format!("database schema upgraded to version {}", report.version)
    });
    lines.join("\n")
}
