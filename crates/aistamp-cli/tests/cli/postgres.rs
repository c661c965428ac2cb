//! The same commands on the test PostgreSQL server: output identical to
//! SQLite's, and a database without the schema named as such.

use crate::support::{Env, mask_generated_at, response, sample_records, seeded_sqlite};

const ID0: &str = "00000000-aaaa-4bbb-8ccc-dddddddddddd";

#[test]
fn migrate_creates_the_schema_once() {
    let env = Env::postgres();
    let first = env.run(&["migrate"]);
    first.expect_code(0);
    assert!(first.stdout.contains("database schema upgraded to version"), "{}", first.stdout);
    assert!(first.stdout.ends_with("Database schema upgraded to head.\n"), "{}", first.stdout);
    let again = env.run(&["migrate"]);
    again.expect_code(0);
    assert!(again.stdout.contains("database schema is up to date"), "{}", again.stdout);
}

#[test]
fn every_read_command_prints_what_it_prints_on_sqlite() {
    let pg = Env::postgres();
    pg.seed(sample_records());
    let lite = seeded_sqlite();
    let same = |args: &[&str]| {
        let a = pg.run(args);
        let b = lite.run(args);
        assert_eq!(a.code, b.code, "{args:?}: {}", a.stderr);
        assert_eq!(mask_generated_at(&a.stdout), mask_generated_at(&b.stdout), "{args:?}");
    };
    for format in ["text", "json", "csv"] {
        same(&["report", "--format", format]);
    }
    same(&["report", "--to", "2025-03-14", "--format", "json"]);
    same(&["report", "--from", "2025-03-15T02:00:00+02:00", "--status", "BLOCKED"]);
    same(&["report", "--pii-severity", "MEDIUM", "--format", "csv"]);
    same(&["report", "--policy-decision", "ALLOW", "--limit", "1", "--offset", "1"]);
    same(&["audit", "--content-id", ID0, "--format", "json"]);
    same(&["audit", "--content-id", "no-such-id"]);
    same(&["verify", "--content-id", ID0, "--text", &response(0)]);
    same(&["verify", "--content-id", ID0, "--text", "changed"]);
    same(&["verify", "--all"]);
    same(&["verify", "--all", "--app-id", "support", "--format", "json"]);
}

#[test]
fn a_database_without_the_schema_says_to_migrate() {
    let env = Env::postgres();
    let run = env.run(&["report"]);
    run.expect_error(1, "run `aistamp migrate`");
    env.run(&["audit", "--content-id", ID0]).expect_error(1, "run `aistamp migrate`");
}

#[test]
fn postgresql_urls_work_in_both_spellings() {
    let env = Env::postgres();
    env.seed(sample_records());
    let other = env.url.replacen("postgres://", "postgresql://", 1);
    let run = env.run(&["report", "--database-url", &other]);
    run.expect_code(0);
    assert!(run.stdout.starts_with("total_count: 5 "), "{}", run.stdout);
}

#[test]
fn stamp_then_verify_on_postgres() {
    let env = Env::postgres();
    env.run(&["migrate"]).expect_code(0);
    let run = env.run(&["stamp", "--prompt", "hello", "--format", "json", "--exec", "rev"]);
    run.expect_code(0);
    let out: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let id = out["content_id"].as_str().unwrap();
    let text = out["text"].as_str().unwrap();
    env.run(&["verify", "--content-id", id, "--text", text]).expect_code(0);
    env.run(&["audit", "--content-id", id]).expect_code(0);
    env.run(&["verify", "--all"]).expect_code(0);
}
