//! `stamp`: a local command as the model, the records it leaves, policies
//! that block, and failures of the command.

use crate::support::Env;

const POLICY: &str = "\
model_tiers:
  approved: [gpt-4o]
rules:
  - name: block_high_pii
    action: BLOCK
    conditions:
      pii_severity: HIGH
";

/// The one record of the store as report JSON.
fn only_record(env: &Env) -> serde_json::Value {
    let run = env.run(&["report", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["total_count"], 1, "{}", run.stdout);
    report["records"][0].clone()
}

#[test]
fn a_command_answers_and_the_answer_verifies() {
    let env = Env::sqlite();
    let run = env.run_with(
        &["stamp", "--model", "upper", "--app-id", "shell", "--exec", "tr", "a-z", "A-Z"],
        Some(b"what is provenance?"),
        &[],
    );
    run.expect_code(0);
    assert_eq!(run.stdout, "WHAT IS PROVENANCE?");
    let record = only_record(&env);
    assert_eq!(record["status"], "COMPLETED");
    assert_eq!(record["model"], "upper");
    assert_eq!(record["app_id"], "shell");
    let id = record["content_id"].as_str().unwrap();
    assert!(run.stderr.contains(id), "the content id is logged: {}", run.stderr);

    std::fs::write(env.path("answer.txt"), &run.stdout).unwrap();
    env.run(&["verify", "--content-id", id, "--text-file", "answer.txt"]).expect_code(0);
    env.run(&["verify", "--all"]).expect_code(0);
}

#[test]
fn json_output_carries_the_content_id_and_decision() {
    let env = Env::sqlite();
    std::fs::write(env.path("policy.yaml"), POLICY).unwrap();
    std::fs::write(env.path("prompt.txt"), "hello there").unwrap();
    let run = env.run(&[
        "stamp",
        "--prompt-file",
        "prompt.txt",
        "--policy",
        "policy.yaml",
        "--model",
        "gpt-4o",
        "--format",
        "json",
        "--exec",
        "cat",
    ]);
    run.expect_code(0);
    let out: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(out["text"], "hello there");
    assert_eq!(out["status"], "COMPLETED");
    assert_eq!(out["policy_decision"]["action"], "ALLOW");
    assert_eq!(out["content_id"], only_record(&env)["content_id"]);
    let keys: Vec<&str> = out.as_object().unwrap().keys().map(String::as_str).collect();
    assert!(keys.contains(&"response_hash") && keys.contains(&"latency_ms"), "{keys:?}");
}

#[test]
fn a_blocked_prompt_exits_one_names_the_rule_and_is_recorded() {
    let env = Env::sqlite();
    std::fs::write(env.path("policy.yaml"), POLICY).unwrap();
    let run = env.run(&[
        "stamp",
        "--prompt",
        "my ssn is 123-45-6789",
        "--policy",
        "policy.yaml",
        "--exec",
        "sh",
        "-c",
        "echo called > called.txt; cat",
    ]);
    run.expect_code(1);
    assert!(run.stderr.contains("blocked before the model call by policy rule 'block_high_pii'"));
    assert!(run.stdout.is_empty());
    assert!(!env.path("called.txt").exists(), "the model must not be called");
    let record = only_record(&env);
    assert_eq!(record["status"], "BLOCKED");
    assert_eq!(record["policy_decision"]["rule_name"], "block_high_pii");
}

#[test]
fn a_failing_command_leaves_an_error_record() {
    let env = Env::sqlite();
    let run =
        env.run(&["stamp", "--prompt", "hi", "--format", "json", "--exec", "sh", "-c", "exit 3"]);
    run.expect_code(1);
    assert!(run.stderr.contains("'sh' exited with status 3"), "{}", run.stderr);
    let out: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(out["status"], "ERROR");
    assert_eq!(only_record(&env)["status"], "ERROR");

    let run = env.run(&["stamp", "--prompt", "hi", "--exec", "./no-such-model"]);
    run.expect_code(1);
    assert!(run.stderr.contains("cannot run './no-such-model'"), "{}", run.stderr);

    let run = env.run(&["stamp", "--prompt", "hi", "--exec", "printf", "\\377"]);
    run.expect_code(1);
    assert!(run.stderr.contains("not valid UTF-8"), "{}", run.stderr);
}

#[test]
fn stamp_usage_errors() {
    let env = Env::sqlite();
    env.run(&["stamp", "--prompt", "   ", "--exec", "cat"]).expect_error(2, "invalid prompt");
    env.run(&["stamp", "--prompt", "hi"]).expect_code(2);
    env.run(&["stamp", "--prompt", "hi", "--provider", "http"])
        .expect_error(2, "--provider http needs --endpoint URL");
    env.run(&["stamp", "--prompt", "hi", "--policy", "none.yaml", "--exec", "cat"])
        .expect_error(2, "none.yaml");
    env.run(&["stamp", "--prompt-file", "none.txt", "--exec", "cat"])
        .expect_error(2, "cannot read --prompt-file 'none.txt'");
    env.run(&[
        "stamp",
        "--prompt",
        "hi",
        "--provider",
        "http",
        "--endpoint",
        "http://127.0.0.1:1/x",
        "--header",
        "no colon",
    ])
    .expect_error(2, "invalid --header 'no colon'");
}

/// A one-request HTTP server on loopback that answers `body` and hands
/// back the request it received.
fn serve_once(body: &'static str) -> (String, std::thread::JoinHandle<String>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream);
        let mut head = String::new();
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().unwrap();
            }
            head.push_str(&line);
            if line == "\r\n" {
                break;
            }
        }
        let mut request_body = vec![0; length];
        reader.read_exact(&mut request_body).unwrap();
        let reply = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
             connection: close\r\n\r\n{body}",
            body.len()
        );
        reader.get_mut().write_all(reply.as_bytes()).unwrap();
        head + &String::from_utf8(request_body).unwrap()
    });
    (url, handle)
}

#[test]
fn the_http_provider_sends_headers_and_records_tokens() {
    let env = Env::sqlite();
    let (url, server) =
        serve_once(r#"{"text": "fine, thanks", "prompt_tokens": 3, "response_tokens": 2}"#);
    let endpoint = format!("{url}/generate");
    let run = env.run(&[
        "stamp",
        "--prompt",
        "how are you?",
        "--provider",
        "http",
        "--endpoint",
        &endpoint,
        "--header",
        "X-Team: audit",
        "--model",
        "house-model",
    ]);
    run.expect_code(0);
    assert_eq!(run.stdout, "fine, thanks");
    let request = server.join().unwrap();
    assert!(request.starts_with("POST /generate "), "{request}");
    assert!(request.to_ascii_lowercase().contains("x-team: audit"), "{request}");
    assert!(request.contains("how are you?") && request.contains("house-model"), "{request}");
    let record = only_record(&env);
    assert_eq!(
        (record["prompt_tokens"].clone(), record["response_tokens"].clone()),
        (3.into(), 2.into())
    );
}

#[test]
fn the_openai_provider_takes_a_base_url_and_the_key_from_the_environment() {
    let env = Env::sqlite();
    let (url, server) = serve_once(
        r#"{"choices": [{"message": {"role": "assistant", "content": "Bonjour"}}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 1}}"#,
    );
    let run = env.run_with(
        &["stamp", "--prompt", "Say hello in French", "--provider", "openai", "--endpoint", &url],
        None,
        &[("OPENAI_API_KEY", "sk-test-not-a-real-key")],
    );
    run.expect_code(0);
    assert_eq!(run.stdout, "Bonjour");
    let request = server.join().unwrap();
    assert!(request.starts_with("POST /v1/chat/completions "), "{request}");
    assert!(request.contains("Bearer sk-test-not-a-real-key"), "{request}");
    assert_eq!(only_record(&env)["model"], "gpt-4o");
}
