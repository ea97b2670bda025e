//! `[server]`: the limits on what one client may send must leave room for a real request, and
//! `served_by` must be sendable as a header value.
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
