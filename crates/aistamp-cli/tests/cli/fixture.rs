//! `verify` against the database written by ai-stamp 0.1.0 itself
//! (`tests/fixtures/reference-sqlite`): every result the reference gave,
//! with the one documented difference (a JSON key unknown at signing time
//! makes the row unreadable rather than silently ignored).

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::support::Env;

/// A copy of the reference database in a fresh directory, and its
/// expected results.
fn fixture() -> (Env, Value) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/reference-sqlite");
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let env = Env::sqlite();
    std::fs::copy(dir.join("reference.db"), env.path("aistamp.db")).unwrap();
    (env, expected)
}

fn secret(expected: &Value) -> &str {
    expected["secret_key"].as_str().unwrap()
}

#[test]
fn every_verification_matches_the_reference() {
    let (env, expected) = fixture();
    let vars = [("AISTAMP_SECRET_KEY", secret(&expected))];
    for case in expected["verifications"].as_array().unwrap() {
        let label = case["label"].as_str().unwrap();
        let id = case["content_id"].as_str().unwrap();
        let text = case["text"].as_str().unwrap();
        let args = ["verify", "--content-id", id, "--text", text, "--format", "json"];
        let run = env.run_with(&args, None, &vars);

        if label == "unknown_json_key" || case["error"] == "unreadable" {
            run.expect_error(1, &format!("stored record '{id}' cannot be read"));
        } else if case["error"] == "not_found" {
            run.expect_error(1, "no provenance record found");
        } else {
            let result: Value = serde_json::from_str(&run.stdout).unwrap();
            assert_eq!(result, case["result"], "{label}");
            let verified = case["result"]["verified"].as_bool().unwrap();
            assert_eq!(run.code, if verified { 0 } else { 1 }, "{label}: {}", run.stderr);
        }
    }
}

#[test]
fn verify_all_finds_exactly_the_tampered_rows() {
    let (env, expected) = fixture();
    let vars = [("AISTAMP_SECRET_KEY", secret(&expected))];
    let mut bad = BTreeSet::new();
    for case in expected["verifications"].as_array().unwrap() {
        let id = case["content_id"].as_str().unwrap().to_string();
        let unreadable = case["label"] == "unknown_json_key" || case["error"] == "unreadable";
        if unreadable || case["result"]["hmac_valid"] == false {
            bad.insert(id);
        }
    }
    let run = env.run_with(&["verify", "--all", "--format", "json"], None, &vars);
    run.expect_code(1);
    let summary: Value = serde_json::from_str(&run.stdout).unwrap();
    let found: BTreeSet<String> = summary["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["content_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(found, bad);
    assert_eq!(summary["invalid"], bad.len());
}
