//! Reading text the user hands over: arguments, files and stdin, always
//! checked to be UTF-8 so that bad bytes become a message, not a crash.

use std::ffi::OsStr;
use std::io::Read;
use std::path::Path;

use crate::error::CliError;

/// Whether `path` names stdin (`-`).
pub(crate) fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// The text of a command-line argument.
///
/// # Errors
///
/// A usage error naming the flag when the argument is not UTF-8.
pub(crate) fn arg_text(flag: &str, value: &OsStr) -> Result<String, CliError> {
    value.to_str().map(str::to_string).ok_or_else(|| {
        CliError::usage(format!("the value of {flag} is not valid UTF-8: expected UTF-8 text"))
    })
}

/// The whole text of a file, or of stdin for `-`.
///
/// # Errors
///
/// A usage error naming the file when it cannot be read or is not UTF-8.
pub(crate) fn read_text(flag: &str, path: &Path) -> Result<String, CliError> {
    let shown = shown_path(path);
    let mut bytes = Vec::new();
    let read = if is_stdin(path) {
        std::io::stdin().lock().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::File::open(path).and_then(|mut file| file.read_to_end(&mut bytes)).map(|_| ())
    };
    read.map_err(|e| CliError::usage(format!("cannot read {flag} {shown}: {}", io_reason(&e))))?;
    String::from_utf8(bytes).map_err(|e| {
        CliError::usage(format!(
            "{flag} {shown} is not valid UTF-8 (invalid byte at offset {}): expected UTF-8 text",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// How a path is named in messages: quoted, or `stdin` for `-`.
pub(crate) fn shown_path(path: &Path) -> String {
    if is_stdin(path) { "stdin".into() } else { format!("'{}'", path.display()) }
}

/// An I/O error in lowercase words, without the OS error number.
pub(crate) fn io_reason(err: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match err.kind() {
        ErrorKind::NotFound => "no such file".into(),
        ErrorKind::PermissionDenied => "permission denied".into(),
        ErrorKind::IsADirectory => "is a directory".into(),
        _ => {
            let text = err.to_string();
            let text = text.split(" (os error").next().unwrap_or(&text);
            let mut chars = text.chars();
            match chars.next() {
                Some(first) => first.to_lowercase().chain(chars).collect(),
                None => text.to_string(),
            }
        }
    }
}
