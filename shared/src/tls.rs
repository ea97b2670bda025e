//! TLS termination: the gateway's certificate, checked when loaded and swapped without a restart.
//!
//! A front door usually ends TLS itself: clients speak HTTPS to it, and it speaks to the services
//! on the private network behind it. This module gives the accept loop ([`crate::server`]) what
//! it needs for that, with rustls:
//!
//! - [`TlsConfig`], the `[server.tls]` section: a PEM certificate chain and its private key, and
//!   how often the files are looked at again;
//! - [`load`]: reads both files and refuses, naming the file and what is wrong, a file with no
//!   certificate or no key, a key that does not belong to the certificate, or a certificate
//!   outside its validity period;
//! - [`Certificates`]: the certificate in use, behind an [`ArcSwap`]; rustls asks it for the
//!   certificate at every handshake ([`ResolvesServerCert`]), so a swap takes effect on the next
//!   connection while open connections keep the one they started with;
//! - [`Certificates::watch`]: a task that notices when either file changes and loads them again.
//!   A file that fails to load is refused the same way as at start; the certificate in use stays,
//!   and the error is logged and counted ([`Certificates::reload_failures`]).
//!
//! The protocol choices are rustls's: TLS 1.2 and 1.3 only, and only AEAD suites with forward
//! secrecy (no CBC, no RSA key exchange, no SSLv3-era options to turn off). ALPN offers HTTP/2
//! first, then HTTP/1.1, so browsers and curl get HTTP/2 over TLS.

use arc_swap::ArcSwap;
use rustls::{
    ServerConfig,
    crypto::ring,
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
    server::{ClientHello, ResolvesServerCert},
    sign::CertifiedKey,
};
use serde::Deserialize;
use std::{
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime},
};

/// `[server.tls]`: where the certificate and its key are, and how often to look for new ones.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The certificate chain, PEM: the server's certificate first, then any intermediates.
    pub cert_file: PathBuf,
    /// The private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
    /// How often both files are checked for changes (milliseconds); 0 never reloads.
    #[serde(default = "default_reload_interval_ms")]
    pub reload_interval_ms: u64,
}

fn default_reload_interval_ms() -> u64 {
    10_000
}

/// Why a certificate and key could not be used, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("{}: cannot be read: {source}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The certificate file holds no PEM certificate.
    #[error("{}: no certificate (expected a PEM `BEGIN CERTIFICATE` block)", .0.display())]
    NoCertificate(PathBuf),
    /// The key file holds no PEM private key, or one rustls cannot sign with.
    #[error("{}: no usable private key ({})", .0.display(), .1)]
    NoKey(PathBuf, String),
    /// The key is not the certificate's.
    #[error("{}: this key does not belong to the certificate in {}", key.display(), cert.display())]
    KeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// The certificate cannot be parsed.
    #[error("{}: the certificate cannot be parsed: {}", .0.display(), .1)]
    BadCertificate(PathBuf, String),
    /// Now is outside the certificate's validity period.
    #[error("{}: the certificate is valid from {not_before} to {not_after}, not now", path.display())]
    NotValidNow {
        /// The certificate file.
        path: PathBuf,
        /// Its `notBefore`.
        not_before: String,
        /// Its `notAfter`.
        not_after: String,
    },
}

/// Reads and checks the certificate chain and key of `config`.
pub fn load(config: &TlsConfig) -> Result<CertifiedKey, TlsError> {
    let cert_pem = read(&config.cert_file)?;
    let key_pem = read(&config.key_file)?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .filter_map(Result::ok)
        .collect();
    let Some(leaf) = chain.first() else {
        return Err(TlsError::NoCertificate(config.cert_file.clone()));
    };
    check_validity(&config.cert_file, leaf, SystemTime::now())?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| TlsError::NoKey(config.key_file.clone(), e.to_string()))?;
    let provider = ring::default_provider();
    let signing_key = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| TlsError::NoKey(config.key_file.clone(), e.to_string()))?;
    let certified = CertifiedKey::new(chain, signing_key);
    certified.keys_match().map_err(|_| TlsError::KeyMismatch {
        cert: config.cert_file.clone(),
        key: config.key_file.clone(),
    })?;
    Ok(certified)
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Unreadable {
        path: path.to_owned(),
        source,
    })
}

/// Refuses a certificate that is not yet, or no longer, valid at `now`: a server that starts
/// with one would fail every handshake with a browser's most confusing error.
fn check_validity(path: &Path, der: &CertificateDer<'_>, now: SystemTime) -> Result<(), TlsError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| TlsError::BadCertificate(path.to_owned(), e.to_string()))?;
    let validity = cert.validity();
    let now = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    if now < validity.not_before.timestamp() || now > validity.not_after.timestamp() {
        return Err(TlsError::NotValidNow {
            path: path.to_owned(),
            not_before: validity.not_before.to_string(),
            not_after: validity.not_after.to_string(),
        });
    }
    Ok(())
}

/// The certificate in use; rustls asks for it at every handshake.
#[derive(Debug)]
pub struct Certificates {
    config: TlsConfig,
    current: ArcSwap<CertifiedKey>,
    reloads: AtomicU64,
    reload_failures: AtomicU64,
}

impl Certificates {
    /// Loads the files of `config` (refusing them as [`load`] does).
    pub fn new(config: TlsConfig) -> Result<Arc<Certificates>, TlsError> {
        let certified = load(&config)?;
        Ok(Arc::new(Certificates {
            config,
            current: ArcSwap::from_pointee(certified),
            reloads: AtomicU64::new(0),
            reload_failures: AtomicU64::new(0),
        }))
    }

    /// A rustls server configuration that takes its certificate from `self`, with ALPN for
    /// HTTP/2 and HTTP/1.1.
    pub fn server_config(self: &Arc<Self>) -> Arc<ServerConfig> {
        let mut config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("the ring provider supports TLS 1.2 and 1.3")
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(self) as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Arc::new(config)
    }

    /// Loads the files again: on success the new certificate serves the next handshakes; on
    /// failure the one in use stays, and the error says why.
    pub fn reload(&self) -> Result<(), TlsError> {
        match load(&self.config) {
            Ok(certified) => {
                self.current.store(Arc::new(certified));
                self.reloads.fetch_add(1, Ordering::Relaxed);
                tracing::info!(cert_file = %self.config.cert_file.display(), "TLS certificate reloaded");
                Ok(())
            }
            Err(error) => {
                self.reload_failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%error, "TLS certificate not reloaded; the one in use stays");
                Err(error)
            }
        }
    }

    /// Certificates loaded again since start.
    pub fn reloads(&self) -> u64 {
        self.reloads.load(Ordering::Relaxed)
    }

    /// Reloads refused since start (the certificate in use stayed).
    pub fn reload_failures(&self) -> u64 {
        self.reload_failures.load(Ordering::Relaxed)
    }

    /// Looks at both files every `reload_interval_ms` and reloads when either changed (its
    /// modification time or length). Ends when `self` is the last reference left.
    pub fn watch(self: &Arc<Self>) {
        let interval = self.config.reload_interval_ms;
        if interval == 0 {
            return;
        }
        let weak = Arc::downgrade(self);
        let mut seen = self.stamp();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(Duration::from_millis(interval));
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let Some(certificates) = weak.upgrade() else {
                    return;
                };
                let stamp = certificates.stamp();
                if stamp != seen {
                    seen = stamp;
                    let _ = certificates.reload();
                }
            }
        });
    }

    /// What changes when a file is replaced: each file's modification time and length.
    fn stamp(&self) -> [Option<(SystemTime, u64)>; 2] {
        let of = |path: &Path| {
            let meta = std::fs::metadata(path).ok()?;
            Some((meta.modified().ok()?, meta.len()))
        };
        [of(&self.config.cert_file), of(&self.config.key_file)]
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}
