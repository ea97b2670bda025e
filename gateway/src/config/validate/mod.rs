//! The semantic checks: what a TOML parser cannot know.
//!
//! Each check pushes a [`Diagnostic`] naming the key, the problem and the fix, located through the
//! [`Locator`] so the message carries the line. The same function runs on a file (with positions)
//! and on a configuration built in code (without), so `gateway check-config` and start-up can
//! never disagree.
//!
//! # Layout
//!
//! One file per section of the configuration, each with one `check` function, run in file order
//! by [`validate`]:
//!
//! - [`server`], [`auth`], [`trusted_proxies`], [`upstreams`], [`routes`] (and
//!   [`route_features`], their optional sections), [`rate_limits`]
//!   (`[[rate_limits]]`, `[[quotas]]`, `[redis]` and the lists that name them), [`aggregates`],
//!   [`admin`];
//! - below them, [`common`]: the checks several sections share (names, paths, roles, upstream
//!   references), and [`report`]: the [`Report`] every check writes to.

pub mod admin;
pub mod aggregates;
pub mod auth;
pub mod common;
pub mod rate_limits;
pub mod report;
pub mod route_features;
pub mod routes;
pub mod server;
pub mod trusted_proxies;
pub mod upstreams;

use super::{Config, diagnostic::Diagnostic, location::Locator};
use report::Report;

/// Every semantic problem of `config`.
pub fn validate(config: &Config, at: &Locator<'_>) -> Vec<Diagnostic> {
    let mut report = Report::new(at);
    server::check(config, &mut report);
    server::check_reload(config, &mut report);
    auth::check(config, &mut report);
    trusted_proxies::check(config, &mut report);
    upstreams::check(config, &mut report);
    routes::check(config, &mut report);
    route_features::check(config, &mut report);
    rate_limits::check(config, &mut report);
    aggregates::check(config, &mut report);
    admin::check(config, &mut report);
    report.into_diagnostics()
}
