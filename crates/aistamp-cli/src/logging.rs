//! The tracing subscriber of the binaries: events of our crates at the
//! configured level, everything else at WARN, all on stderr.

use std::io::IsTerminal;

use aistamp_core::LogLevel;
use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the subscriber for `level`. Dependencies (HTTP, database
/// drivers) log at WARN and above only, so DEBUG stays readable.
pub(crate) fn init(level: LogLevel) {
    let ours = match level {
        LogLevel::Debug => Level::DEBUG,
        LogLevel::Info => Level::INFO,
        LogLevel::Warning => Level::WARN,
        LogLevel::Error => Level::ERROR,
    };
    let filter = Targets::new().with_default(Level::WARN.min(ours)).with_target("aistamp", ours);
    let format = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(true);
    // A second call (in tests of the library) keeps the first subscriber.
    let _ = tracing_subscriber::registry().with(format).with(filter).try_init();
}
