//! TLS to `https://` targets: a backend in another network is reached with its certificate
//! checked, and — for mutual TLS — the gateway's own client certificate.
//!
//! Each upstream with an `https://` target gets one rustls client configuration, built from its
//! `[upstreams.tls]` section when the configuration is loaded:
//!
//! - **whom to trust**: the CAs in `ca_file` (a private CA, the usual case inside an
//!   organisation), or else the system's trusted CAs (`rustls-native-certs` reads the operating
//!   system's store, e.g. `/etc/ssl/certs`);
//! - **who the gateway is** (optional): `client_cert_file` and `client_key_file`, presented when
//!   the target asks for a client certificate;
//! - the target's certificate must name the host of its URL (checked by rustls against the
//!   `ServerName`), and ALPN offers HTTP/1.1 only: the connection pool speaks HTTP/1.1.
//!
//! A failed handshake counts as a failed connection (502 `upstream_unavailable`, the target's
//! breaker told): nothing of the request was sent.

use crate::config::UpstreamTlsConfig;
use rustls::{
    ClientConfig, RootCertStore,
    crypto::ring,
    pki_types::{CertificateDer, PrivateKeyDer, ServerName, pem::PemObject},
};
use std::{path::Path, sync::Arc};
use tokio_rustls::TlsConnector;

/// How one target's connections start TLS: the upstream's client configuration and the name
/// the target's certificate must carry.
#[derive(Clone)]
pub struct TlsConnect {
    /// The upstream's client configuration.
    pub connector: TlsConnector,
    /// The host of the target's URL.
    pub server_name: ServerName<'static>,
}

impl std::fmt::Debug for TlsConnect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConnect")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

/// The rustls client configuration of an upstream; the error names the file and the problem.
pub fn client_config(config: Option<&UpstreamTlsConfig>) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    match config.and_then(|c| c.ca_file.as_deref()) {
        Some(ca_file) => {
            for cert in read_certs(ca_file)? {
                roots.add(cert).map_err(|e| {
                    format!("{}: a CA certificate is unusable: {e}", ca_file.display())
                })?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(
                    "the system has no trusted CA certificates (install Debian's \
                     `ca-certificates`, or set `ca_file`)"
                        .into(),
                );
            }
        }
    }
    let builder = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports TLS 1.2 and 1.3")
        .with_root_certificates(roots);
    let cert = config.and_then(|c| c.client_cert_file.as_deref());
    let key = config.and_then(|c| c.client_key_file.as_deref());
    let mut client = match (cert, key) {
        (None, None) => builder.with_no_client_auth(),
        (Some(cert_file), Some(key_file)) => {
            let chain = read_certs(cert_file)?;
            let pem = std::fs::read(key_file)
                .map_err(|e| format!("{}: cannot be read: {e}", key_file.display()))?;
            let key = PrivateKeyDer::from_pem_slice(&pem)
                .map_err(|e| format!("{}: no usable private key ({e})", key_file.display()))?;
            builder.with_client_auth_cert(chain, key).map_err(|e| {
                format!(
                    "{} and {}: not a certificate and its key ({e})",
                    cert_file.display(),
                    key_file.display()
                )
            })?
        }
        _ => {
            return Err(
                "`client_cert_file` and `client_key_file` go together: set both or neither".into(),
            );
        }
    };
    client.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(client))
}

/// The PEM certificates in `path`, at least one.
fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem =
        std::fs::read(path).map_err(|e| format!("{}: cannot be read: {e}", path.display()))?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&pem)
        .filter_map(Result::ok)
        .collect();
    if certs.is_empty() {
        return Err(format!(
            "{}: no certificate (expected a PEM `BEGIN CERTIFICATE` block)",
            path.display()
        ));
    }
    Ok(certs)
}

/// How a target at `host` starts TLS with the upstream's `config`.
pub fn connect_to(config: &Arc<ClientConfig>, host: &str) -> Result<TlsConnect, String> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let server_name = ServerName::try_from(host.to_owned())
        .map_err(|e| format!("`{host}` cannot be checked against a certificate: {e}"))?;
    Ok(TlsConnect {
        connector: TlsConnector::from(Arc::clone(config)),
        server_name,
    })
}
