//! Throwaway PostgreSQL servers for aistamp's tests, benchmarks and
//! `cargo xtask pg`, with one fresh database per test.
//!
//! [`TestPostgres::start`] runs `initdb` and `postgres` from the PostgreSQL 15
//! binaries (`/usr/lib/postgresql/15/bin`, or the folder named by
//! `AISTAMP_PG_BIN`) in a new temporary data directory, listening on
//! 127.0.0.1 on a free port with trust authentication. The server refuses to
//! run as root, so when the tests run as root both programs are started as
//! the `postgres` user through `setpriv`. The server keeps `fsync` on, so
//! benchmarks measure durable commits.
//!
//! A server belongs to its [`TestPostgres`]: dropping it stops the server
//! and removes the directory. Each server also has a small watchdog shell
//! process that holds the read end of a pipe from the test process; when
//! the test process exits in any way (even killed), the pipe closes and the
//! watchdog stops the server and removes its directory. So a server kept in
//! a `static`, whose `Drop` never runs, does not outlive `cargo test`.
//!
//! [`shared_server`] is the one server of the test process. When
//! `AISTAMP_TEST_POSTGRES_URL` is set it is that existing server instead,
//! and only fresh databases are created in it.
//!
//! # Example
//!
//! ```no_run
//! // Each test gets its own empty database on the process's shared server.
//! let url = aistamp_testkit::fresh_database();
//! assert!(url.starts_with("postgres://"));
//! ```
#![deny(missing_docs)]

use std::fs;
use std::io::{self, ErrorKind};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The environment variable naming an existing server to use instead of
/// starting one.
pub const TEST_URL_VAR: &str = "AISTAMP_TEST_POSTGRES_URL";
/// The environment variable naming the folder of the PostgreSQL binaries.
pub const BIN_DIR_VAR: &str = "AISTAMP_PG_BIN";
/// Where the PostgreSQL 15 binaries are installed by `apt-get install
/// postgresql-15`.
pub const DEFAULT_BIN_DIR: &str = "/usr/lib/postgresql/15/bin";

const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Stops the server when standard input closes, then removes the directory.
/// `$1` is the directory, `$2` the server's process id.
const WATCHDOG: &str = r#"
dir=$1
pid=$2
cat >/dev/null
kill -INT "$pid" 2>/dev/null
tries=0
while [ -e "$dir/data/postmaster.pid" ] && [ "$tries" -lt 600 ]; do
    sleep 0.1
    tries=$((tries + 1))
done
if [ -e "$dir/data/postmaster.pid" ]; then kill -KILL "$pid" 2>/dev/null; fi
rm -rf "$dir"
"#;

/// Why a test server could not be started or used.
#[derive(Debug, thiserror::Error)]
#[error("test postgres: {0}")]
pub struct TestPgError(String);

impl TestPgError {
    fn io(what: &str, err: io::Error) -> TestPgError {
        TestPgError(format!("{what}: {err}"))
    }
}

/// A PostgreSQL server for tests: one this process started, or the server
/// named by `AISTAMP_TEST_POSTGRES_URL`.
#[derive(Debug)]
pub struct TestPostgres {
    url: String,
    owned: Option<OwnedServer>,
}

#[derive(Debug)]
struct OwnedServer {
    dir: PathBuf,
    port: u16,
    server: Child,
    watchdog: Child,
    watchdog_stdin: Option<ChildStdin>,
}

impl TestPostgres {
    /// Starts a new server in a new temporary directory.
    ///
    /// # Errors
    ///
    /// When the binaries are missing (install them with `apt-get install -y
    /// postgresql-15`), `initdb` fails, or the server does not accept
    /// connections within a minute.
    pub fn start() -> Result<TestPostgres, TestPgError> {
        let bin = bin_dir()?;
        let dir = new_temp_dir()?;
        let data = dir.join("data");
        let result = init_data_dir(&bin, &dir, &data).and_then(|()| {
            let mut last = TestPgError("no attempt made".into());
            // A port found free can be taken by someone else before the
            // server binds it, so try a few.
            for _ in 0..5 {
                match start_server(&bin, &dir, &data, None) {
                    Ok(owned) => return Ok(owned),
                    Err(err) => last = err,
                }
            }
            Err(last)
        });
        match result {
            Ok(owned) => {
                let url = format!("postgres://postgres@127.0.0.1:{}/postgres", owned.port);
                Ok(TestPostgres { url, owned: Some(owned) })
            }
            Err(err) => {
                let _ = fs::remove_dir_all(&dir);
                Err(err)
            }
        }
    }

    /// Crashes the server as a power cut would leave it, without a
    /// checkpoint (`pg_ctl stop -m immediate`), and starts it again on the
    /// same port, so that it recovers from its write-ahead log. Connections
    /// open at the time are broken.
    ///
    /// # Errors
    ///
    /// For a server this process did not start, or when the restart fails.
    pub fn crash_and_restart(&mut self) -> Result<(), TestPgError> {
        let Some(owned) = &mut self.owned else {
            return Err(TestPgError("cannot crash a server this process did not start".into()));
        };
        let bin = bin_dir()?;
        let data = owned.dir.join("data");
        // The old watchdog would remove the directory: end it first.
        let _ = owned.watchdog.kill();
        let _ = owned.watchdog.wait();
        let status = as_postgres(&bin.join("pg_ctl"))
            .current_dir(&owned.dir)
            .args(["stop", "--wait", "--silent", "-m", "immediate", "-D"])
            .arg(&data)
            .stdin(Stdio::null())
            .status()
            .map_err(|e| TestPgError::io("cannot run pg_ctl", e))?;
        let _ = owned.server.wait();
        if !status.success() {
            return Err(TestPgError(format!("pg_ctl stop -m immediate failed ({status})")));
        }
        let restarted = start_server(&bin, &owned.dir, &data, Some(owned.port))?;
        // Replacing the record drops the old watchdog's pipe; it is gone.
        *owned = restarted;
        Ok(())
    }

    /// Uses an existing server: fresh databases are created in it, nothing
    /// else is changed, and nothing is stopped on drop.
    pub fn external(url: impl Into<String>) -> TestPostgres {
        TestPostgres { url: url.into(), owned: None }
    }

    /// The URL of the server's maintenance database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The URL of a new, empty, uniquely named database.
    ///
    /// # Errors
    ///
    /// When the server cannot be reached or refuses `CREATE DATABASE`.
    pub fn fresh_database(&self) -> Result<String, TestPgError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "aistamp_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            nanos
        );
        let sql = format!("CREATE DATABASE {name}");
        let url = self.url.clone();
        let created_name = name.clone();
        on_own_thread(move || {
            block_on(async move {
                let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                    .await
                    .map_err(|e| TestPgError(format!("cannot connect to the test server: {e}")))?;
                let driver = tokio::spawn(connection);
                let created = client.batch_execute(&sql).await;
                drop(client);
                let _ = driver.await;
                created.map_err(|e| TestPgError(format!("cannot create database {name}: {e}")))
            })
        })?;
        with_database(&self.url, &created_name)
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        if let Some(owned) = &mut self.owned {
            // Closing the pipe tells the watchdog to stop the server.
            drop(owned.watchdog_stdin.take());
            let _ = owned.server.wait();
            let _ = owned.watchdog.wait();
        }
    }
}

/// The process's shared server, started on first use, or the server named
/// by `AISTAMP_TEST_POSTGRES_URL` when that is set.
///
/// # Errors
///
/// As [`TestPostgres::start`]; a failure is remembered, so every later
/// call reports it too.
pub fn shared_server() -> Result<&'static TestPostgres, TestPgError> {
    static SHARED: OnceLock<Result<TestPostgres, String>> = OnceLock::new();
    let shared = SHARED.get_or_init(|| match std::env::var(TEST_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Ok(TestPostgres::external(url.trim())),
        _ => TestPostgres::start().map_err(|e| e.to_string()),
    });
    shared.as_ref().map_err(|message| TestPgError(message.clone()))
}

/// The URL of a new, empty database on [`shared_server`], for one test.
///
/// # Panics
///
/// When no server can be started or reached, with the reason: a test that
/// needs PostgreSQL fails rather than being skipped.
pub fn fresh_database() -> String {
    match shared_server().and_then(TestPostgres::fresh_database) {
        Ok(url) => url,
        Err(err) => panic!("{err}"),
    }
}

/// Starts a server that outlives this process, for development
/// (`cargo xtask pg start`), in `dir`, and returns its URL. When a server
/// already runs there, returns its URL.
///
/// # Errors
///
/// As [`TestPostgres::start`].
pub fn start_detached(dir: &Path) -> Result<String, TestPgError> {
    let url_file = dir.join("url");
    if let Ok(url) = fs::read_to_string(&url_file)
        && dir.join("data/postmaster.pid").exists()
    {
        return Ok(url.trim().to_owned());
    }
    let bin = bin_dir()?;
    let data = dir.join("data");
    if !data.join("PG_VERSION").exists() {
        fs::create_dir_all(dir).map_err(|e| TestPgError::io("cannot create the directory", e))?;
        give_to_postgres(dir)?;
        init_data_dir(&bin, dir, &data)?;
    }
    let port = free_port()?;
    let options = format!("-p {port} {}", server_options().join(" "));
    let status = as_postgres(&bin.join("pg_ctl"))
        .current_dir(dir)
        .arg("start")
        .arg("--wait")
        .arg("--silent")
        .arg("-D")
        .arg(&data)
        .arg("-l")
        .arg(dir.join("postgres.log"))
        .arg("-o")
        .arg(options)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .map_err(|e| TestPgError::io("cannot run pg_ctl", e))?;
    if !status.success() {
        return Err(TestPgError(format!(
            "pg_ctl start failed ({status}); see {}",
            dir.join("postgres.log").display()
        )));
    }
    let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    fs::write(&url_file, &url).map_err(|e| TestPgError::io("cannot write the url file", e))?;
    Ok(url)
}

/// Stops the server that [`start_detached`] started in `dir` and removes
/// the directory. Does nothing when no server is there.
///
/// # Errors
///
/// When `pg_ctl stop` fails or the directory cannot be removed.
pub fn stop_detached(dir: &Path) -> Result<(), TestPgError> {
    let data = dir.join("data");
    if data.join("postmaster.pid").exists() {
        let bin = bin_dir()?;
        let status = as_postgres(&bin.join("pg_ctl"))
            .current_dir(dir)
            .args(["stop", "--wait", "--silent", "-m", "fast", "-D"])
            .arg(&data)
            .stdin(Stdio::null())
            .status()
            .map_err(|e| TestPgError::io("cannot run pg_ctl", e))?;
        if !status.success() {
            return Err(TestPgError(format!("pg_ctl stop failed ({status})")));
        }
    }
    match fs::remove_dir_all(dir) {
        Err(err) if err.kind() != ErrorKind::NotFound => {
            Err(TestPgError::io("cannot remove the directory", err))
        }
        _ => Ok(()),
    }
}

/// `url` with its database name replaced by `name`.
///
/// # Errors
///
/// When `url` is not a `postgres://` or `postgresql://` URL.
pub fn with_database(url: &str, name: &str) -> Result<String, TestPgError> {
    let Some(scheme_end) = url.find("://") else {
        return Err(TestPgError(format!(
            "invalid server URL: expected postgres://, got {}",
            redact(url)
        )));
    };
    let rest_start = scheme_end + 3;
    let query_start = url[rest_start..].find('?').map_or(url.len(), |i| rest_start + i);
    let path_start = url[rest_start..query_start].find('/').map_or(query_start, |i| rest_start + i);
    Ok(format!("{}/{}{}", &url[..path_start], name, &url[query_start..]))
}

fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else { return "<not a URL>".to_owned() };
    let rest = &url[scheme_end + 3..];
    match (rest.find('@'), rest.find(':')) {
        (Some(at), Some(colon)) if colon < at => {
            format!("{}{}:***{}", &url[..scheme_end + 3], &rest[..colon], &rest[at..])
        }
        _ => url.to_owned(),
    }
}

fn bin_dir() -> Result<PathBuf, TestPgError> {
    let dir =
        std::env::var_os(BIN_DIR_VAR).map_or_else(|| PathBuf::from(DEFAULT_BIN_DIR), PathBuf::from);
    if dir.join("postgres").is_file() && dir.join("initdb").is_file() {
        Ok(dir)
    } else {
        Err(TestPgError(format!(
            "no PostgreSQL binaries in {}: install them with `apt-get install -y postgresql-15`, \
             set {BIN_DIR_VAR}, or set {TEST_URL_VAR} to an existing server",
            dir.display()
        )))
    }
}

fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// A command that runs `program` as the `postgres` user when this process
/// is root, and as this process's user otherwise.
fn as_postgres(program: &Path) -> Command {
    if running_as_root() {
        let mut command = Command::new("setpriv");
        command.args(["--reuid=postgres", "--regid=postgres", "--init-groups", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn postgres_ids() -> Result<(u32, u32), TestPgError> {
    let passwd = fs::read_to_string("/etc/passwd")
        .map_err(|e| TestPgError::io("cannot read /etc/passwd", e))?;
    passwd
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            if fields.first() != Some(&"postgres") {
                return None;
            }
            Some((fields.get(2)?.parse().ok()?, fields.get(3)?.parse().ok()?))
        })
        .ok_or_else(|| TestPgError("no user 'postgres': install postgresql-15".into()))
}

fn give_to_postgres(dir: &Path) -> Result<(), TestPgError> {
    if running_as_root() {
        let (uid, gid) = postgres_ids()?;
        std::os::unix::fs::chown(dir, Some(uid), Some(gid))
            .map_err(|e| TestPgError::io("cannot give the directory to postgres", e))?;
    }
    Ok(())
}

fn new_temp_dir() -> Result<PathBuf, TestPgError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!(
        "aistamp-pg-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    fs::create_dir(&dir).map_err(|e| TestPgError::io("cannot create a temporary directory", e))?;
    give_to_postgres(&dir)?;
    Ok(dir)
}

fn init_data_dir(bin: &Path, dir: &Path, data: &Path) -> Result<(), TestPgError> {
    let output = as_postgres(&bin.join("initdb"))
        .current_dir(dir)
        .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "-D"])
        .arg(data)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| TestPgError::io("cannot run initdb", e))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(TestPgError(format!(
            "initdb failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

fn server_options() -> Vec<String> {
    [
        "-c listen_addresses=127.0.0.1",
        "-c unix_socket_directories=''",
        "-c fsync=on",
        "-c synchronous_commit=on",
        "-c max_connections=300",
        "-c shared_buffers=128MB",
        "-c max_wal_size=1GB",
    ]
    .map(String::from)
    .to_vec()
}

fn free_port() -> Result<u16, TestPgError> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| TestPgError::io("cannot find a free port", e))
}

fn start_server(
    bin: &Path,
    dir: &Path,
    data: &Path,
    port: Option<u16>,
) -> Result<OwnedServer, TestPgError> {
    let port = match port {
        Some(port) => port,
        None => free_port()?,
    };
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("postgres.log"))
        .map_err(|e| TestPgError::io("cannot create the server log", e))?;
    let log_err = log.try_clone().map_err(|e| TestPgError::io("cannot open the server log", e))?;
    let mut command = as_postgres(&bin.join("postgres"));
    command.current_dir(dir).arg("-D").arg(data).arg("-p").arg(port.to_string());
    for option in server_options() {
        let (flag, value) = option.split_at(2);
        command.arg(flag.trim()).arg(value.trim().replace("''", ""));
    }
    let mut server = command
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .spawn()
        .map_err(|e| TestPgError::io("cannot start postgres", e))?;

    let watchdog = Command::new("sh")
        .arg("-c")
        .arg(WATCHDOG)
        .arg("aistamp-pg-watchdog")
        .arg(dir)
        .arg(server.id().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let mut watchdog = match watchdog {
        Ok(watchdog) => watchdog,
        Err(err) => {
            let _ = server.kill();
            let _ = server.wait();
            return Err(TestPgError::io("cannot start the watchdog", err));
        }
    };
    let watchdog_stdin = watchdog.stdin.take();
    let mut owned = OwnedServer { dir: dir.to_owned(), port, server, watchdog, watchdog_stdin };

    let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Ok(Some(status)) = owned.server.try_wait() {
            let log = fs::read_to_string(owned.dir.join("postgres.log")).unwrap_or_default();
            // Keep the directory for the next attempt: only stop the watchdog.
            drop(owned.watchdog_stdin.take());
            let _ = fs::remove_file(owned.dir.join("data/postmaster.pid"));
            let _ = owned.watchdog.kill();
            let _ = owned.watchdog.wait();
            return Err(TestPgError(format!("postgres exited ({status}): {}", log.trim())));
        }
        if accepts_connections(&url) {
            return Ok(owned);
        }
        if Instant::now() > deadline {
            drop(owned.watchdog_stdin.take());
            let _ = owned.server.wait();
            let _ = owned.watchdog.wait();
            return Err(TestPgError(format!(
                "postgres did not accept connections on port {port} within {READY_TIMEOUT:?}"
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn accepts_connections(url: &str) -> bool {
    let url = url.to_owned();
    on_own_thread(move || {
        block_on(async move {
            let Ok((client, connection)) =
                tokio_postgres::connect(&url, tokio_postgres::NoTls).await
            else {
                return false;
            };
            let driver = tokio::spawn(connection);
            let ok = client.simple_query("SELECT 1").await.is_ok();
            drop(client);
            let _ = driver.await;
            ok
        })
    })
}

/// Runs `work` on a new thread, so that it may start its own runtime even
/// when the caller is inside one.
fn on_own_thread<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| match scope.spawn(work).join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime.block_on(future),
        Err(err) => panic!("cannot start a tokio runtime: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_database_replaces_only_the_name() {
        assert_eq!(
            with_database("postgres://u:p@h:5/old?sslmode=disable", "new").unwrap(),
            "postgres://u:p@h:5/new?sslmode=disable"
        );
        assert_eq!(with_database("postgresql://h", "new").unwrap(), "postgresql://h/new");
        assert!(with_database("h:5/db", "x").is_err());
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
    }

    #[test]
    fn a_started_server_serves_fresh_databases_and_is_gone_after_drop() {
        let server = TestPostgres::start().unwrap();
        let first = server.fresh_database().unwrap();
        let second = server.fresh_database().unwrap();
        assert_ne!(first, second);
        assert!(accepts_connections(&first));
        let dir = server.owned.as_ref().unwrap().dir.clone();
        assert!(dir.exists());
        drop(server);
        assert!(!dir.exists());
        assert!(!accepts_connections(&first));
    }

    #[test]
    fn a_crashed_server_restarts_with_its_committed_data() {
        let mut server = TestPostgres::start().unwrap();
        let url = server.fresh_database().unwrap();
        let count = |url: &str| -> Option<i64> {
            let url = url.to_owned();
            on_own_thread(move || {
                block_on(async move {
                    let (client, connection) =
                        tokio_postgres::connect(&url, tokio_postgres::NoTls).await.ok()?;
                    let driver = tokio::spawn(connection);
                    client
                        .batch_execute(
                            "CREATE TABLE IF NOT EXISTS t (n int); INSERT INTO t VALUES (1)",
                        )
                        .await
                        .ok()?;
                    let row = client.query_one("SELECT count(*) FROM t", &[]).await.ok()?;
                    drop(client);
                    let _ = driver.await;
                    row.try_get(0).ok()
                })
            })
        };
        assert_eq!(count(&url), Some(1));
        server.crash_and_restart().unwrap();
        assert_eq!(count(&url), Some(2));
        assert!(TestPostgres::external("postgres://x").crash_and_restart().is_err());
    }

    #[test]
    fn the_server_stops_when_its_process_dies() {
        // A child process of this test starts a server and is killed; the
        // watchdog must then stop the server and remove its directory.
        if std::env::var_os("AISTAMP_TESTKIT_CHILD").is_some() {
            let server = TestPostgres::start().unwrap();
            let owned = server.owned.as_ref().unwrap();
            println!("READY {} {}", owned.port, owned.dir.display());
            std::thread::sleep(Duration::from_secs(120));
            return;
        }
        let exe = std::env::current_exe().unwrap();
        let mut child = Command::new(exe)
            .args(["--exact", "tests::the_server_stops_when_its_process_dies", "--nocapture"])
            .env("AISTAMP_TESTKIT_CHILD", "1")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        loop {
            line.clear();
            assert!(io::BufRead::read_line(&mut stdout, &mut line).unwrap() > 0, "child ended");
            if line.starts_with("READY ") {
                break;
            }
        }
        let mut parts = line.split_whitespace().skip(1);
        let port: u16 = parts.next().unwrap().parse().unwrap();
        let dir = PathBuf::from(parts.next().unwrap());
        let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
        assert!(accepts_connections(&url));

        child.kill().unwrap();
        child.wait().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while dir.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(!dir.exists(), "directory {} left behind", dir.display());
        assert!(!accepts_connections(&url));
    }
}
