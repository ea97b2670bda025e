//! `[admin]`: the admin listener shows the routes, the upstreams' addresses and recent decisions;
//! anywhere but loopback it must ask for a token.

use super::report::Report;
use crate::config::{Config, location::KeyPath};
use secrecy::ExposeSecret;

/// Shortest admin token accepted: long enough that guessing it is not a plan.
pub const MIN_TOKEN_LEN: usize = 16;

/// Checks that a non-loopback admin listener has a token, and that the token is not trivial.
pub fn check(config: &Config, report: &mut Report<'_, '_>) {
    let admin = KeyPath::key("admin");
    let token = config.admin.token.as_ref().map(|t| t.expose_secret());
    match token {
        None if !config.admin.listen.ip().is_loopback() => report.push(
            &admin.field("listen"),
            format!(
                "the admin listener on {} is reachable from other hosts, and no `admin.token` \
                 protects it",
                config.admin.listen
            ),
            "set `admin.token` (or GATEWAY__ADMIN__TOKEN) to a long random string, or listen \
             on a loopback address such as 127.0.0.1:9080",
        ),
        Some(token) if token.len() < MIN_TOKEN_LEN => report.push(
            &admin.field("token"),
            format!("the admin token is shorter than {MIN_TOKEN_LEN} characters"),
            "use a long random string, e.g. the output of `openssl rand -hex 32`",
        ),
        _ => {}
    }
}
