//! Configuration: the secret key, the database URL and the log level, from
//! code, the environment or a YAML file.
//!
//! Each source yields a [`ConfigLayer`] of the settings it names; layers
//! are merged with [`ConfigLayer::over`] so that every program applies one
//! precedence rule (for the CLI: flags, then `--config FILE`, then the
//! environment, then the defaults).

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use crate::signing::{KeyError, SigningKey};

/// The database used when none is configured: a SQLite file in the current
/// directory, as ai-stamp uses.
pub const DEFAULT_DATABASE_URL: &str = "sqlite:///./aistamp.db";

const ENV_SECRET: &str = "AISTAMP_SECRET_KEY";
const ENV_DATABASE_URL: &str = "AISTAMP_DATABASE_URL";
const ENV_LOG_LEVEL: &str = "AISTAMP_LOG_LEVEL";

/// How much the programs log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Every decision.
    Debug,
    /// Normal operation (the default).
    #[default]
    Info,
    /// Degraded work and policy warnings.
    Warning,
    /// Failures only.
    Error,
}

impl LogLevel {
    /// The name as configured: `DEBUG`, `INFO`, `WARNING` or `ERROR`.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warning => "WARNING",
            LogLevel::Error => "ERROR",
        }
    }

    /// The level as a `tracing` filter directive: `debug`, `info`, `warn`
    /// or `error`.
    pub fn as_filter(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warning => "warn",
            LogLevel::Error => "error",
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LogLevel {
    type Err = ConfigError;

    /// Parses `DEBUG`, `INFO`, `WARNING` (or `WARN`) or `ERROR` in any case.
    fn from_str(text: &str) -> Result<LogLevel, ConfigError> {
        match text.trim().to_ascii_uppercase().as_str() {
            "DEBUG" => Ok(LogLevel::Debug),
            "INFO" => Ok(LogLevel::Info),
            "WARNING" | "WARN" => Ok(LogLevel::Warning),
            "ERROR" => Ok(LogLevel::Error),
            _ => Err(ConfigError::InvalidLogLevel {
                origin: "log level".into(),
                value: text.chars().take(64).collect(),
            }),
        }
    }
}

/// A configuration that cannot be used. Every message names the variable,
/// file or key at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No secret key anywhere.
    #[error("no secret key: set {ENV_SECRET} or `secret_key` in the config file")]
    MissingSecret,
    /// The secret key is too short or blank.
    #[error("invalid secret key from {origin}: {source}")]
    InvalidSecret {
        /// Where the secret came from.
        origin: String,
        /// What is wrong with it.
        source: KeyError,
    },
    /// A log level that is not one of the four.
    #[error("invalid log level '{value}' from {origin}: expected DEBUG, INFO, WARNING or ERROR")]
    InvalidLogLevel {
        /// Where the value came from.
        origin: String,
        /// The value.
        value: String,
    },
    /// An environment variable that is not valid Unicode.
    #[error("environment variable {variable} is not valid UTF-8")]
    NotUnicode {
        /// The variable's name.
        variable: &'static str,
    },
    /// A config file that cannot be read.
    #[error("cannot read config file '{path}': {source}")]
    ReadFile {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A config file that is not the expected YAML.
    #[error("invalid config file '{path}': {message}")]
    InvalidFile {
        /// The file.
        path: String,
        /// What is wrong, naming the key where there is one.
        message: String,
    },
}

/// The settings one source names; the others are `None`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ConfigLayer {
    /// The secret key and where it came from.
    pub secret_key: Option<(String, String)>,
    /// The database URL.
    pub database_url: Option<String>,
    /// The log level and where it came from.
    pub log_level: Option<(String, String)>,
}

impl fmt::Debug for ConfigLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigLayer")
            .field("secret_key", &self.secret_key.as_ref().map(|(s, o)| (s.len(), o)))
            .field("database_url", &self.database_url)
            .field("log_level", &self.log_level)
            .finish()
    }
}

impl ConfigLayer {
    /// The settings of `AISTAMP_SECRET_KEY`, `AISTAMP_DATABASE_URL` and
    /// `AISTAMP_LOG_LEVEL`.
    ///
    /// # Errors
    ///
    /// When a variable is set but is not valid UTF-8.
    pub fn from_env() -> Result<ConfigLayer, ConfigError> {
        fn var(name: &'static str) -> Result<Option<String>, ConfigError> {
            match std::env::var(name) {
                Ok(value) => Ok(Some(value)),
                Err(std::env::VarError::NotPresent) => Ok(None),
                Err(std::env::VarError::NotUnicode(_)) => {
                    Err(ConfigError::NotUnicode { variable: name })
                }
            }
        }
        Ok(ConfigLayer {
            secret_key: var(ENV_SECRET)?.map(|s| (s, ENV_SECRET.to_string())),
            database_url: var(ENV_DATABASE_URL)?,
            log_level: var(ENV_LOG_LEVEL)?.map(|s| (s, ENV_LOG_LEVEL.to_string())),
        })
    }

    /// The settings of a YAML file with the keys `secret_key`,
    /// `database_url` and `log_level`.
    ///
    /// # Errors
    ///
    /// When the file cannot be read, is not a YAML mapping, has a key of
    /// another name or a value that is not a string.
    pub fn from_yaml_file(path: impl AsRef<Path>) -> Result<ConfigLayer, ConfigError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let text = std::fs::read(path)
            .map_err(|source| ConfigError::ReadFile { path: shown.clone(), source })?;
        let text = String::from_utf8(text).map_err(|_| ConfigError::InvalidFile {
            path: shown.clone(),
            message: "not valid UTF-8".into(),
        })?;
        ConfigLayer::from_yaml_str(&text, &shown)
    }

    /// The settings of YAML text; `origin` names it in errors.
    ///
    /// # Errors
    ///
    /// As [`ConfigLayer::from_yaml_file`].
    pub fn from_yaml_str(text: &str, origin: &str) -> Result<ConfigLayer, ConfigError> {
        let invalid = |message: String| ConfigError::InvalidFile { path: origin.into(), message };
        let value: yaml_serde::Value =
            yaml_serde::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let mapping = match value {
            yaml_serde::Value::Null => return Ok(ConfigLayer::default()),
            yaml_serde::Value::Mapping(mapping) => mapping,
            _ => return Err(invalid("expected a mapping of settings at the top level".into())),
        };
        let mut layer = ConfigLayer::default();
        for (key, value) in mapping {
            let Some(key) = key.as_str() else {
                return Err(invalid(format!("expected string keys, found {key:?}")));
            };
            let text = match value {
                yaml_serde::Value::String(s) => s,
                yaml_serde::Value::Null => continue,
                _ => return Err(invalid(format!("key '{key}': expected a string"))),
            };
            let from = format!("'{key}' in {origin}");
            match key {
                "secret_key" => layer.secret_key = Some((text, from)),
                "database_url" => layer.database_url = Some(text),
                "log_level" => layer.log_level = Some((text, from)),
                _ => {
                    return Err(invalid(format!(
                        "unknown key '{key}': expected secret_key, database_url or log_level"
                    )));
                }
            }
        }
        Ok(layer)
    }

    /// This layer with every setting it lacks taken from `lower`.
    pub fn over(self, lower: ConfigLayer) -> ConfigLayer {
        ConfigLayer {
            secret_key: self.secret_key.or(lower.secret_key),
            database_url: self.database_url.or(lower.database_url),
            log_level: self.log_level.or(lower.log_level),
        }
    }

    /// Validates the settings into a [`Config`], with the defaults for what
    /// no layer named.
    ///
    /// # Errors
    ///
    /// No secret, an invalid secret or an invalid log level.
    pub fn build(self) -> Result<Config, ConfigError> {
        let (secret, origin) = self.secret_key.ok_or(ConfigError::MissingSecret)?;
        let signing_key = SigningKey::new(&secret)
            .map_err(|source| ConfigError::InvalidSecret { origin, source })?;
        let log_level = match self.log_level {
            None => LogLevel::default(),
            Some((value, origin)) => value.parse().map_err(|_| ConfigError::InvalidLogLevel {
                origin,
                value: value.chars().take(64).collect(),
            })?,
        };
        Ok(Config {
            signing_key,
            database_url: self.database_url.unwrap_or_else(|| DEFAULT_DATABASE_URL.into()),
            log_level,
        })
    }
}

/// A validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    signing_key: SigningKey,
    database_url: String,
    log_level: LogLevel,
}

impl Config {
    /// A configuration with `secret` and the defaults: the database
    /// [`DEFAULT_DATABASE_URL`] and the level INFO.
    ///
    /// # Errors
    ///
    /// When the secret is shorter than 32 bytes or blank.
    pub fn new(secret: &str) -> Result<Config, ConfigError> {
        ConfigLayer { secret_key: Some((secret.into(), "code".into())), ..ConfigLayer::default() }
            .build()
    }

    /// Configuration from the environment variables `AISTAMP_SECRET_KEY`
    /// (required), `AISTAMP_DATABASE_URL` and `AISTAMP_LOG_LEVEL`.
    ///
    /// # Errors
    ///
    /// As [`ConfigLayer::from_env`] and [`ConfigLayer::build`].
    pub fn from_env() -> Result<Config, ConfigError> {
        ConfigLayer::from_env()?.build()
    }

    /// Configuration from a YAML file; `secret_key` is required.
    ///
    /// # Errors
    ///
    /// As [`ConfigLayer::from_yaml_file`] and [`ConfigLayer::build`].
    pub fn from_yaml_file(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        ConfigLayer::from_yaml_file(path)?.build()
    }

    /// This configuration with another database URL.
    pub fn with_database_url(mut self, url: impl Into<String>) -> Config {
        self.database_url = url.into();
        self
    }

    /// This configuration with another log level.
    pub fn with_log_level(mut self, level: LogLevel) -> Config {
        self.log_level = level;
        self
    }

    /// The key that signs and verifies records.
    pub fn signing_key(&self) -> &SigningKey {
        &self.signing_key
    }

    /// The database URL.
    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    /// The log level.
    pub fn log_level(&self) -> LogLevel {
        self.log_level
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "a-secret-key-that-is-at-least-32-characters";

    #[test]
    fn defaults_apply_to_what_is_not_named() {
        let config = Config::new(SECRET).unwrap();
        assert_eq!(config.database_url(), DEFAULT_DATABASE_URL);
        assert_eq!(config.log_level(), LogLevel::Info);
        assert_eq!(config.signing_key().len(), SECRET.len());
    }

    #[test]
    fn log_levels_parse_in_any_case() {
        for (text, level) in [
            ("debug", LogLevel::Debug),
            ("Info", LogLevel::Info),
            ("WARN", LogLevel::Warning),
            ("warning", LogLevel::Warning),
            ("ERROR", LogLevel::Error),
        ] {
            assert_eq!(text.parse::<LogLevel>().unwrap(), level);
        }
        assert!("TRACE".parse::<LogLevel>().is_err());
    }

    #[test]
    fn yaml_settings_load_and_errors_name_the_key() {
        let yaml =
            format!("secret_key: \"{SECRET}\"\ndatabase_url: sqlite:///x.db\nlog_level: debug\n");
        let config = ConfigLayer::from_yaml_str(&yaml, "c.yaml").unwrap().build().unwrap();
        assert_eq!(config.database_url(), "sqlite:///x.db");
        assert_eq!(config.log_level(), LogLevel::Debug);

        let err = ConfigLayer::from_yaml_str("databse_url: x\n", "c.yaml").unwrap_err();
        assert!(err.to_string().contains("unknown key 'databse_url'"), "{err}");
        let err = ConfigLayer::from_yaml_str("secret_key: [1]\n", "c.yaml").unwrap_err();
        assert!(err.to_string().contains("key 'secret_key': expected a string"), "{err}");
        let err = ConfigLayer::from_yaml_str("- a\n", "c.yaml").unwrap_err();
        assert!(err.to_string().contains("c.yaml"), "{err}");
        let err = ConfigLayer::from_yaml_str(": :\n  - [", "c.yaml").unwrap_err();
        assert!(err.to_string().starts_with("invalid config file 'c.yaml'"), "{err}");

        let err = ConfigLayer::from_yaml_str("log_level: loud\n", "c.yaml").unwrap();
        let err = ConfigLayer { secret_key: Some((SECRET.into(), "code".into())), ..err }
            .build()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid log level 'loud' from 'log_level' in c.yaml: expected DEBUG, INFO, WARNING or ERROR"
        );
        let err = ConfigLayer::from_yaml_str("database_url: x\n", "c.yaml").unwrap().build();
        assert!(matches!(err, Err(ConfigError::MissingSecret)));
        let err = ConfigLayer::from_yaml_str("secret_key: short\n", "c.yaml").unwrap().build();
        assert_eq!(
            err.unwrap_err().to_string(),
            "invalid secret key from 'secret_key' in c.yaml: secret key is 5 bytes long: expected at least 32 bytes"
        );
    }

    #[test]
    fn higher_layers_win() {
        let high = ConfigLayer { database_url: Some("high".into()), ..ConfigLayer::default() };
        let low = ConfigLayer {
            database_url: Some("low".into()),
            secret_key: Some((SECRET.into(), "env".into())),
            log_level: None,
        };
        let config = high.over(low).build().unwrap();
        assert_eq!(config.database_url(), "high");
        assert_eq!(config.signing_key().len(), SECRET.len());
    }

    #[test]
    fn config_files_are_read_and_missing_ones_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("aistamp.yaml");
        std::fs::write(&path, format!("secret_key: {SECRET}\n")).unwrap();
        assert_eq!(Config::from_yaml_file(&path).unwrap().database_url(), DEFAULT_DATABASE_URL);
        let missing = dir.path().join("nope.yaml");
        let err = Config::from_yaml_file(&missing).unwrap_err().to_string();
        assert!(err.contains("nope.yaml"), "{err}");
    }
}
