//! `trusted_proxies`: every entry must be an IP address or a CIDR block.

use super::report::Report;
use crate::{
    config::{Config, location::KeyPath},
    forwarded::Cidr,
};

/// Checks that each trusted proxy parses.
pub fn check(config: &Config, report: &mut Report<'_, '_>) {
    for (i, cidr) in config.trusted_proxies.iter().enumerate() {
        if let Err(e) = Cidr::parse(cidr) {
            report.push(
                &KeyPath::key("trusted_proxies").index(i),
                format!("`{cidr}` is not an IP address or CIDR: {e}"),
                "write e.g. \"10.0.0.0/8\", \"192.168.1.10\" or \"fd00::/8\"",
            );
        }
    }
}
