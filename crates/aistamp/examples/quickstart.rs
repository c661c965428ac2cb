//! Stamps a few calls to a plain Rust function standing in for a model,
//! into a local SQLite file, then verifies one: `cargo run -p aistamp
//! --example quickstart`.
#![allow(clippy::print_stdout, reason = "an example reports to its user")]

use aistamp::policy::PolicyEngine;
use aistamp::{ChatError, Config, ProvenanceClient, from_fn};

const POLICY: &str = "
rules:
  - name: block_high_pii
    action: BLOCK
    conditions:
      pii_severity: HIGH
  - name: warn_pii
    action: WARN
    conditions:
      pii_severity: MEDIUM
";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The key that signs the records; set AISTAMP_SECRET_KEY in real use.
    let secret = std::env::var("AISTAMP_SECRET_KEY")
        .unwrap_or_else(|_| "quickstart-demo-secret-change-me-0123456789".to_string());
    let url = std::env::args().nth(1).unwrap_or_else(|| "sqlite:///./aistamp-quickstart.db".into());
    let config = Config::new(&secret)?.with_database_url(&url);

    // Any function from prompt to text is a model; so are OpenAI, Anthropic
    // and any JSON endpoint with the `providers` feature.
    let model =
        from_fn(|prompt: &str| Ok::<_, String>(format!("You asked {} characters.", prompt.len())));
    let client = ProvenanceClient::builder(model, config)
        .app_id("quickstart")
        .feature_id("demo")
        .user_id("user_42")
        .policy(PolicyEngine::from_yaml_str(POLICY)?)
        .build()?;
    println!("records go to {url}");

    let prompts = [
        "Summarize the quarterly report in three bullet points.",
        "Draft a reply to jane@example.com about the meeting.",
        "My SSN is 123-45-6789, can you file my taxes?",
    ];
    let mut first = None;
    for prompt in prompts {
        match client.chat(prompt, "echo-1") {
            Ok(stamped) => {
                let decision = stamped.policy_decision.as_ref().map(|d| d.action.as_str());
                println!("COMPLETED {} {:?}: {}", stamped.content_id, decision, stamped.text);
                first.get_or_insert(stamped);
            }
            Err(ChatError::Blocked { content_id, decision, .. }) => {
                let rule = decision.rule_name.unwrap_or_default();
                println!("BLOCKED   {content_id} by rule {rule}");
            }
            Err(other) => return Err(other.into()),
        }
    }

    let Some(stamped) = first else {
        return Err("no call completed".into());
    };
    let check = client.verify(&stamped.content_id, &stamped.text)?;
    println!("verify {} with its text: verified={}", stamped.content_id, check.verified);
    let edited = format!("{} (edited)", stamped.text);
    let check = client.verify(&stamped.content_id, &edited)?;
    println!(
        "verify {} with edited text: verified={} drift={}",
        stamped.content_id, check.verified, check.drift_detected
    );
    Ok(())
}
