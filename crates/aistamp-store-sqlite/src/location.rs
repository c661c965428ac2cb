//! Where a store lives: a database URL parsed into a file path or memory.

use std::fmt;
use std::path::PathBuf;

use aistamp_core::StoreError;

/// The database a URL names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SqliteLocation {
    /// A private in-memory database, gone when the store is dropped.
    Memory,
    /// A database file, created on first use.
    File(PathBuf),
}

impl SqliteLocation {
    /// Parses a database URL in the reference's (SQLAlchemy's) form:
    /// `sqlite:///relative.db`, `sqlite:////absolute.db` or
    /// `sqlite:///:memory:` (also `sqlite://`). A driver part such as
    /// `sqlite+pysqlite://` or `sqlite+aiosqlite://` is ignored. The path is
    /// taken literally, without percent-decoding.
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidUrl`] naming the URL for anything else: another
    /// scheme, a host, query parameters or an empty path.
    pub fn parse(url: &str) -> Result<SqliteLocation, StoreError> {
        let invalid = |reason: &str| StoreError::InvalidUrl {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(invalid("expected sqlite:///<path> or sqlite:///:memory:"));
        };
        let dialect = scheme.split_once('+').map_or(scheme, |(dialect, _driver)| dialect);
        if !dialect.eq_ignore_ascii_case("sqlite") {
            return Err(invalid("expected the scheme sqlite://"));
        }
        if rest.is_empty() {
            return Ok(SqliteLocation::Memory);
        }
        let Some(path) = rest.strip_prefix('/') else {
            return Err(invalid("expected no host: sqlite:///<path> with three slashes"));
        };
        if path.contains('?') {
            return Err(invalid("query parameters are not supported"));
        }
        match path {
            "" => Err(invalid("expected a file path after sqlite:///")),
            ":memory:" => Ok(SqliteLocation::Memory),
            path => Ok(SqliteLocation::File(PathBuf::from(path))),
        }
    }
}

impl fmt::Display for SqliteLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqliteLocation::Memory => f.write_str(":memory:"),
            SqliteLocation::File(path) => write!(f, "{}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_reference_forms() {
        let file = |p: &str| SqliteLocation::File(PathBuf::from(p));
        for (url, expected) in [
            ("sqlite:///relative.db", file("relative.db")),
            ("sqlite:///./aistamp.db", file("./aistamp.db")),
            ("sqlite:////absolute/dir/a.db", file("/absolute/dir/a.db")),
            ("sqlite:///:memory:", SqliteLocation::Memory),
            ("sqlite://", SqliteLocation::Memory),
            ("sqlite+pysqlite:///x.db", file("x.db")),
            ("sqlite+aiosqlite:////tmp/x.db", file("/tmp/x.db")),
            ("SQLITE:///x.db", file("x.db")),
        ] {
            assert_eq!(SqliteLocation::parse(url).unwrap(), expected, "{url}");
        }
    }

    #[test]
    fn rejects_other_urls_naming_them() {
        for url in [
            "postgresql://localhost/db",
            "aistamp.db",
            "sqlite:/x.db",
            "sqlite://host/x.db",
            "sqlite:///",
            "sqlite:///x.db?mode=ro",
            "",
        ] {
            let err = SqliteLocation::parse(url).unwrap_err();
            assert!(matches!(err, StoreError::InvalidUrl { .. }), "{url}: {err:?}");
            assert!(err.to_string().contains(&format!("'{url}'")), "{err}");
        }
    }
}
