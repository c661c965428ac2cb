//! `config check`: validates the configuration and shows it, the secret
//! only as its length.

use std::io::Write;

use crate::error::CliError;
use crate::settings::Settings;
use crate::write_error;

pub(crate) fn check(settings: &Settings, out: &mut dyn Write) -> Result<(), CliError> {
    let config = settings.config()?;
    let level = settings.log_level()?;
    writeln!(
        out,
        "Configuration OK\n\nsecret_key:   [SET - {} bytes]\ndatabase_url: {}\nlog_level:    {}",
        config.signing_key().len(),
        crate::settings::redact_url(config.database_url()),
        level,
    )
    .map_err(write_error)
}
