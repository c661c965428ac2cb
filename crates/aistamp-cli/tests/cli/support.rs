//! Running the binary, seeding databases with known records, and comparing
//! output with stored snapshots (`AISTAMP_UPDATE_SNAPSHOTS=1` rewrites them).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use aistamp_core::{
    LatencyMs, PiiMatch, PiiResult, PolicyAction, PolicyDecision, Record, RecordStore, Severity,
    SignedRecord, SigningKey, Status, Timestamp, sha256_hex,
};
use aistamp_store_sqlite::SqliteStore;

pub(crate) const SECRET: &str = "cli-test-secret-key-that-is-long-enough";

/// What one run of the binary produced.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// Asserts the exit code, showing the output when it differs.
    #[track_caller]
    pub(crate) fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(self.code, code, "stdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }

    /// Asserts a failure with this code whose one-line message contains
    /// `fragment`, on stderr, and nothing on stdout.
    #[track_caller]
    pub(crate) fn expect_error(&self, code: i32, fragment: &str) {
        self.expect_code(code);
        assert!(self.stderr.contains(fragment), "expected {fragment:?} in:\n{}", self.stderr);
        assert!(self.stderr.starts_with("error: "), "{}", self.stderr);
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        assert!(self.stdout.is_empty(), "stdout: {}", self.stdout);
    }
}

/// A temporary working directory with a database URL and the secret set in
/// the environment of every run.
#[derive(Debug)]
pub(crate) struct Env {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) url: String,
}

impl Env {
    /// A fresh SQLite file in a new temporary directory.
    pub(crate) fn sqlite() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:///{}", dir.path().join("aistamp.db").display());
        Env { dir, url }
    }

    /// A fresh database on the test PostgreSQL server.
    pub(crate) fn postgres() -> Env {
        let dir = tempfile::tempdir().unwrap();
        Env { dir, url: aistamp_testkit::fresh_database() }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs the binary with `args`.
    pub(crate) fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, None, &[])
    }

    /// Runs the binary with `args`, `stdin` and extra environment.
    pub(crate) fn run_with(
        &self,
        args: &[&str],
        stdin: Option<&[u8]>,
        vars: &[(&str, &str)],
    ) -> Run {
        let mut command = self.command();
        command.args(args);
        for (name, value) in vars {
            command.env(name, value);
        }
        run_command(command, stdin)
    }

    /// The command with this environment, for arguments that are not text.
    pub(crate) fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_aistamp"));
        command
            .current_dir(self.dir.path())
            .env_remove("AISTAMP_LOG_LEVEL")
            .env_remove("RUST_BACKTRACE")
            .env("AISTAMP_SECRET_KEY", SECRET)
            .env("AISTAMP_DATABASE_URL", &self.url);
        command
    }

    /// Stores `records`, signed with [`SECRET`].
    pub(crate) fn seed(&self, records: Vec<Record>) {
        let key = SigningKey::new(SECRET).unwrap();
        let write = |store: &dyn RecordStore| {
            for record in records {
                let signature = key.sign(&record);
                store.write(SignedRecord { record, signature }).unwrap();
            }
        };
        if self.url.starts_with("sqlite") {
            write(&SqliteStore::open(&self.url).unwrap());
        } else {
            self.run(&["migrate"]).expect_code(0);
            write(&aistamp_store_pg::BlockingPgStore::connect(&self.url).unwrap());
        }
    }
}

/// Runs `command` with `stdin` (or none) and collects what it printed.
pub(crate) fn run_command(mut command: Command, stdin: Option<&[u8]>) -> Run {
    command.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(input).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// Compares `actual` with `tests/snapshots/NAME`, or writes it there when
/// `AISTAMP_UPDATE_SNAPSHOTS` is set.
#[track_caller]
pub(crate) fn snapshot(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots").join(name);
    if std::env::var_os("AISTAMP_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!("no snapshot {name}: run with AISTAMP_UPDATE_SNAPSHOTS=1 to create it")
    });
    assert!(
        expected == actual,
        "output differs from snapshot {name} (AISTAMP_UPDATE_SNAPSHOTS=1 rewrites it)\n\
         --- expected\n{expected}\n--- actual\n{actual}"
    );
}

/// `text` with every value after `generated_at` replaced by a fixed mark.
pub(crate) fn mask_generated_at(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("generated_at") {
        let after = at + "generated_at".len();
        out.push_str(&rest[..after]);
        rest = &rest[after..];
        let start = rest.find(|c: char| c.is_ascii_digit()).unwrap();
        let end = start + rest[start..].find(['"', '\n']).unwrap();
        out.push_str(&rest[..start]);
        out.push_str("<GENERATED_AT>");
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The response text of sample record `i`.
pub(crate) fn response(i: usize) -> String {
    format!("Response number {i}.")
}

/// Five records that cover every shape of field: PII with non-ASCII
/// snippets, WARN and BLOCK decisions, an ERROR without response or
/// latency, times across two days.
pub(crate) fn sample_records() -> Vec<Record> {
    let times = [
        "2025-03-14T09:00:00Z",
        "2025-03-14T23:59:59.999999Z",
        "2025-03-15T00:00:00Z",
        "2025-03-15T12:30:00.25Z",
        "2025-03-16T08:00:00Z",
    ];
    times
        .iter()
        .enumerate()
        .map(|(i, at)| {
            let mut record = Record::new(
                ["billing", "support"][i % 2],
                "summarize",
                format!("user_{i}"),
                ["gpt-4o", "claude-3-5-sonnet-20241022"][i % 2],
                &format!("prompt {i}"),
            );
            record.content_id = format!("0000000{i}-aaaa-4bbb-8ccc-dddddddddddd");
            record.timestamp = Timestamp::parse(at).unwrap();
            record.response_hash = Some(sha256_hex(&response(i)));
            record.prompt_tokens = Some(10 + i as i64);
            record.response_tokens = Some(20 + i as i64);
            record.latency_ms = Some(LatencyMs::new(100.0 + i as f64 * 12.5).unwrap());
            record.pii_result = Some(PiiResult::from_matches(vec![], vec![]));
            record.policy_decision = Some(PolicyDecision {
                action: PolicyAction::Allow,
                rule_name: None,
                reason: Some("No matching rule. Default action applied.".into()),
            });
            record
        })
        .enumerate()
        .map(|(i, mut record)| {
            match i {
                1 => {
                    record.pii_result = Some(PiiResult::from_matches(
                        vec![PiiMatch {
                            pattern_name: "EMAIL".into(),
                            severity: Severity::Medium,
                            start: 8,
                            end: 25,
                            redacted_snippet: "Écrire à [REDACTED], \"merci\"".into(),
                        }],
                        vec![],
                    ));
                    record.policy_decision = Some(PolicyDecision {
                        action: PolicyAction::Warn,
                        rule_name: Some("warn_unapproved_model".into()),
                        reason: Some("Rule 'warn_unapproved_model' matched: WARN".into()),
                    });
                }
                2 => {
                    record.status = Status::Blocked;
                    record.pii_result = Some(PiiResult::from_matches(
                        vec![PiiMatch {
                            pattern_name: "SSN".into(),
                            severity: Severity::High,
                            start: 3,
                            end: 14,
                            redacted_snippet: "My [REDACTED], ok".into(),
                        }],
                        vec![],
                    ));
                    record.policy_decision = Some(PolicyDecision {
                        action: PolicyAction::Block,
                        rule_name: Some("block_high_pii".into()),
                        reason: Some("Rule 'block_high_pii' matched: BLOCK".into()),
                    });
                    record.response_hash = None;
                    record.response_tokens = None;
                }
                3 => {
                    record.status = Status::Error;
                    record.response_hash = None;
                    record.prompt_tokens = None;
                    record.response_tokens = None;
                    record.latency_ms = None;
                    record.pii_result = None;
                    record.policy_decision = None;
                }
                _ => {}
            }
            record
        })
        .collect()
}

/// An env with the sample records stored.
pub(crate) fn seeded_sqlite() -> Env {
    let env = Env::sqlite();
    env.seed(sample_records());
    env
}
