//! Several processes writing one file, and writers killed with SIGKILL in
//! the middle of a load: nothing acknowledged is ever lost.
//!
//! The writer processes are this test binary itself, running the ignored
//! test `child_writer` with its instructions in environment variables.

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use aistamp_core::{RecordQuery, RecordStore, new_content_id};
use aistamp_store_sqlite::SqliteStore;
use common::{full_record, signed};

const DB_ENV: &str = "AISTAMP_SQLITE_CHILD_DB";
const THREADS_ENV: &str = "AISTAMP_SQLITE_CHILD_THREADS";
/// Records per thread; 0 writes until killed.
const COUNT_ENV: &str = "AISTAMP_SQLITE_CHILD_COUNT";

/// Writes records and prints `ACK <content id>` on stdout after each write
/// that returned `Ok`.
#[test]
#[ignore = "runs only as a child process of the other tests in this file"]
fn child_writer() {
    // Run directly (say with --include-ignored), it has nothing to do.
    let Ok(db) = std::env::var(DB_ENV) else { return };
    let threads: u64 = std::env::var(THREADS_ENV).unwrap().parse().unwrap();
    let count: u64 = std::env::var(COUNT_ENV).unwrap().parse().unwrap();
    let store = SqliteStore::open_path(db).unwrap();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut i = 0;
                while count == 0 || i < count {
                    let id = new_content_id();
                    RecordStore::write(&store, signed(full_record(&id, i as i64))).unwrap();
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "ACK {id}").unwrap();
                    out.flush().unwrap();
                    i += 1;
                }
            });
        }
    });
}

fn spawn_child(db: &Path, threads: u64, count: u64) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "child_writer", "--nocapture", "--test-threads=1"])
        .env(DB_ENV, db)
        .env(THREADS_ENV, threads.to_string())
        .env(COUNT_ENV, count.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Reads acknowledgements until `stop` says enough (or the output ends).
/// Only complete lines count: a line cut by a kill acknowledged nothing.
fn read_acks(child: &mut Child, acks: &mut Vec<String>, stop: impl Fn(usize) -> bool) {
    let mut out = BufReader::new(child.stdout.as_mut().unwrap());
    let mut line = Vec::new();
    while !stop(acks.len()) {
        line.clear();
        if out.read_until(b'\n', &mut line).unwrap() == 0 || !line.ends_with(b"\n") {
            return;
        }
        let text = String::from_utf8_lossy(&line);
        if let Some((_, id)) = text.trim_end().split_once("ACK ") {
            acks.push(id.to_string());
        }
    }
}

fn stored_ids(db: &Path) -> Vec<String> {
    let store = SqliteStore::open_path(db).unwrap();
    let mut ids = Vec::new();
    store
        .for_each(&RecordQuery::default(), &mut |r| ids.push(r.unwrap().record.content_id))
        .unwrap();
    ids
}

fn integrity(db: &Path) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |row| row.get(0)).unwrap()
}

#[test]
fn processes_sharing_one_new_file_lose_and_duplicate_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.db");
    // Every child creates the file and its schema at the same moment.
    let mut children: Vec<Child> = (0..4).map(|_| spawn_child(&db, 4, 60)).collect();
    let mut acks = Vec::new();
    for child in &mut children {
        read_acks(child, &mut acks, |_| false);
        let output = child.wait().unwrap();
        let mut stderr = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
        assert!(output.success(), "child failed: {stderr}");
        assert!(!stderr.contains("locked"), "{stderr}");
    }
    assert_eq!(acks.len(), 4 * 4 * 60);
    let stored = stored_ids(&db);
    assert_eq!(stored.len(), acks.len(), "no record lost or duplicated");
    assert_eq!(stored.into_iter().collect::<HashSet<_>>(), acks.into_iter().collect());
    assert_eq!(integrity(&db), "ok");
}

#[test]
fn a_writer_killed_mid_load_loses_nothing_it_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let mut acknowledged = Vec::new();
    for round in 1..=3 {
        let mut child = spawn_child(&db, 4, 0);
        let target = acknowledged.len() + 150 * round;
        read_acks(&mut child, &mut acknowledged, |n| n >= target);
        child.kill().unwrap(); // SIGKILL
        // Lines written before the kill are still in the pipe.
        read_acks(&mut child, &mut acknowledged, |_| false);
        child.wait().unwrap();

        assert_eq!(integrity(&db), "ok", "round {round}");
        let stored: HashSet<String> = stored_ids(&db).into_iter().collect();
        let lost: Vec<&String> = acknowledged.iter().filter(|id| !stored.contains(*id)).collect();
        assert!(lost.is_empty(), "round {round}: {} acknowledged records lost", lost.len());
        assert!(stored.len() >= acknowledged.len());
    }
}
