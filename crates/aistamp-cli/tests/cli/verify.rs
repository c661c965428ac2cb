//! `verify` of one text and `verify --all`, including tampered rows and the
//! database made by the reference implementation.

use crate::support::{Env, response, seeded_sqlite, snapshot};

const ID0: &str = "00000000-aaaa-4bbb-8ccc-dddddddddddd";

#[test]
fn a_matching_text_verifies_and_exits_zero() {
    let env = seeded_sqlite();
    let run = env.run(&["verify", "--content-id", ID0, "--text", &response(0)]);
    run.expect_code(0);
    snapshot("verify_ok.txt", &run.stdout);
    let run = env.run(&["verify", "--content-id", ID0, "--text", &response(0), "--format", "json"]);
    run.expect_code(0);
    snapshot("verify_ok.json", &run.stdout);
}

#[test]
fn a_changed_text_is_drift_and_exits_one() {
    let env = seeded_sqlite();
    let run = env.run(&["verify", "--content-id", ID0, "--text", "Response number 0!"]);
    run.expect_code(1);
    snapshot("verify_drift.txt", &run.stdout);
}

#[test]
fn the_text_comes_from_a_file_or_stdin() {
    let env = seeded_sqlite();
    std::fs::write(env.path("answer.txt"), response(0)).unwrap();
    env.run(&["verify", "--content-id", ID0, "--text-file", "answer.txt"]).expect_code(0);
    let run = env.run_with(
        &["verify", "--content-id", ID0, "--text-file", "-"],
        Some(response(0).as_bytes()),
        &[],
    );
    run.expect_code(0);
    assert!(run.stdout.contains("verified:       YES"));
}

#[test]
fn bad_input_is_a_usage_error_naming_it() {
    let env = seeded_sqlite();
    env.run(&["verify", "--content-id", ID0, "--text-file", "missing.txt"])
        .expect_error(2, "cannot read --text-file 'missing.txt': no such file");
    std::fs::write(env.path("latin1.txt"), b"caf\xe9").unwrap();
    env.run(&["verify", "--content-id", ID0, "--text-file", "latin1.txt"])
        .expect_error(2, "--text-file 'latin1.txt' is not valid UTF-8 (invalid byte at offset 3)");
    env.run_with(&["verify", "--content-id", ID0, "--text-file", "-"], Some(b"\xff"), &[])
        .expect_error(2, "--text-file stdin is not valid UTF-8");

    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let mut command = env.command();
        command.args(["verify", "--content-id", ID0, "--text"]);
        command.arg(std::ffi::OsStr::from_bytes(b"caf\xe9"));
        crate::support::run_command(command, None)
            .expect_error(2, "the value of --text is not valid UTF-8");
    }

    env.run(&["verify", "--content-id", ID0]).expect_error(2, "verify needs the current text");
    env.run(&["verify", "--text", "x"]).expect_error(2, "--content-id");
    env.run(&["verify", "--content-id", ID0, "--text", "x", "--text-file", "y"])
        .expect_error(2, "cannot be used with");
    env.run(&["verify", "--content-id", ID0, "--text", "x", "--status", "ERROR"])
        .expect_error(2, "apply only to verify --all");
}

#[test]
fn an_unknown_content_id_exits_one() {
    let env = seeded_sqlite();
    env.run(&["verify", "--content-id", "nope", "--text", "x"])
        .expect_error(1, "no provenance record found for content id 'nope'");
}

/// Changes a signed column of one stored row behind the store's back.
fn tamper(env: &Env, content_id: &str) {
    let path = env.path("aistamp.db");
    let conn = rusqlite::Connection::open(path).unwrap();
    let changed = conn
        .execute(
            "UPDATE provenance_records SET user_id = 'mallory' WHERE content_id = ?1",
            [content_id],
        )
        .unwrap();
    assert_eq!(changed, 1);
}

#[test]
fn tampering_breaks_the_signature() {
    let env = seeded_sqlite();
    tamper(&env, ID0);
    let run = env.run(&["verify", "--content-id", ID0, "--text", &response(0)]);
    run.expect_code(1);
    assert!(run.stdout.contains("hash_match:     YES\nhmac_valid:     NO\n"), "{}", run.stdout);
}

#[test]
fn verify_all_checks_every_signature_and_lists_failures() {
    let env = seeded_sqlite();
    let run = env.run(&["verify", "--all"]);
    run.expect_code(0);
    snapshot("verify_all_ok.txt", &run.stdout);
    // Not a terminal: no progress bar.
    assert!(run.stderr.is_empty(), "{}", run.stderr);

    tamper(&env, "00000003-aaaa-4bbb-8ccc-dddddddddddd");
    tamper(&env, "00000001-aaaa-4bbb-8ccc-dddddddddddd");
    let run = env.run(&["verify", "--all"]);
    run.expect_code(1);
    snapshot("verify_all_tampered.txt", &run.stdout);
    let run = env.run(&["verify", "--all", "--format", "json"]);
    run.expect_code(1);
    snapshot("verify_all_tampered.json", &run.stdout);

    // The filters of report narrow the walk.
    let run = env.run(&["verify", "--all", "--app-id", "billing"]);
    run.expect_code(0);
    assert!(run.stdout.starts_with("records checked:    3\n"), "{}", run.stdout);
    let run = env.run(&["verify", "--all", "--from", "2025-03-15", "--limit", "1"]);
    run.expect_code(0);
    assert!(run.stdout.starts_with("records checked:    1\n"), "{}", run.stdout);
}
