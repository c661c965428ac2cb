//! `scan`: the reference's text report, JSON with every match, stdin, and
//! the errors of unreadable input.

use crate::support::{Env, snapshot};

const TEXT: &str = "Contact jane.doe@example.com or call (555) 123-4567.\n\
                    Her SSN is 123-45-6789 and the server is 10.0.0.12.\n\
                    Café crème: no PII here.\n";

#[test]
fn text_and_json_reports_match_their_snapshots() {
    let env = Env::sqlite();
    std::fs::write(env.path("notes.txt"), TEXT).unwrap();
    let run = env.run(&["scan", "--file", "notes.txt"]);
    run.expect_code(0);
    snapshot("scan.txt", &run.stdout);
    let run = env.run(&["scan", "--file", "notes.txt", "--format", "json"]);
    run.expect_code(0);
    snapshot("scan.json", &run.stdout);
    let parsed: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(parsed["match_count"], parsed["matches"].as_array().unwrap().len());
}

#[test]
fn clean_text_and_stdin() {
    let env = Env::sqlite();
    let run = env.run_with(&["scan", "--file", "-"], Some(b"nothing to see"), &[]);
    run.expect_code(0);
    assert_eq!(run.stdout, "No PII detected.\n");
    let run =
        env.run_with(&["scan", "--file", "-", "--format", "json"], Some(TEXT.as_bytes()), &[]);
    run.expect_code(0);
    assert!(run.stdout.contains("\"file\": \"stdin\""), "{}", run.stdout);
    let run = env.run_with(&["scan", "--file", "-", "--format", "json"], Some(b""), &[]);
    let parsed: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(parsed["match_count"], 0);
    assert_eq!(parsed["highest_severity"], serde_json::Value::Null);
}

#[test]
fn code_point_offsets_count_characters_not_bytes() {
    let env = Env::sqlite();
    std::fs::write(env.path("u.txt"), "ééé 123-45-6789").unwrap();
    let run = env.run(&["scan", "--file", "u.txt", "--format", "json"]);
    let parsed: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(parsed["matches"][0]["start"], 4);
    assert_eq!(parsed["matches"][0]["end"], 15);
}

#[test]
fn custom_patterns_are_loaded_and_their_errors_named() {
    let env = Env::sqlite();
    std::fs::write(env.path("notes.txt"), "badge EMP-004211 issued").unwrap();
    std::fs::write(
        env.path("patterns.yaml"),
        "patterns:\n  - name: EMPLOYEE_ID\n    regex: 'EMP-\\d{6}'\n    severity: high\n",
    )
    .unwrap();
    let run = env.run(&["scan", "--file", "notes.txt", "--extra-patterns", "patterns.yaml"]);
    run.expect_code(0);
    assert!(run.stdout.contains("[HIGH  ] EMPLOYEE_ID  position 6-16"), "{}", run.stdout);

    std::fs::write(
        env.path("bad.yaml"),
        "patterns:\n  - name: EMPLOYEE_ID\n    regex: 'EMP-\\d{6}'\n    severity: HGH\n",
    )
    .unwrap();
    env.run(&["scan", "--file", "notes.txt", "--extra-patterns", "bad.yaml"])
        .expect_error(2, "invalid PII patterns file 'bad.yaml'");
    env.run(&["scan", "--file", "notes.txt", "--extra-patterns", "none.yaml"])
        .expect_error(2, "none.yaml");
}

#[test]
fn unreadable_input_is_a_usage_error() {
    let env = Env::sqlite();
    env.run(&["scan", "--file", "missing.txt"])
        .expect_error(2, "cannot read --file 'missing.txt': no such file");
    std::fs::write(env.path("bin.dat"), b"ok so far \xc3\x28 then junk").unwrap();
    env.run(&["scan", "--file", "bin.dat"])
        .expect_error(2, "--file 'bin.dat' is not valid UTF-8: invalid UTF-8 at byte offset 10");
    env.run(&["scan", "--file", "."]).expect_error(2, "cannot read --file '.'");
}
