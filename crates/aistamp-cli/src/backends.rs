//! Opening a record store from a database URL: SQLite for `sqlite:`
//! URLs, PostgreSQL for `postgres:`/`postgresql:` ones.

use aistamp_core::RecordStore;
use aistamp_store_pg::BlockingPgStore;
use aistamp_store_sqlite::{SqliteLocation, SqliteStore};

use crate::error::CliError;
use crate::settings::redact_url;

/// The database family a URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// Which backend `url` is for.
///
/// # Errors
///
/// A usage error for any other scheme.
pub(crate) fn backend_of(url: &str) -> Result<Backend, CliError> {
    let scheme = url.split_once(':').map(|(scheme, _)| scheme.to_ascii_lowercase());
    // `postgresql+psycopg2://` and the like: the driver part is ignored.
    let family = scheme.as_deref().map(|s| s.split('+').next().unwrap_or(s));
    match family {
        Some("sqlite") => Ok(Backend::Sqlite),
        Some("postgres" | "postgresql") => Ok(Backend::Postgres),
        _ => Err(CliError::usage(format!(
            "invalid database URL '{}': expected sqlite:///FILE, postgres://... or postgresql://...",
            redact_url(url)
        ))),
    }
}

/// Opens the store at `url`.
///
/// # Errors
///
/// An unusable URL (exit 2); an unreachable database or a missing schema
/// (exit 1).
pub(crate) fn open_store(url: &str) -> Result<Box<dyn RecordStore>, CliError> {
    match backend_of(url)? {
        Backend::Sqlite => Ok(Box::new(SqliteStore::open(url)?)),
        // The blocking PostgreSQL store runs a small runtime of its own,
        // started only here, when a command needs the database.
        Backend::Postgres => Ok(Box::new(BlockingPgStore::connect(url)?)),
    }
}

/// Opens the store at `url` for reading: a SQLite file that does not exist
/// is an error rather than a new, empty database.
///
/// # Errors
///
/// As [`open_store`], and a failure (exit 1) for a missing SQLite file.
pub(crate) fn open_existing_store(url: &str) -> Result<Box<dyn RecordStore>, CliError> {
    if backend_of(url)? == Backend::Sqlite
        && let Ok(SqliteLocation::File(path)) = SqliteLocation::parse(url)
        && !path.exists()
    {
        return Err(CliError::failure(format!(
            "database file '{}' does not exist: expected an existing database \
             (stamp a call or run `aistamp migrate` to create one)",
            path.display()
        )));
    }
    open_store(url)
}
