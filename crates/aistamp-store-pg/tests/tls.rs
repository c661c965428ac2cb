//! TLS on a real server: `sslmode=require` with `sslrootcert` connects over
//! rustls to a private server with a certificate made by `openssl`, and
//! refuses a server that offers no TLS or a certificate it cannot trust;
//! `sslmode=prefer`, also the mode of a URL that names none, encrypts when
//! the server offers TLS and connects plain when it does not.

use std::path::Path;
use std::process::Command;

use aistamp_core::{Record, RecordStore, SignedRecord, SigningKey, StoreError};
use aistamp_store_pg::BlockingPgStore;
use aistamp_testkit::TestPostgres;

fn openssl(dir: &Path, args: &[&str]) {
    let status = Command::new("openssl").current_dir(dir).args(args).status().unwrap();
    assert!(status.success(), "openssl {args:?}");
}

#[test]
fn sslmode_require_connects_over_tls_and_checks_the_certificate() {
    let dir = tempfile_dir();
    let d = dir.as_path();
    make_ca(d, "aistamp test CA");
    openssl(
        d,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    std::fs::write(d.join("ext.cnf"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
            "-out",
            "server.pem",
        ],
    );
    // The server reads its key as the postgres user and wants it private.
    let owner = Command::new("chown").arg("-R").arg("postgres").arg(d).status();
    assert!(owner.is_ok());
    std::fs::set_permissions(
        d.join("server.key"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();

    let server = TestPostgres::start().unwrap();
    // One statement at a time: ALTER SYSTEM refuses to run in a block.
    for sql in [
        format!("ALTER SYSTEM SET ssl_cert_file = '{}'", d.join("server.pem").display()),
        format!("ALTER SYSTEM SET ssl_key_file = '{}'", d.join("server.key").display()),
        "ALTER SYSTEM SET ssl = on".to_owned(),
        "SELECT pg_reload_conf()".to_owned(),
    ] {
        run_sql(server.url(), &sql);
    }
    let url = server.fresh_database().unwrap();

    // Trusting the test CA: TLS, and the store works.
    let tls_url = format!("{url}?sslmode=require&sslrootcert={}", d.join("ca.pem").display());
    let store = wait_for_tls(&tls_url);
    assert!(store.as_async().url().requires_tls());
    store.migrate().unwrap();
    write_and_read_back(&store, "require");
    assert!(every_session_uses_tls(&url), "the store's sessions use TLS");

    // Trusting only the public roots: the certificate is refused.
    let err = BlockingPgStore::connect(&format!("{url}?sslmode=require")).unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    assert!(err.to_string().contains("invalid peer certificate: UnknownIssuer"), "{err}");
    drop(store);

    // Preferring TLS, with no roots given: encrypted, certificate unchecked;
    // with the test CA given: encrypted and checked.
    for prefer_url in [
        format!("{url}?sslmode=prefer"),
        url.clone(),
        format!("{url}?sslmode=prefer&sslrootcert={}", d.join("ca.pem").display()),
    ] {
        let store = BlockingPgStore::connect(&prefer_url).unwrap();
        assert!(!store.as_async().url().requires_tls());
        write_and_read_back(&store, &prefer_url);
        assert!(every_session_uses_tls(&url), "{prefer_url}: the store's sessions use TLS");
        drop(store);
    }
    // Preferring TLS but trusting only roots that did not sign the server's
    // certificate: refused, not silently plain.
    let other = d.join("other");
    std::fs::create_dir_all(&other).unwrap();
    make_ca(&other, "another CA");
    let wrong_roots =
        format!("{url}?sslmode=prefer&sslrootcert={}", other.join("ca.pem").display());
    let err = BlockingPgStore::connect(&wrong_roots).unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    assert!(err.to_string().contains("invalid peer certificate: UnknownIssuer"), "{err}");
    drop(server);
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn sslmode_require_refuses_a_server_without_tls_and_prefer_connects_plain() {
    let url = aistamp_testkit::fresh_database();
    let err = BlockingPgStore::connect(&format!("{url}?sslmode=require")).unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    assert!(err.to_string().contains("server does not support TLS"), "{err}");

    let store = BlockingPgStore::connect(&format!("{url}?sslmode=prefer")).unwrap();
    store.migrate().unwrap();
    write_and_read_back(&store, "plain");
}

/// Writes a record with `prompt` and reads it back.
fn write_and_read_back(store: &BlockingPgStore, prompt: &str) {
    let key = SigningKey::new("tls-test-secret-0123456789abcdef-xyz").unwrap();
    let record = Record::new("app", "feature", "user", "model", prompt);
    store.write(SignedRecord { signature: key.sign(&record), record: record.clone() }).unwrap();
    assert_eq!(store.get(&record.content_id).unwrap().unwrap().record, record);
}

/// Whether the server's sessions opened by a store (named `aistamp`) all
/// use TLS; there must be at least one.
fn every_session_uses_tls(url: &str) -> bool {
    query_bool(
        url,
        "SELECT coalesce(bool_and(ssl), false) FROM pg_stat_ssl \
         JOIN pg_stat_activity USING (pid) WHERE application_name = 'aistamp'",
    )
}

/// A self-signed CA in `dir`: `ca.pem` and `ca.key`.
fn make_ca(dir: &Path, name: &str) {
    let subject = format!("/CN={name}");
    openssl(
        dir,
        &[
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", &subject,
            "-keyout", "ca.key", "-out", "ca.pem",
        ],
    );
}

/// The reload that turns TLS on is asynchronous: retry briefly.
fn wait_for_tls(url: &str) -> BlockingPgStore {
    let mut last = None;
    for _ in 0..50 {
        match BlockingPgStore::connect(url) {
            Ok(store) => return store,
            Err(err) => last = Some(err),
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("no TLS connection: {last:?}");
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("aistamp-tls-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    dir
}

fn run_sql(url: &str, sql: &str) {
    with_client(url, async |client| client.batch_execute(sql).await.unwrap());
}

fn query_bool(url: &str, sql: &str) -> bool {
    with_client(url, async |client| client.query_one(sql, &[]).await.unwrap().get(0))
}

fn with_client<T>(url: &str, work: impl AsyncFnOnce(&tokio_postgres::Client) -> T) -> T {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let (client, connection) =
            tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
        let driver = tokio::spawn(connection);
        let result = work(&client).await;
        drop(client);
        driver.await.unwrap().unwrap();
        result
    })
}
