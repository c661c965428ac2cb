//! `config check` and the one precedence rule: flags, then `--config`,
//! then the environment, then the defaults.

use crate::support::{Env, SECRET, snapshot};

#[test]
fn config_check_shows_the_secret_only_as_its_length() {
    let env = Env::sqlite();
    let run =
        env.run_with(&["config", "check"], None, &[("AISTAMP_DATABASE_URL", "sqlite:///x.db")]);
    run.expect_code(0);
    snapshot("config_check.txt", &run.stdout);
    assert!(!run.stdout.contains(SECRET));
    // The README's spelling works too.
    let alias =
        env.run_with(&["config-check"], None, &[("AISTAMP_DATABASE_URL", "sqlite:///x.db")]);
    assert_eq!(alias.stdout, run.stdout);
}

#[test]
fn flags_beat_the_config_file_which_beats_the_environment() {
    let env = Env::sqlite();
    let file = env.path("aistamp.yaml");
    let file_secret = "a-secret-from-the-config-file-0123456789";
    std::fs::write(
        &file,
        format!(
            "secret_key: {file_secret}\ndatabase_url: sqlite:///from-file.db\nlog_level: debug\n"
        ),
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let vars = [("AISTAMP_DATABASE_URL", "sqlite:///from-env.db"), ("AISTAMP_LOG_LEVEL", "error")];

    let run = env.run_with(&["config", "check"], None, &vars);
    assert!(run.stdout.contains("database_url: sqlite:///from-env.db\n"), "{}", run.stdout);
    assert!(run.stdout.contains("log_level:    ERROR\n"), "{}", run.stdout);

    let run = env.run_with(&["config", "check", "--config", file], None, &vars);
    assert!(run.stdout.contains("database_url: sqlite:///from-file.db\n"), "{}", run.stdout);
    assert!(run.stdout.contains("log_level:    DEBUG\n"), "{}", run.stdout);
    let length = format!("[SET - {} bytes]", file_secret.len());
    assert!(run.stdout.contains(&length), "{}", run.stdout);

    let run = env.run_with(
        &["--config", file, "config", "check", "--database-url", "sqlite:///flag.db"],
        None,
        &vars,
    );
    assert!(run.stdout.contains("database_url: sqlite:///flag.db\n"), "{}", run.stdout);
}

#[test]
fn bad_configurations_are_usage_errors_that_name_the_source() {
    let env = Env::sqlite();
    let no_secret =
        env.command().env_remove("AISTAMP_SECRET_KEY").args(["config", "check"]).output();
    let no_secret = no_secret.unwrap();
    assert_eq!(no_secret.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_secret.stderr).contains("no secret key"));

    let blank = " ".repeat(40);
    env.run_with(&["config", "check"], None, &[("AISTAMP_SECRET_KEY", &blank)]).expect_error(
        2,
        "invalid secret key from AISTAMP_SECRET_KEY: secret key is only whitespace",
    );
    env.run_with(&["config", "check"], None, &[("AISTAMP_SECRET_KEY", "short")])
        .expect_error(2, "secret key is 5 bytes long: expected at least 32 bytes");
    env.run_with(&["config", "check"], None, &[("AISTAMP_LOG_LEVEL", "loud")])
        .expect_error(2, "invalid log level 'loud' from AISTAMP_LOG_LEVEL");
    env.run(&["config", "check", "--log-level", "trace"])
        .expect_error(2, "invalid log level 'trace' from --log-level");

    env.run(&["config", "check", "--config", "missing.yaml"])
        .expect_error(2, "cannot read config file 'missing.yaml'");
    std::fs::write(env.path("bad.yaml"), "secret_key: [unclosed\n").unwrap();
    env.run(&["config", "check", "--config", "bad.yaml"])
        .expect_error(2, "invalid config file 'bad.yaml'");
    std::fs::write(env.path("typo.yaml"), "databse_url: x\n").unwrap();
    env.run(&["config", "check", "--config", "typo.yaml"])
        .expect_error(2, "unknown key 'databse_url'");
    std::fs::write(env.path("bytes.yaml"), b"secret_key: \xff\xfe\n").unwrap();
    env.run(&["config", "check", "--config", "bytes.yaml"]).expect_error(2, "not valid UTF-8");
}

#[test]
fn log_events_go_to_stderr_and_never_to_stdout() {
    let env = crate::support::seeded_sqlite();
    let quiet = env.run(&["report", "--format", "json"]);
    let loud = env.run(&["report", "--format", "json", "--log-level", "debug"]);
    quiet.expect_code(0);
    loud.expect_code(0);
    assert_eq!(
        crate::support::mask_generated_at(&quiet.stdout),
        crate::support::mask_generated_at(&loud.stdout)
    );
    assert!(quiet.stderr.is_empty(), "{}", quiet.stderr);
    assert!(
        loud.stderr.contains("DEBUG") && loud.stderr.contains("report queried"),
        "{}",
        loud.stderr
    );
}
