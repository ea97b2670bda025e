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
//! date comes from the service's one injected clock (`shared::clock`, see [`AppState::today`]).
//!
//! # Layout
//!
//! - [`config`]: [`Config`] (file + `BILLING__…` environment: `[server]`, `[database]`,
//!   `[auth]`, `[toggles]`, `default_currency`, `version`), [`Config::demo`]. Every answer
//!   names the `version` in `X-Billing-Version` (the demo's canary runs as version 2).
//! - [`state`]: [`AppState`] — pool, verifier, toggles, the clock, [`AppState::today`].
//! - [`routes`]: the `/billing/*` handlers and their authorisation rules.
//! - [`validation`]: the rules a new invoice must meet (all broken ones reported at once).
//! - [`model`]: [`model::Invoice`], [`model::Status`], [`model::Summary`] as the API shows them.
//! - [`invoices`]: the SQL, behind typed functions. [`seed`]: demo data.
//! - [`error`]: [`error::BillingError`], the billing-service's own failures; [`error::ApiError`]
//!   adds the common ones.
//! - `shared::service_kit`: the frame every service shares — [`App`], [`router`]'s middleware
//!   stack, body limit, `[server]` section, database, health probes, teaching toggles — so only
//!   the modules above are the billing-service's own.
//!
//! A request travels: `shared::server` → `service_kit::stack` (request id, trace, panic guard,
//! body limit) → `service_kit::fault_injection` (business routes only) → [`routes`] handler →
//! `shared::Authenticated` (token verified) → the handler's rule → [`validation`] /
//! [`invoices`] → JSON or a problem.

pub mod config;
pub mod error;
pub mod invoices;
pub mod model;
pub mod routes;
pub mod seed;
pub mod state;
pub mod validation;

pub use config::Config;
pub use state::AppState;

use axum::{
    Router,
    http::{HeaderName, HeaderValue},
};
use shared::clock::{SharedClock, SystemClock};
use shared::service_kit::{self, fault_injection};

/// A built billing-service: listener bound, invoice store ready, state (and clock) kept.
pub type App = service_kit::App<AppState>;

/// Starts the billing-service from `config` on the system clock: invoice store (migrated, demo
/// invoices in demo mode), verifier, toggles, and a bound listener. Serve it with
/// [`App::run_until`].
pub async fn build(config: Config) -> anyhow::Result<App> {
    build_with_clock(config, SystemClock::shared()).await
}

/// [`build`] with an injected clock (tests pass a [`shared::clock::ManualClock`] to stop or move
/// the calendar). A test that also swaps the toggles' dice or sleeper prepares the state with
/// [`AppState::from_config`] and binds it with `App::bind(&config.server,
/// billing_service::router, state)`.
pub async fn build_with_clock(config: Config, clock: SharedClock) -> anyhow::Result<App> {
    let state = AppState::from_config(&config, clock).await?;
    Ok(App::bind(&config.server, router, state).await?)
}

/// The billing-service's HTTP surface: `/billing/*` inside the teaching toggles,
/// `/admin/toggles`, and the kit's health probes and middleware (unit tests can `oneshot` it).
pub fn router(state: AppState) -> Router {
    let business = fault_injection::toggled(routes::router(), state.faults.clone());
    let version = HeaderValue::from(state.version);
    service_kit::router(business, state.clone(), state.body_limit)
        // Every answer names the release that made it, so a traffic split is visible.
        .layer(axum::middleware::map_response(
            move |mut response: axum::response::Response| {
                let version = version.clone();
                async move {
                    response.headers_mut().insert(X_BILLING_VERSION, version);
                    response
                }
            },
        ))
}

/// The header naming the release (`version`) on every answer.
pub const X_BILLING_VERSION: HeaderName = HeaderName::from_static("x-billing-version");
