//! Validated settings: the configuration layers merged under one
//! precedence rule (flags, then `--config FILE`, then the environment,
//! then the defaults), and the means to open what a command needs.

use aistamp_core::{Config, ConfigError, ConfigLayer, DEFAULT_DATABASE_URL, LogLevel, RecordStore};

use crate::cli::GlobalArgs;
use crate::error::CliError;

/// The merged configuration layers of one invocation.
#[derive(Debug)]
pub(crate) struct Settings {
    layer: ConfigLayer,
}

impl Settings {
    /// Merges the flags, the `--config` file and the environment.
    ///
    /// # Errors
    ///
    /// An unreadable or invalid config file, a variable that is not UTF-8.
    pub(crate) fn load(global: &GlobalArgs) -> Result<Settings, CliError> {
        let flags = ConfigLayer {
            secret_key: None,
            database_url: global.database_url.clone(),
            log_level: global.log_level.clone().map(|level| (level, "--log-level".into())),
        };
        let file = match &global.config {
            Some(path) => ConfigLayer::from_yaml_file(path)?,
            None => ConfigLayer::default(),
        };
        let env = ConfigLayer::from_env()?;
        Ok(Settings { layer: flags.over(file).over(env) })
    }

    /// The database URL, or the default SQLite file.
    pub(crate) fn database_url(&self) -> &str {
        self.layer.database_url.as_deref().unwrap_or(DEFAULT_DATABASE_URL)
    }

    /// The log level, or INFO.
    ///
    /// # Errors
    ///
    /// A level that is not one of the four, naming where it came from.
    pub(crate) fn log_level(&self) -> Result<LogLevel, CliError> {
        let Some((value, origin)) = &self.layer.log_level else {
            return Ok(LogLevel::default());
        };
        value.parse().map_err(|_| {
            ConfigError::InvalidLogLevel {
                origin: origin.clone(),
                value: value.chars().take(64).collect(),
            }
            .into()
        })
    }

    /// The whole validated configuration, for commands that sign or verify.
    ///
    /// # Errors
    ///
    /// No secret key, or one that is too short or blank.
    pub(crate) fn config(&self) -> Result<Config, CliError> {
        Ok(self.layer.clone().build()?)
    }

    /// Opens the configured store.
    ///
    /// # Errors
    ///
    /// An unusable URL (exit 2), an unreachable database (exit 1).
    pub(crate) fn open_store(&self) -> Result<Box<dyn RecordStore>, CliError> {
        crate::backends::open_store(self.database_url())
    }

    /// Opens the configured store for reading; a SQLite file that does not
    /// exist is an error, not a new database.
    ///
    /// # Errors
    ///
    /// As [`Settings::open_store`], and a missing SQLite file (exit 1).
    pub(crate) fn open_existing_store(&self) -> Result<Box<dyn RecordStore>, CliError> {
        crate::backends::open_existing_store(self.database_url())
    }
}

/// `url` with any password replaced by `***`, fit for messages.
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return url.to_string();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}{path}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact_url("postgres://bob:hunter2@db:5432/audit?sslmode=require"),
            "postgres://bob:***@db:5432/audit?sslmode=require"
        );
        assert_eq!(redact_url("postgres://bob@db/audit"), "postgres://bob@db/audit");
        assert_eq!(redact_url("sqlite:///./a.db"), "sqlite:///./a.db");
    }
}
