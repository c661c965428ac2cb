//! `stamp`: one model call from the shell, stamped with a signed record.
//! The model is a local command (`--exec`) or an HTTP provider.

use std::io::{IsTerminal, Read, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;

use aistamp::{ChatError, ProvenanceClient, Stamped};
use aistamp_core::{RecordStore, Status};
use aistamp_providers::{Anthropic, GenericHttp, OpenAi, Provider, ProviderError, from_fn};

use crate::cli::{ProviderKind, StampArgs, TextOrJson};
use crate::error::CliError;
use crate::format::record_json;
use crate::input::{arg_text, read_text};
use crate::json::Json;
use crate::settings::Settings;
use crate::write_error;

const EMPTY_PROMPT: &str = "invalid prompt: expected text that is not empty or only whitespace";

pub(crate) fn run(
    args: StampArgs,
    settings: &Settings,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    // Everything the user gave is checked before the store is touched or
    // the model is called.
    let prompt = match (&args.prompt, &args.prompt_file) {
        (Some(prompt), _) => arg_text("--prompt", prompt)?,
        (None, Some(path)) => read_text("--prompt-file", path)?,
        (None, None) => read_text("--prompt-file", std::path::Path::new("-"))?,
    };
    if prompt.trim().is_empty() {
        return Err(CliError::usage(EMPTY_PROMPT));
    }
    let config = settings.config()?;
    let policy = args.policy.as_deref().map(crate::cmd::policy::load).transpose()?;
    let patterns = match &args.extra_patterns {
        Some(path) => aistamp_pii::load_patterns_from_yaml_file(path).map_err(|e| {
            CliError::usage(format!("invalid PII patterns file '{}': {e}", path.display()))
        })?,
        None => Vec::new(),
    };
    let provider = provider(&args)?;
    let store: Arc<dyn RecordStore> = Arc::from(settings.open_store()?);

    let mut builder = ProvenanceClient::builder(provider, config)
        .app_id(&args.app_id)
        .feature_id(&args.feature_id)
        .user_id(&args.user_id)
        .pii_patterns(patterns)
        .shared_store(store);
    if let Some(policy) = policy {
        builder = builder.policy(policy);
    }
    let client = builder.build().map_err(|e| CliError::usage(e.to_string()))?;

    match client.chat(&prompt, args.model.as_deref()) {
        Ok(stamped) => {
            tracing::info!(content_id = %stamped.content_id, status = %stamped.status, "stamped");
            print_stamped(&stamped, args.format, out)
        }
        Err(err) => failed(&err, args.format, out),
    }
}

/// The model the call goes to.
fn provider(args: &StampArgs) -> Result<Box<dyn Provider>, CliError> {
    let provider_error = |e: ProviderError| CliError::usage(e.to_string());
    if let Some(command) = &args.exec {
        return exec_provider(command);
    }
    let endpoint = args.endpoint.as_deref();
    match args.provider {
        Some(ProviderKind::Openai) => {
            let mut builder = OpenAi::builder();
            if let Some(url) = endpoint {
                builder = builder.base_url(url);
            }
            Ok(Box::new(builder.build().map_err(provider_error)?))
        }
        Some(ProviderKind::Anthropic) => {
            let mut builder = Anthropic::builder();
            if let Some(url) = endpoint {
                builder = builder.base_url(url);
            }
            Ok(Box::new(builder.build().map_err(provider_error)?))
        }
        Some(ProviderKind::Http) => {
            let Some(url) = endpoint else {
                return Err(CliError::usage("--provider http needs --endpoint URL"));
            };
            let mut builder = GenericHttp::builder(url);
            for header in &args.headers {
                let Some((name, value)) = header.split_once(':') else {
                    return Err(CliError::usage(format!(
                        "invalid --header '{}': expected 'Name: value'",
                        header.split(':').next().unwrap_or_default()
                    )));
                };
                builder = builder.header(name.trim(), value.trim());
            }
            Ok(Box::new(builder.build().map_err(provider_error)?))
        }
        None => Err(CliError::usage("stamp needs a model: --exec CMD [ARGS...] or --provider")),
    }
}

/// A provider that runs `command` with the prompt on its stdin and takes
/// its stdout as the response.
fn exec_provider(command: &[std::ffi::OsString]) -> Result<Box<dyn Provider>, CliError> {
    let Some((program, rest)) = command.split_first() else {
        return Err(CliError::usage("--exec needs a command"));
    };
    let program = program.clone();
    let rest = rest.to_vec();
    let shown = program.to_string_lossy().into_owned();
    let provider = from_fn(move |prompt: &str| -> Result<String, String> {
        run_model_command(&program, &rest, &shown, prompt)
    });
    Ok(Box::new(provider))
}

fn run_model_command(
    program: &std::ffi::OsStr,
    args: &[std::ffi::OsString],
    shown: &str,
    prompt: &str,
) -> Result<String, String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot run '{shown}': {}", crate::input::io_reason(&e)))?;

    // The prompt is written while the output is read, so that neither
    // side can fill a pipe and wait for the other.
    let mut stdin = child.stdin.take();
    let prompt = prompt.to_string();
    let writer = std::thread::spawn(move || {
        if let Some(stdin) = stdin.as_mut() {
            // A command that does not read its input may close it early.
            let _ = stdin.write_all(prompt.as_bytes());
        }
    });
    let mut output = Vec::new();
    let read = child.stdout.take().map(|mut stdout| stdout.read_to_end(&mut output));
    let _ = writer.join();
    let status = child.wait().map_err(|e| format!("'{shown}' failed: {e}"))?;
    if let Some(Err(e)) = read {
        return Err(format!("cannot read the output of '{shown}': {e}"));
    }
    if !status.success() {
        return Err(match status.code() {
            Some(code) => format!("'{shown}' exited with status {code}"),
            None => format!("'{shown}' was killed by a signal"),
        });
    }
    String::from_utf8(output).map_err(|e| {
        format!(
            "the output of '{shown}' is not valid UTF-8 (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}

fn print_stamped(
    stamped: &Stamped,
    format: TextOrJson,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    match format {
        TextOrJson::Text => {
            // The text exactly as the model gave it, so that it verifies;
            // a terminal gets a final newline for readability.
            out.write_all(stamped.text.as_bytes()).map_err(write_error)?;
            if std::io::stdout().is_terminal() && !stamped.text.ends_with('\n') {
                out.write_all(b"\n").map_err(write_error)?;
            }
            Ok(())
        }
        TextOrJson::Json => {
            let json = outcome_json(
                &stamped.content_id,
                stamped.status,
                Some(&stamped.text),
                record_json(&stamped.record),
            );
            out.write_all((json.to_pretty() + "\n").as_bytes()).map_err(write_error)
        }
    }
}

/// `content_id`, `status`, `text` and `policy_decision`, then the rest
/// of the record's fields.
fn outcome_json(content_id: &str, status: Status, text: Option<&str>, record: Json) -> Json {
    let Json::Object(fields) = record else {
        return record;
    };
    let decision = fields
        .iter()
        .find(|(key, _)| *key == "policy_decision")
        .map_or(Json::Null, |(_, value)| value.clone());
    let mut out = vec![
        ("content_id", Json::Str(content_id.to_string())),
        ("status", Json::Str(status.as_str().into())),
        ("text", Json::opt_str(text)),
        ("policy_decision", decision),
    ];
    out.extend(
        fields
            .into_iter()
            .filter(|(key, _)| !matches!(*key, "content_id" | "status" | "policy_decision")),
    );
    Json::Object(out)
}

/// Reports a call that did not complete: blocked (exit 1, naming the
/// rule), failed at the model (exit 1, an ERROR record), or not stamped.
fn failed(err: &ChatError, format: TextOrJson, out: &mut dyn Write) -> Result<(), CliError> {
    let status = match err {
        ChatError::EmptyPrompt => {
            return Err(CliError::usage(EMPTY_PROMPT));
        }
        ChatError::Blocked { .. } => Status::Blocked,
        ChatError::Model { .. } => Status::Error,
        _ => return Err(CliError::failure(err.to_string())),
    };
    if format == TextOrJson::Json {
        let decision = err.decision().map_or(Json::Null, |d| {
            Json::Object(vec![
                ("action", Json::Str(d.action.as_str().into())),
                ("rule_name", Json::opt_str(d.rule_name.as_deref())),
                ("reason", Json::opt_str(d.reason.as_deref())),
            ])
        });
        let json = Json::Object(vec![
            ("content_id", Json::opt_str(err.content_id())),
            ("status", Json::Str(status.as_str().into())),
            ("text", Json::Null),
            ("policy_decision", decision),
            ("error", Json::Str(err.to_string())),
        ]);
        out.write_all((json.to_pretty() + "\n").as_bytes()).map_err(write_error)?;
    }
    Err(CliError::failure(err.to_string()))
}
