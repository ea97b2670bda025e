//! `[server]`: the limits on what one client may send must leave room for a real request,
//! `served_by` must be sendable as a header value, and a `[server.tls]` certificate must load: a
//! file that is missing, holds no certificate or key, pairs a key with another certificate, or is
//! expired is refused before the gateway starts.
//! `[reload]`: a file watched too often is read for nothing.

use super::report::Report;
use crate::config::{Config, location::KeyPath};

/// Checks the URI and body limits, and the replica name.
pub fn check(config: &Config, report: &mut Report<'_, '_>) {
    let server = KeyPath::key("server");
    if config.server.max_uri_bytes < 16 {
        report.push(
            &server.field("max_uri_bytes"),
            "the URI limit is too small to be useful",
            "use at least a few hundred bytes; 8192 is usual",
        );
    }
    if config.server.max_body_bytes == 0 {
        report.push(
            &server.field("max_body_bytes"),
            "a zero body limit refuses every request with a body",
            "set a positive size in bytes, e.g. 1048576",
        );
    }
    if let Some(tls) = &config.server.tls {
        let at = server.field("tls");
        if let Err(error) = shared::tls::load(tls) {
            let key = match &error {
                shared::tls::TlsError::Unreadable { path, .. } if *path == tls.key_file => {
                    "key_file"
                }
                shared::tls::TlsError::NoKey(..) | shared::tls::TlsError::KeyMismatch { .. } => {
                    "key_file"
                }
                _ => "cert_file",
            };
            report.push(
                &at.field(key),
                error.to_string(),
                "point `cert_file` at the PEM chain (certificate first) and `key_file` at its \
                 own private key, valid today; see docs/tls.md",
            );
        }
    }
    if let Some(name) = &config.server.served_by
        && (name.is_empty() || http::HeaderValue::from_str(name).is_err())
    {
        report.push(
            &server.field("served_by"),
            "the replica name is sent as the `X-Served-By` header and must be a header value",
            "use visible ASCII, e.g. the pod's name: `served_by = \"gateway-7d9f-abcde\"`",
        );
    }
}

/// Checks `[reload]`.
pub fn check_reload(config: &Config, report: &mut Report<'_, '_>) {
    if config.reload.watch && config.reload.poll_interval_ms < 100 {
        report.push(
            &KeyPath::key("reload").field("poll_interval_ms"),
            "the file would be read more than ten times a second",
            "check every second or two: `poll_interval_ms = 2000`",
        );
    }
}
