//! `[server]`: the limits on what one client may send must leave room for a real request.

use super::report::Report;
use crate::config::{Config, location::KeyPath};

/// Checks the URI and body limits.
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
}
