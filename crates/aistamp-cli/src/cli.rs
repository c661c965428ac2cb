//! The command line as clap parses it: one struct per command, mirroring
//! the flags one to one. Validation beyond a value's own shape happens in
//! `settings`.

use std::ffi::OsString;
use std::path::PathBuf;

use aistamp_core::{PolicyAction, Severity, Status, Timestamp};
use clap::{Args, Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "\
Configuration comes from, highest first: flags, the --config file, the
environment (AISTAMP_SECRET_KEY, AISTAMP_DATABASE_URL, AISTAMP_LOG_LEVEL),
then the defaults (database sqlite:///./aistamp.db, log level INFO).

Exit codes: 0 success; 1 the operation failed (not verified, not found,
blocked, database or provider error); 2 usage error (bad flag or value,
unreadable or invalid input file, unusable configuration).";

/// ai-stamp: provenance tracking and compliance audit for AI-generated
/// content.
#[derive(Debug, Parser)]
#[command(name = "aistamp", version, after_help = EXIT_CODES, max_term_width = 100)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,

    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every command accepts, before or after its name.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub(crate) struct GlobalArgs {
    /// YAML config file with secret_key, database_url and log_level
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,

    /// Database URL: sqlite:///FILE, postgres://... or postgresql://...
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) database_url: Option<String>,

    /// Log level on stderr: DEBUG, INFO, WARNING or ERROR
    #[arg(long, global = true, value_name = "LEVEL")]
    pub(crate) log_level: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    Stamp(StampArgs),
    Audit(AuditArgs),
    Verify(VerifyArgs),
    Report(ReportArgs),
    Scan(ScanArgs),
    Migrate(MigrateArgs),
    #[command(subcommand)]
    Policy(PolicyCommand),
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Validate and display the configuration (same as `config check`)
    #[command(name = "config-check", hide = true)]
    ConfigCheck,
    Completions(CompletionsArgs),
}

/// Call a model and store a signed provenance record of the call.
///
/// The prompt comes from --prompt, --prompt-file or stdin. The model is a
/// local command (--exec: the prompt on its stdin, the response from its
/// stdout; a non-zero exit stores an ERROR record) or an HTTP provider
/// (--provider). The response text is printed on stdout.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  echo 'Summarize this' | aistamp stamp --model local-1 --exec ./my-model.sh --temperature 0
  aistamp stamp --prompt 'Hello' --format json --exec sh -c 'ollama run llama3'
  aistamp stamp --prompt 'Hello' --provider openai --model gpt-4o --format json
  aistamp stamp --prompt-file q.txt --provider http --endpoint http://127.0.0.1:8080/generate \\
      --header 'Authorization: Bearer xyz'")]
pub(crate) struct StampArgs {
    /// The prompt text
    #[arg(long, conflicts_with = "prompt_file")]
    pub(crate) prompt: Option<OsString>,

    /// Read the prompt from this file ('-' for stdin, the default)
    #[arg(long, value_name = "PATH")]
    pub(crate) prompt_file: Option<PathBuf>,

    /// Run this command as the model, prompt on its stdin, response from its stdout. Comes
    /// last: every argument after it belongs to the command
    #[arg(
        long,
        value_name = "CMD",
        num_args = 1..,
        allow_hyphen_values = true,
        conflicts_with = "provider",
        required_unless_present = "provider"
    )]
    pub(crate) exec: Option<Vec<OsString>>,

    /// Call this provider over HTTP
    #[arg(long, value_enum)]
    pub(crate) provider: Option<ProviderKind>,

    /// Provider base URL (openai, anthropic) or full URL (http)
    #[arg(long, value_name = "URL")]
    pub(crate) endpoint: Option<String>,

    /// Extra HTTP header 'Name: value' for the http provider (repeatable)
    #[arg(long = "header", value_name = "HEADER")]
    pub(crate) headers: Vec<String>,

    /// Application id stored in the record
    #[arg(long, default_value = "cli")]
    pub(crate) app_id: String,

    /// Feature id stored in the record
    #[arg(long, default_value = "stamp")]
    pub(crate) feature_id: String,

    /// User id stored in the record
    #[arg(long, default_value = "unknown")]
    pub(crate) user_id: String,

    /// Model name stored in the record (and sent to the provider)
    #[arg(long)]
    pub(crate) model: Option<String>,

    /// Policy YAML file deciding ALLOW, WARN or BLOCK
    #[arg(long, value_name = "FILE")]
    pub(crate) policy: Option<PathBuf>,

    /// YAML file with custom PII patterns
    #[arg(long, value_name = "FILE")]
    pub(crate) extra_patterns: Option<PathBuf>,

    /// Output format
    #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
    pub(crate) format: TextOrJson,
}

/// Where `stamp` sends the prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ProviderKind {
    /// OpenAI Chat Completions (key from OPENAI_API_KEY)
    Openai,
    /// Anthropic Messages (key from ANTHROPIC_API_KEY)
    Anthropic,
    /// Any JSON endpoint: POST {"prompt", "model"}, reply {"text"}
    Http,
}

/// Retrieve the full provenance record for a content id.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  aistamp audit --content-id 4f1c... --format json")]
pub(crate) struct AuditArgs {
    /// The content id to retrieve
    #[arg(long)]
    pub(crate) content_id: String,

    /// Output format
    #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
    pub(crate) format: TextOrJson,
}

/// Verify that a text matches its stored provenance record, or check the
/// signature of every stored record (--all).
///
/// Exits 0 when verified, 1 when not (or the content id is unknown).
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  aistamp verify --content-id 4f1c... --text 'The generated answer'
  aistamp verify --content-id 4f1c... --text-file answer.txt
  aistamp verify --all --from 2025-01-01 --app-id billing")]
pub(crate) struct VerifyArgs {
    /// The content id to verify against
    #[arg(long, required_unless_present = "all", conflicts_with = "all")]
    pub(crate) content_id: Option<String>,

    /// The current text
    #[arg(long, conflicts_with_all = ["text_file", "all"])]
    pub(crate) text: Option<OsString>,

    /// Read the current text from this file ('-' for stdin)
    #[arg(long, value_name = "PATH", conflicts_with = "all")]
    pub(crate) text_file: Option<PathBuf>,

    /// Check the signature of every stored record (narrowed by the filters)
    #[arg(long)]
    pub(crate) all: bool,

    /// Output format
    #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
    pub(crate) format: TextOrJson,

    #[command(flatten)]
    pub(crate) filters: FilterArgs,
}

/// Query and export provenance records.
///
/// Records come ordered by timestamp, then by insertion order.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  aistamp report --from 2025-01-01 --to 2025-01-31 --format csv > january.csv
  aistamp report --status BLOCKED --policy-decision BLOCK --format json")]
pub(crate) struct ReportArgs {
    #[command(flatten)]
    pub(crate) filters: FilterArgs,

    /// Output format
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub(crate) format: ReportFormat,
}

/// The record filters of `report` and `verify --all`.
#[derive(Debug, Args)]
pub(crate) struct FilterArgs {
    /// From this time (YYYY-MM-DD starts the UTC day; ISO 8601 with offset)
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub(crate) from: Option<TimeArg>,

    /// Until this time (YYYY-MM-DD covers the whole UTC day)
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub(crate) to: Option<TimeArg>,

    /// Only this model
    #[arg(long)]
    pub(crate) model: Option<String>,

    /// Only this user id
    #[arg(long)]
    pub(crate) user_id: Option<String>,

    /// Only this app id
    #[arg(long)]
    pub(crate) app_id: Option<String>,

    /// Only this feature id
    #[arg(long)]
    pub(crate) feature_id: Option<String>,

    /// Only this status: COMPLETED, BLOCKED or ERROR
    #[arg(long, value_parser = parse_status)]
    pub(crate) status: Option<Status>,

    /// Only this highest PII severity: HIGH, MEDIUM or LOW
    #[arg(long, value_parser = parse_severity)]
    pub(crate) pii_severity: Option<Severity>,

    /// Only this policy decision: ALLOW, WARN or BLOCK
    #[arg(long, value_parser = parse_action)]
    pub(crate) policy_decision: Option<PolicyAction>,

    /// At most this many records [report default: 100; verify --all: all]
    #[arg(long, value_name = "N", value_parser = parse_count, allow_negative_numbers = true)]
    pub(crate) limit: Option<u64>,

    /// Skip this many records first
    #[arg(long, value_name = "N", value_parser = parse_count, allow_negative_numbers = true)]
    pub(crate) offset: Option<u64>,
}

/// Scan a text file for PII and report the matches.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  aistamp scan --file transcript.txt
  cat log.txt | aistamp scan --file - --extra-patterns patterns.yaml --format json")]
pub(crate) struct ScanArgs {
    /// The file to scan ('-' for stdin)
    #[arg(long, value_name = "PATH")]
    pub(crate) file: PathBuf,

    /// YAML file with custom PII patterns
    #[arg(long, value_name = "YAML")]
    pub(crate) extra_patterns: Option<PathBuf>,

    /// Output format
    #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
    pub(crate) format: TextOrJson,
}

/// Create the provenance table, or bring it to the latest schema.
///
/// Idempotent; adopts a database made by ai-stamp 0.1.0 without touching
/// its rows.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  aistamp migrate --database-url sqlite:///./aistamp.db
  AISTAMP_DATABASE_URL=postgres://user@localhost/audit aistamp migrate")]
pub(crate) struct MigrateArgs {}

/// Policy commands.
#[derive(Debug, Subcommand)]
pub(crate) enum PolicyCommand {
    /// Validate a policy file and summarize its tiers and rules.
    #[command(after_help = "Example:\n  aistamp policy check policy.yaml")]
    Check {
        /// The policy YAML file
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

/// Configuration commands.
#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Validate and display the configuration; the secret only as its length.
    #[command(after_help = "Example:\n  aistamp config check --config aistamp.yaml")]
    Check,
}

/// Print a shell completion script.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  aistamp completions bash > ~/.local/share/bash-completion/completions/aistamp"
)]
pub(crate) struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}

/// `text` or `json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum TextOrJson {
    Text,
    Json,
}

/// `text`, `json` or `csv`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReportFormat {
    Text,
    Json,
    Csv,
}

/// A time given on the command line, remembering whether it was a bare
/// date (which `--to` widens to the end of that day).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimeArg {
    pub(crate) at: Timestamp,
    pub(crate) date_only: bool,
}

fn parse_time(text: &str) -> Result<TimeArg, String> {
    let at = Timestamp::parse(text).map_err(|e| e.to_string())?;
    let date_only = !text.trim().contains(['T', 't', ' ']);
    Ok(TimeArg { at, date_only })
}

fn parse_status(text: &str) -> Result<Status, String> {
    text.parse().map_err(|e: aistamp_core::ParseEnumError| e.to_string())
}

fn parse_severity(text: &str) -> Result<Severity, String> {
    text.parse().map_err(|e: aistamp_core::ParseEnumError| e.to_string())
}

fn parse_action(text: &str) -> Result<PolicyAction, String> {
    text.parse().map_err(|e: aistamp_core::ParseEnumError| e.to_string())
}

fn parse_count(text: &str) -> Result<u64, String> {
    text.trim().parse::<u64>().map_err(|_| {
        let shown: String = text.chars().take(32).collect();
        format!("invalid count '{shown}': expected a whole number, 0 or more")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn dates_remember_whether_they_were_bare() {
        assert!(parse_time("2025-03-14").unwrap().date_only);
        assert!(!parse_time("2025-03-14T10:00:00+02:00").unwrap().date_only);
        assert!(parse_time("14/03/2025").unwrap_err().contains("'14/03/2025'"));
        assert!(parse_count("-1").unwrap_err().contains("'-1'"));
        assert_eq!(parse_count("25").unwrap(), 25);
    }
}
