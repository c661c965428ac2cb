//! Failures of the environment: databases that cannot be used, and the
//! guarantee that nothing ends in a panic.

use crate::support::Env;

#[test]
fn unusable_database_urls_are_usage_errors() {
    let env = Env::sqlite();
    let run = env.run(&["report", "--database-url", "mysql://root:hunter2@db/x"]);
    run.expect_error(2, "invalid database URL 'mysql://root:***@db/x'");
    assert!(!run.stderr.contains("hunter2"));
}

#[test]
fn an_unreachable_database_is_an_operation_failure() {
    let env = Env::sqlite();
    // Port 1 on loopback: nothing listens there.
    let url = "postgres://aistamp:hunter2@127.0.0.1:1/audit?connect_timeout=2";
    let run = env.run(&["report", "--database-url", url]);
    run.expect_error(1, "database unavailable");
    assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);

    std::fs::create_dir(env.path("a-directory")).unwrap();
    let url = format!("sqlite:///{}", env.path("a-directory").display());
    env.run(&["audit", "--content-id", "x", "--database-url", &url]).expect_error(1, "database");
}

#[test]
fn a_file_that_is_not_a_database_is_an_operation_failure() {
    let env = Env::sqlite();
    std::fs::write(env.path("aistamp.db"), "this is not a database, just text ".repeat(200))
        .unwrap();
    let run = env.run(&["report"]);
    run.expect_code(1);
    assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

#[test]
fn unknown_commands_and_flags_are_usage_errors() {
    let env = Env::sqlite();
    env.run(&["frobnicate"]).expect_code(2);
    env.run(&["report", "--colour"]).expect_code(2);
    let run = env.run(&[]);
    run.expect_code(2);
    assert!(run.stderr.contains("Usage"), "{}", run.stderr);
}

#[cfg(unix)]
#[test]
fn bytes_that_are_not_utf8_in_arguments_or_environment_are_usage_errors() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    let env = Env::sqlite();
    let bad = OsStr::from_bytes(b"id-\xff");
    for args in [["audit", "--content-id"], ["report", "--model"], ["report", "--database-url"]] {
        let mut command = env.command();
        command.args(args).arg(bad);
        let run = crate::support::run_command(command, None);
        run.expect_code(2);
        assert!(run.stderr.contains("UTF-8"), "{args:?}: {}", run.stderr);
    }
    let mut command = env.command();
    command.env("AISTAMP_DATABASE_URL", bad).arg("report");
    crate::support::run_command(command, None)
        .expect_error(2, "environment variable AISTAMP_DATABASE_URL is not valid UTF-8");
}

#[test]
fn reading_commands_do_not_create_a_missing_sqlite_file() {
    let env = Env::sqlite();
    let missing = env.path("never-stamped.db");
    let url = format!("sqlite:///{}", missing.display());
    for args in [
        vec!["report"],
        vec!["audit", "--content-id", "x"],
        vec!["verify", "--content-id", "x", "--text", "y"],
        vec!["verify", "--all"],
    ] {
        let mut args = args;
        args.extend(["--database-url", url.as_str()]);
        let run = env.run(&args);
        run.expect_error(1, "never-stamped.db' does not exist");
        assert!(!missing.exists(), "{args:?} created the database");
    }
}
