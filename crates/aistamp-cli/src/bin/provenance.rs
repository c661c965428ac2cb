//! The `provenance` binary: the aistamp command line.

fn main() -> std::process::ExitCode {
    aistamp_cli::run()
}
