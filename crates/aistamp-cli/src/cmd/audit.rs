//! `audit --content-id ID`: one record, as text or JSON.

use std::io::Write;

use crate::cli::{AuditArgs, TextOrJson};
use crate::error::CliError;
use crate::format::{audit_text, record_json};
use crate::settings::Settings;
use crate::write_error;

pub(crate) fn run(
    args: &AuditArgs,
    settings: &Settings,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let store = settings.open_existing_store()?;
    let Some(stored) = store.get(&args.content_id)? else {
        return Err(CliError::failure(format!(
            "no provenance record found for content id '{}'",
            args.content_id
        )));
    };
    let text = match args.format {
        TextOrJson::Text => audit_text(&stored.record),
        TextOrJson::Json => record_json(&stored.record).to_pretty() + "\n",
    };
    out.write_all(text.as_bytes()).map_err(write_error)
}
