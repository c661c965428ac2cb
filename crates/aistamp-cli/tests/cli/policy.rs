//! `policy check`: a valid policy is summarized, a broken one names its
//! problem.

use crate::support::{Env, snapshot};

const README_POLICY: &str = "\
model_tiers:
  approved: [gpt-4o, internal-safe-model]
rules:
  - name: block_high_pii
    action: BLOCK
    conditions:
      pii_severity: HIGH
  - name: warn_unapproved_model
    action: WARN
    conditions:
      model_tier: unapproved
";

#[test]
fn a_valid_policy_is_summarized() {
    let env = Env::sqlite();
    std::fs::write(env.path("policy.yaml"), README_POLICY).unwrap();
    let run = env.run(&["policy", "check", "policy.yaml"]);
    run.expect_code(0);
    snapshot("policy_check.txt", &run.stdout);
}

#[test]
fn a_broken_policy_is_a_usage_error_naming_the_rule() {
    let env = Env::sqlite();
    std::fs::write(env.path("bad.yaml"), "rules:\n  - name: x\n    action: WARNN\n").unwrap();
    env.run(&["policy", "check", "bad.yaml"])
        .expect_error(2, "rules[0] 'x': unknown action 'WARNN': expected ALLOW, WARN or BLOCK");
    std::fs::write(env.path("yaml.yaml"), "rules: [\n").unwrap();
    env.run(&["policy", "check", "yaml.yaml"]).expect_error(2, "invalid YAML");
    env.run(&["policy", "check", "missing.yaml"]).expect_error(2, "missing.yaml");
}
