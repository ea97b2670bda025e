//! # test-support — what every test suite in the workspace shares
//!
//! Each service's integration tests start the service in-process on `127.0.0.1:0`, talk to it
//! over real HTTP, and stop it when the test ends. That frame is the same for every service, so
//! it lives here once; the service's own `tests/api/helpers.rs` keeps only what is particular to
//! it (its configuration, its typed requests such as `post_login`).
//!
//! This crate knows no service: a test builds its app, then hands [`TestServer::start`] the bound
//! address and a closure that runs the app until a shutdown future resolves — the shape every
//! service's `App::run_until` (and the gateway's) has.
//!
//! # Layout
//!
//! - [`server`]: [`TestServer`] — the app running on a spawned task, its address, a client,
//!   `url`, `get` (optionally with a bearer token), `get_json`, `post_json`, `put_json`,
//!   `send_json` (with a bearer token), `send`; dropping it stops the server.
//! - [`problem`]: [`assert_problem`], reading an RFC 9457 problem+json answer as a user sees it.
//! - [`logs`]: [`logs::CapturedLogs`], a log writer a test reads back; and
//!   [`prometheus_sample`], one value from a `/metrics` page.
//! - [`certs`]: a test CA and the leaf certificates it signs ([`certs::TestCa`]), written to
//!   temporary PEM files ([`certs::Files`]) for TLS tests.
//! - [`redis`]: [`redis::RedisServer`], a private `redis-server` on a free port that a test can
//!   stop and restart on the same port.
//! - [`tokens`]: minting the tokens the auth-service would issue ([`tokens::sign_hs256`],
//!   [`tokens::claims_for`]), the lecture's tampered token, and [`tokens::TEST_HS256_SECRET`].
//!
//! ```ignore
//! let app = user_service::build(config).await?;            // bound on 127.0.0.1:0
//! let server = TestServer::start(app.local_addr(), |shutdown| app.run_until(shutdown));
//! let response = server.get("/users/me", Some(&token)).await;
//! let body = assert_problem(response, StatusCode::UNAUTHORIZED, "token_missing").await;
//! ```

pub mod certs;
pub mod logs;
pub mod problem;
pub mod redis;
pub mod server;
pub mod tokens;

pub use problem::assert_problem;
pub use server::{Shutdown, TestServer};

/// The value of the sample of metric `name` in Prometheus text `page` whose labels include
/// every one of `labels` (`None` when there is none).
pub fn prometheus_sample(page: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    page.lines()
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .find(|line| {
            labels
                .iter()
                .all(|(k, v)| line.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|line| line.rsplit(' ').next()?.parse().ok())
}
