//! `--help` of every command, compared with stored snapshots.

use crate::support::{Env, snapshot};

#[test]
fn help_of_every_command_matches_its_snapshot() {
    let env = Env::sqlite();
    let commands: [&[&str]; 11] = [
        &[],
        &["stamp"],
        &["audit"],
        &["verify"],
        &["report"],
        &["scan"],
        &["migrate"],
        &["policy", "check"],
        &["config", "check"],
        &["completions"],
        &["policy"],
    ];
    for command in commands {
        let mut args = command.to_vec();
        args.push("--help");
        let run = env.run(&args);
        run.expect_code(0);
        let name = if command.is_empty() { "main".to_string() } else { command.join("_") };
        snapshot(&format!("help_{name}.txt"), &run.stdout);
        if !command.is_empty() && command != ["policy"] {
            assert!(run.stdout.contains("Example"), "{name} help has no example");
        }
    }
}

#[test]
fn both_binary_names_run_the_same_program() {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_provenance"));
    command.arg("--version");
    let run = crate::support::run_command(command, None);
    run.expect_code(0);
    assert!(run.stdout.starts_with("aistamp "), "{}", run.stdout);
}

#[test]
fn completions_are_printed_for_each_shell() {
    let env = Env::sqlite();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let run = env.run(&["completions", shell]);
        run.expect_code(0);
        assert!(run.stdout.contains("verify"), "{shell}: {}", run.stdout);
    }
    env.run(&["completions", "tcsh"]).expect_code(2);
}
