//! # billing-service — the stand-in backend for invoices
//!
//! Behind the gateway, `/api/billing/*` arrives here as `/billing/*`. Like every backend, it
//! verifies the bearer token itself (defence in depth) and ignores the `X-User-*` headers the
//! gateway forwards: reached directly with a forged `X-User-Id` and no valid token, it answers
//! 401; with a token whose payload was edited, 401 `bad_signature`.
//!
//! | method, path | who | what |
//! |---|---|---|
//! | `GET /billing/invoices` | any user | the caller's invoices, newest first |
//! | `GET /billing/invoices/{id}` | owner or ADMIN | one invoice; anyone else's → 404 |
//! | `POST /billing/invoices` | ADMIN | issue an invoice → 201 + `Location`; bad values → 422 |
//! | `GET /billing/summary[?currency=]` | any user | the caller's totals in one currency |
//! | `GET`/`PUT /admin/toggles` | ADMIN | the teaching toggles (latency, error rate) |
//! | `GET /healthz`, `/readyz` | public | liveness; readiness (the database answers) |
//!
//! Money is integer cents. An invoice's status (`paid`, `open`, `overdue`) is derived when it is
//! read — "overdue" means unpaid and past its due date, which depends on today's date, so the
//! date comes from an injected [`clock::Clock`].
//!
//! # Layout
//!
//! - [`config`]: [`Config`] (file + `BILLING__…` environment), [`Config::demo`].
//! - [`state`]: [`AppState`] — pool, verifier, toggles, clock.
//! - [`routes`]: the `/billing/*` handlers and their authorisation rules.
//! - [`validation`]: the rules a new invoice must meet (all broken ones reported at once).
//! - [`model`]: [`model::Invoice`], [`model::Status`], [`model::Summary`] as the API shows them.
//! - [`invoices`]: the SQL, behind typed functions. [`seed`]: demo data. [`clock`]: today's date.
//! - [`error`]: [`error::ApiError`] and the problem+json each variant becomes.
//!
//! The app wrapper, middleware stack, database set-up, health probes and teaching toggles come
//! from `shared::service_kit`, which both backends share.
//!
//! A request travels: `shared::server` → `service_kit::stack` (request id, trace, panic guard,
//! body limit) → `service_kit::fault_injection` (business routes only) → [`routes`] handler →
//! `shared::Authenticated` (token verified) → the handler's rule → [`validation`] /
//! [`invoices`] → JSON or a problem.

pub mod clock;
pub mod config;
pub mod error;
pub mod invoices;
pub mod model;
pub mod routes;
pub mod seed;
pub mod state;
pub mod validation;

pub use config::Config;
pub use shared::service_kit::App;
pub use state::AppState;

use axum::Router;
use shared::service_kit;

/// Starts the service's pieces from `config`: database (migrated, seeded in demo mode),
/// verifier, toggles, and a bound listener. Serve it with [`App::run_until`].
pub async fn build(config: Config) -> anyhow::Result<App> {
    let state = AppState::from_config(&config).await?;
    build_with_state(&config, state).await
}

/// Like [`build`], with a state the caller prepared (tests swap in a clock, dice or sleeper).
pub async fn build_with_state(config: &Config, state: AppState) -> anyhow::Result<App> {
    let app = App::bind(config.listen, router(state), config.server.clone()).await?;
    Ok(app)
}

/// The whole HTTP surface, with its middleware. Separate from [`build`] so unit tests can call
/// it with `tower::ServiceExt::oneshot`, no socket needed.
pub fn router(state: AppState) -> Router {
    let business = service_kit::fault_injection::apply(routes::router(), state.faults.clone());
    let routes = Router::new()
        .merge(business)
        .merge(service_kit::health::router())
        .merge(service_kit::admin::router())
        .with_state(state.clone());
    service_kit::stack::wrap(routes, state.body_limit_bytes)
}
