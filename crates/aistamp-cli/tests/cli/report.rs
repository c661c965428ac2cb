//! `report` and `audit`: text, JSON and CSV as the reference prints them,
//! every filter, and the date boundaries.

use crate::support::{Env, mask_generated_at, seeded_sqlite, snapshot};

#[test]
fn report_formats_match_their_snapshots() {
    let env = seeded_sqlite();
    for format in ["text", "json", "csv"] {
        let run = env.run(&["report", "--format", format]);
        run.expect_code(0);
        snapshot(&format!("report_all.{format}"), &mask_generated_at(&run.stdout));
    }
    let run =
        env.run(&["report", "--from", "2025-03-14", "--to", "2025-03-14", "--format", "json"]);
    run.expect_code(0);
    snapshot("report_one_day.json", &mask_generated_at(&run.stdout));
}

#[test]
fn csv_has_one_line_ending_and_no_blank_tail() {
    let env = seeded_sqlite();
    let run = env.run(&["report", "--format", "csv"]);
    run.expect_code(0);
    assert!(run.stdout.ends_with("\r\n") && !run.stdout.ends_with("\r\n\r\n"));
    assert_eq!(run.stdout.matches('\n').count(), run.stdout.matches("\r\n").count());
    assert_eq!(run.stdout.matches("\r\n").count(), 6, "header and five rows");
}

#[test]
fn json_report_parses_and_keeps_the_reference_field_order() {
    let env = seeded_sqlite();
    let run = env.run(&["report", "--format", "json", "--limit", "2", "--offset", "1"]);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["total_count"], 5);
    assert_eq!(report["filters_applied"], serde_json::json!({"limit": 2, "offset": 1}));
    let records = report["records"].as_array().unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["content_id"], "00000001-aaaa-4bbb-8ccc-dddddddddddd");
    let keys: Vec<&str> =
        ["\"generated_at\"", "\"total_count\"", "\"filters_applied\"", "\"records\""]
            .into_iter()
            .collect();
    let positions: Vec<usize> = keys.iter().map(|k| run.stdout.find(k).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
}

/// The content ids (first eight characters) a text report lists.
fn listed(env: &Env, args: &[&str]) -> Vec<String> {
    let mut all = vec!["report"];
    all.extend_from_slice(args);
    let run = env.run(&all);
    run.expect_code(0);
    run.stdout
        .lines()
        .skip(1)
        .map(|line| line.split(" | ").nth(1).unwrap()[..8].to_string())
        .collect()
}

#[test]
fn every_filter_narrows_the_report() {
    let env = seeded_sqlite();
    let ids =
        |list: &[usize]| -> Vec<String> { list.iter().map(|i| format!("0000000{i}")).collect() };
    assert_eq!(listed(&env, &[]), ids(&[0, 1, 2, 3, 4]));
    assert_eq!(listed(&env, &["--app-id", "support"]), ids(&[1, 3]));
    assert_eq!(listed(&env, &["--model", "gpt-4o"]), ids(&[0, 2, 4]));
    assert_eq!(listed(&env, &["--user-id", "user_4"]), ids(&[4]));
    assert_eq!(listed(&env, &["--feature-id", "summarize", "--limit", "2"]), ids(&[0, 1]));
    assert_eq!(listed(&env, &["--feature-id", "nothing"]), ids(&[]));
    assert_eq!(listed(&env, &["--status", "blocked"]), ids(&[2]));
    assert_eq!(listed(&env, &["--status", "ERROR"]), ids(&[3]));
    assert_eq!(listed(&env, &["--pii-severity", "medium"]), ids(&[1]));
    assert_eq!(listed(&env, &["--policy-decision", "WARN"]), ids(&[1]));
    assert_eq!(listed(&env, &["--policy-decision", "allow"]), ids(&[0, 4]));
    assert_eq!(listed(&env, &["--offset", "3"]), ids(&[3, 4]));
    assert_eq!(listed(&env, &["--limit", "0"]), ids(&[]));
}

#[test]
fn dates_cover_whole_utc_days_and_offsets_are_honoured() {
    let env = seeded_sqlite();
    let ids =
        |list: &[usize]| -> Vec<String> { list.iter().map(|i| format!("0000000{i}")).collect() };
    // A bare --to covers its whole day, up to 23:59:59.999999.
    assert_eq!(listed(&env, &["--to", "2025-03-14"]), ids(&[0, 1]));
    assert_eq!(listed(&env, &["--from", "2025-03-15"]), ids(&[2, 3, 4]));
    assert_eq!(listed(&env, &["--from", "2025-03-15", "--to", "2025-03-15"]), ids(&[2, 3]));
    // 02:00 at +02:00 is midnight UTC.
    assert_eq!(listed(&env, &["--from", "2025-03-15T02:00:00+02:00"]), ids(&[2, 3, 4]));
    assert_eq!(listed(&env, &["--to", "2025-03-15T12:30:00.25Z"]), ids(&[0, 1, 2, 3]));
    assert_eq!(listed(&env, &["--to", "2025-03-15 12:30:00"]), ids(&[0, 1, 2]));
}

#[test]
fn audit_prints_the_record_as_text_or_json() {
    let env = seeded_sqlite();
    for (i, format) in [(1, "text"), (1, "json"), (3, "text"), (3, "json")] {
        let id = format!("0000000{i}-aaaa-4bbb-8ccc-dddddddddddd");
        let run = env.run(&["audit", "--content-id", &id, "--format", format]);
        run.expect_code(0);
        snapshot(&format!("audit_{i}.{format}"), &run.stdout);
    }
    env.run(&["audit", "--content-id", "no-such-id"])
        .expect_error(1, "no provenance record found for content id 'no-such-id'");
    env.run(&["audit", "--content-id", "x", "--format", "xml"])
        .expect_error(2, "invalid value 'xml' for '--format <FORMAT>'");
}

#[test]
fn report_usage_errors_name_the_bad_value() {
    let env = seeded_sqlite();
    env.run(&["report", "--limit", "-1"]).expect_error(2, "invalid count '-1'");
    env.run(&["report", "--offset", "-5"]).expect_error(2, "invalid count '-5'");
    env.run(&["report", "--limit", "ten"]).expect_error(2, "invalid count 'ten'");
    env.run(&["report", "--from", "2025-02-30"])
        .expect_error(2, "invalid timestamp '2025-02-30': no such calendar date");
    env.run(&["report", "--to", "yesterday"]).expect_error(2, "invalid timestamp 'yesterday'");
    env.run(&["report", "--status", "DONE"])
        .expect_error(2, "invalid status 'DONE': expected COMPLETED, BLOCKED or ERROR");
    env.run(&["report", "--pii-severity", "HGH"])
        .expect_error(2, "invalid severity 'HGH': expected HIGH, MEDIUM or LOW");
    env.run(&["report", "--policy-decision", "DENY"])
        .expect_error(2, "invalid policy action 'DENY': expected ALLOW, WARN or BLOCK");
    env.run(&["report", "--format", "xml"]).expect_error(2, "invalid value 'xml'");
}
