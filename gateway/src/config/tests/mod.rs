//! One test per class of configuration mistake: each must be caught, located and explained.
//!
//! A file per section of the configuration, as in `validate/`, over one valid file ([`base`])
//! that each test splices its mistake into.

mod admin;
mod aggregates;
mod auth;
mod demo;
mod loading;
mod rate_limits;
mod route_features;
mod routes;
mod trusted_proxies;
mod upstreams;

use super::{Config, ConfigErrors};

/// The PEM keys the `[auth]` tests point at.
const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/keys");

/// A valid `[auth]` section and one upstream, `users`: the start of every test file.
const AUTH_AND_USERS: &str = r#"[auth]
issuer = "http://localhost:8080"
audience = "ecommerce-api"
hs256_secret = "a-test-secret-that-is-long-enough-for-hs256"

[[upstreams]]
name = "users"
targets = ["http://127.0.0.1:8082"]
"#;

/// A valid file; tests splice their mistake into it.
fn base(extra_routes: &str) -> String {
    format!(
        r#"[server]
listen = "127.0.0.1:0"

{AUTH_AND_USERS}
[[routes]]
name = "users"
prefix = "/api/users"
upstream = "users"
{extra_routes}"#
    )
}

/// The problems found in `text`, which must be refused.
fn errors(text: &str) -> ConfigErrors {
    Config::from_toml(text, "gw.toml").expect_err("the configuration should be refused")
}
