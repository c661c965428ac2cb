//! Database URLs: `postgres://`, `postgresql://` and the reference's
//! `postgresql+driver://` forms, and the TLS settings they ask for.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use aistamp_core::StoreError;
use tokio_postgres::config::SslMode;

const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A parsed PostgreSQL URL: the driver settings, whether TLS is used, and
/// the URL with its password removed, for messages.
#[derive(Clone, Debug)]
pub struct PgUrl {
    config: tokio_postgres::Config,
    tls: Option<TlsSettings>,
    redacted: String,
}

/// Whether TLS is required, and how the server's certificate is checked.
#[derive(Clone, Debug, PartialEq, Eq)]
struct TlsSettings {
    /// A PEM file of trusted roots (`sslrootcert`). When `None`, a required
    /// TLS session checks the certificate against the public web roots and
    /// a preferred one does not check it.
    root_cert: Option<PathBuf>,
    /// `false` for `sslmode=prefer`: plain when the server offers no TLS.
    required: bool,
}

impl PgUrl {
    /// Parses `url`.
    ///
    /// Accepted: `postgres://` and `postgresql://` URLs as libpq writes
    /// them, also with a driver part (`postgresql+psycopg2://`,
    /// `postgresql+asyncpg://`) that is ignored. `sslmode=require`,
    /// `verify-ca` or `verify-full` require TLS and check the server's
    /// certificate. `prefer`, libpq's default and so also the mode when the
    /// URL names none, uses TLS when the server offers it and plain
    /// otherwise; as in libpq, it then guards against eavesdropping but not
    /// against a server that impersonates another, so its certificate is
    /// checked only against an `sslrootcert` given with it (and a failed
    /// check fails the connection rather than falling back to plain, as
    /// libpq would). `disable` and
    /// `allow` connect without TLS. `sslrootcert=FILE` names the PEM roots
    /// to trust instead of the public web roots.
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidUrl`], naming the URL without its password.
    pub fn parse(url: &str) -> Result<PgUrl, StoreError> {
        let redacted = redact(url);
        let invalid = |reason: String| StoreError::InvalidUrl { url: redacted.clone(), reason };

        let Some((scheme, rest)) = url.trim().split_once("://") else {
            return Err(invalid(
                "expected postgres://, postgresql:// or postgresql+DRIVER://".into(),
            ));
        };
        let base = scheme.split('+').next().unwrap_or_default().to_ascii_lowercase();
        if base != "postgres" && base != "postgresql" {
            return Err(invalid(format!(
                "unsupported scheme '{}': expected postgres://, postgresql:// or postgresql+DRIVER://",
                scheme.chars().take(32).collect::<String>()
            )));
        }

        // sslmode and sslrootcert are handled here; everything else is
        // passed on to the driver's own parser.
        let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut kept = Vec::new();
        let mut ssl_mode = None;
        let mut root_cert = None;
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "sslmode" => ssl_mode = Some(value.to_owned()),
                "sslrootcert" => root_cert = Some(PathBuf::from(percent_decode(value))),
                _ => kept.push(pair),
            }
        }
        let mut driver_url = format!("postgresql://{location}");
        if !kept.is_empty() {
            driver_url.push('?');
            driver_url.push_str(&kept.join("&"));
        }
        let mut config = tokio_postgres::Config::from_str(&driver_url).map_err(|err| {
            invalid(format!(
                "{}: expected postgres://USER:PASSWORD@HOST:PORT/DATABASE?PARAMETERS",
                crate::error::with_causes(&err)
            ))
        })?;

        let tls = match ssl_mode.as_deref() {
            Some("disable" | "allow") => None,
            None | Some("prefer") => Some(TlsSettings { root_cert, required: false }),
            Some("require" | "verify-ca" | "verify-full") => {
                Some(TlsSettings { root_cert, required: true })
            }
            Some(other) => {
                return Err(invalid(format!(
                    "invalid sslmode '{}': expected disable, allow, prefer, require, verify-ca \
                     or verify-full",
                    other.chars().take(32).collect::<String>()
                )));
            }
        };
        config.ssl_mode(match &tls {
            Some(TlsSettings { required: true, .. }) => SslMode::Require,
            Some(TlsSettings { required: false, .. }) => SslMode::Prefer,
            None => SslMode::Disable,
        });

        if config.get_hosts().is_empty() {
            config.host("localhost");
        }
        if config.get_user().is_none() {
            let user = std::env::var("USER").unwrap_or_else(|_| "postgres".to_owned());
            config.user(user);
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("aistamp");
        }
        // An acknowledged write must be durable, whatever the server's
        // default: every session commits synchronously.
        let options = match config.get_options() {
            Some(options) if !options.trim().is_empty() => {
                format!("{options} -c synchronous_commit=on")
            }
            _ => "-c synchronous_commit=on".to_owned(),
        };
        config.options(options);

        Ok(PgUrl { config, tls, redacted })
    }

    /// Whether connections always use TLS (`sslmode=require`,
    /// `verify-ca` or `verify-full`). With `prefer` they use it when the
    /// server offers it.
    pub fn requires_tls(&self) -> bool {
        self.tls.as_ref().is_some_and(|tls| tls.required)
    }

    /// The URL with its password replaced by `***`.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }

    /// The driver's connection settings.
    pub fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }

    /// The rustls configuration for this URL, `None` when TLS is never
    /// tried.
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidUrl`] when `sslrootcert` cannot be read or
    /// holds no certificate.
    pub(crate) fn tls_connector(
        &self,
    ) -> Result<Option<tokio_postgres_rustls::MakeRustlsConnect>, StoreError> {
        let Some(settings) = &self.tls else { return Ok(None) };
        let invalid =
            |reason: String| StoreError::InvalidUrl { url: self.redacted.clone(), reason };

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|err| invalid(format!("cannot set up TLS: {err}")))?;
        let mut roots = rustls::RootCertStore::empty();
        match &settings.root_cert {
            None if !settings.required => {
                let config = builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(EncryptOnly { provider }))
                    .with_no_client_auth();
                return Ok(Some(tokio_postgres_rustls::MakeRustlsConnect::new(config)));
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            Some(path) => {
                use rustls::pki_types::CertificateDer;
                use rustls::pki_types::pem::PemObject;
                let certs = CertificateDer::pem_file_iter(path).map_err(|err| {
                    invalid(format!("cannot read sslrootcert {}: {err}", path.display()))
                })?;
                for cert in certs {
                    let cert = cert.map_err(|err| {
                        invalid(format!(
                            "invalid certificate in sslrootcert {}: {err}",
                            path.display()
                        ))
                    })?;
                    roots.add(cert).map_err(|err| {
                        invalid(format!(
                            "invalid certificate in sslrootcert {}: {err}",
                            path.display()
                        ))
                    })?;
                }
                if roots.is_empty() {
                    return Err(invalid(format!(
                        "sslrootcert {} holds no certificate: expected PEM certificates",
                        path.display()
                    )));
                }
            }
        }
        let config = builder.with_root_certificates(roots).with_no_client_auth();
        Ok(Some(tokio_postgres_rustls::MakeRustlsConnect::new(config)))
    }
}

/// The certificate check of `sslmode=prefer` without `sslrootcert`: any
/// certificate is accepted, as libpq does in that mode, while the
/// handshake's signatures are still verified, so that the session is
/// encrypted to whoever holds the certificate's key.
#[derive(Debug)]
struct EncryptOnly {
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl rustls::client::danger::ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// `url` with the password, if any, replaced by `***`.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        // Not a URL: it may still hold a secret, so show only its start.
        return if url.contains('@') || url.contains("password") {
            "<unparsable URL>".to_owned()
        } else {
            url.chars().take(100).collect()
        };
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let mut out = format!("{scheme}://");
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            match userinfo.split_once(':') {
                Some((user, _password)) => {
                    out.push_str(user);
                    out.push_str(":***");
                }
                None => out.push_str(userinfo),
            }
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    // A password can also be given as a query parameter.
    let tail = &rest[authority_end..];
    match tail.split_once('?') {
        Some((path, query)) => {
            out.push_str(path);
            out.push('?');
            let pairs: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some(("password", _)) => "password=***".to_owned(),
                    _ => pair.to_owned(),
                })
                .collect();
            out.push_str(&pairs.join("&"));
        }
        None => out.push_str(tail),
    }
    out
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_postgres::config::Host;

    fn host(url: &PgUrl) -> String {
        match url.config().get_hosts().first() {
            Some(Host::Tcp(name)) => name.clone(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn accepts_every_reference_spelling() {
        for text in [
            "postgres://app:pw@db.example:5433/audit",
            "postgresql://app:pw@db.example:5433/audit",
            "postgresql+psycopg2://app:pw@db.example:5433/audit",
            "postgresql+asyncpg://app:pw@db.example:5433/audit",
            "POSTGRESQL://app:pw@db.example:5433/audit",
        ] {
            let url = PgUrl::parse(text).unwrap();
            assert_eq!(host(&url), "db.example", "{text}");
            assert_eq!(url.config().get_ports(), [5433]);
            assert_eq!(url.config().get_dbname(), Some("audit"));
            assert_eq!(url.config().get_user(), Some("app"));
            assert_eq!(url.config().get_password(), Some(&b"pw"[..]));
            assert!(!url.requires_tls());
            assert!(!url.redacted().contains("pw"), "{}", url.redacted());
        }
    }

    #[test]
    fn sslmode_decides_tls() {
        let url = PgUrl::parse("postgres://u@h/db?sslmode=require").unwrap();
        assert!(url.requires_tls());
        assert_eq!(url.config().get_ssl_mode(), SslMode::Require);
        assert!(url.tls_connector().unwrap().is_some());
        for mode in ["verify-ca", "verify-full"] {
            assert!(
                PgUrl::parse(&format!("postgres://u@h/db?sslmode={mode}")).unwrap().requires_tls()
            );
        }
        for mode in ["disable", "allow"] {
            let url = PgUrl::parse(&format!("postgres://u@h/db?sslmode={mode}")).unwrap();
            assert!(!url.requires_tls());
            assert!(url.tls_connector().unwrap().is_none());
            assert_eq!(url.config().get_ssl_mode(), SslMode::Disable);
        }
        // libpq's default: TLS when the server offers it.
        for url in ["postgres://u@h/db?sslmode=prefer", "postgres://u@h/db"] {
            let url = PgUrl::parse(url).unwrap();
            assert!(!url.requires_tls());
            assert!(url.tls_connector().unwrap().is_some());
            assert_eq!(url.config().get_ssl_mode(), SslMode::Prefer);
        }
        let err = PgUrl::parse("postgres://u:secret@h/db?sslmode=always").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid database URL 'postgres://u:***@h/db?sslmode=always': invalid sslmode \
             'always': expected disable, allow, prefer, require, verify-ca or verify-full"
        );
        let missing =
            PgUrl::parse("postgres://u@h/db?sslmode=require&sslrootcert=/nonexistent/root.pem")
                .unwrap();
        let err = missing.tls_connector().err().unwrap().to_string();
        assert!(err.contains("/nonexistent/root.pem"), "{err}");
    }

    #[test]
    fn other_parameters_reach_the_driver() {
        let url =
            PgUrl::parse("postgres://u@h/db?connect_timeout=3&application_name=audit").unwrap();
        assert_eq!(url.config().get_connect_timeout(), Some(&Duration::from_secs(3)));
        assert_eq!(url.config().get_application_name(), Some("audit"));
        assert_eq!(url.config().get_options(), Some("-c synchronous_commit=on"));
        let defaults = PgUrl::parse("postgresql:///db").unwrap();
        assert_eq!(host(&defaults), "localhost");
        assert_eq!(defaults.config().get_connect_timeout(), Some(&DEFAULT_CONNECT_TIMEOUT));
    }

    #[test]
    fn malformed_urls_are_named_without_the_password() {
        for (text, shown) in [
            ("sqlite:///x.db", "sqlite:///x.db"),
            ("mysql://u:hunter2@h/db", "mysql://u:***@h/db"),
            ("postgres://u:hunter2@h:notaport/db", "postgres://u:***@h:notaport/db"),
            ("postgres://u:hunter2@h/db?bogus=1", "postgres://u:***@h/db?bogus=1"),
            ("u:hunter2@h", "<unparsable URL>"),
        ] {
            let err = PgUrl::parse(text).unwrap_err();
            let message = err.to_string();
            assert!(matches!(err, StoreError::InvalidUrl { .. }), "{text}");
            assert!(message.contains(&format!("'{shown}'")), "{message}");
            assert!(!message.contains("hunter2"), "{message}");
        }
        // The driver's own reason names the option it rejected.
        for (text, named) in [
            ("postgres://u@h:notaport/db", "`port`"),
            ("postgres://u@[::1/db", "`host`"),
            ("postgres://u@h/db?bogus=1", "`bogus`"),
        ] {
            let message = PgUrl::parse(text).unwrap_err().to_string();
            assert!(message.contains(named), "{message}");
            assert!(message.contains("expected postgres://"), "{message}");
        }
    }

    #[test]
    fn passwords_in_parameters_are_redacted_too() {
        assert_eq!(
            redact("postgres://u@h/db?password=hunter2&x=1"),
            "postgres://u@h/db?password=***&x=1"
        );
        assert_eq!(redact("postgres://u:p@ss@h/db"), "postgres://u:***@h/db");
    }

    #[test]
    fn percent_escapes_are_decoded_in_file_names() {
        assert_eq!(percent_decode("/a%20b/c%2Fd.pem"), "/a b/c/d.pem");
        assert_eq!(percent_decode("100%"), "100%");
    }
}
