//! # service_kit — the frame every service is built on
//!
//! The auth-service, the user-service and the billing-service are different programs with the
//! same *shape*: a `[server]` section, a database with health probes, one middleware stack, one
//! error type around their own failures, and the same [`App`] wrapper around
//! [`crate::server::Server`]. That frame lives here, so a student who has read one service has
//! read the frame of all three, and only the domain code differs. Nothing in this module knows
//! about users, tokens or invoices.
//!
//! It is behind the `service-kit` cargo feature, so the gateway, which has no database, does not
//! compile sqlx.
//!
//! # Layout
//!
//! - [`settings`]: the `[server]` section ([`ServerConfig`]), [`ServiceConfig::load`] (file and
//!   environment, old spellings refused by [`renamed`]), `[auth]` resolution with the token rules.
//! - [`app`]: [`App`], a bound server plus `local_addr` / `state` / `run_until`.
//! - [`router`] (below): a service's routes + health probes, wrapped in the [`stack`].
//! - [`stack`]: the middleware every service wraps its router in, from the outermost layer in:
//!   request id → tracing → panic guard → body limit → 404/405 fallbacks.
//! - [`body_limit`]: refuse bodies over `[server] max_body_bytes` with 413.
//! - [`error`]: [`ServiceError`], the common failures around a service's own.
//! - [`db`]: opening a SQLite pool safely (in-memory databases need exactly one connection).
//! - [`health`]: `GET /healthz` (liveness) and `GET /readyz` (the database answers).
//! - [`toggles`]: the backends' teaching toggles (`latency_ms`, `error_rate`) and their injectable
//!   dice and sleeper; [`fault_injection`] applies them as middleware; [`admin`] serves
//!   `GET`/`PUT /admin/toggles`.
//! - [`roles`]: the one authorisation helper, "ADMIN only", as a 403 problem.
//! - [`metrics`]: `GET /metrics` (Prometheus text) and the HTTP counts every service keeps;
//!   services add counters of their own ([`ServiceMetrics::counter`]).
//!
//! A request passes: [`crate::server`] → [`stack`] (request id, trace, panic guard, body limit)
//! → [`fault_injection`] (backends' business routes only: maybe wait, maybe fail with 503) → the
//! service's handler, which authenticates with [`crate::Authenticated`], checks roles with
//! [`roles`], and fails with a [`ServiceError`].

pub mod admin;
pub mod app;
pub mod body_limit;
pub mod db;
pub mod error;
pub mod fault_injection;
pub mod health;
pub mod metrics;
pub mod renamed;
pub mod roles;
pub mod settings;
pub mod stack;
pub mod toggles;

pub use app::App;
pub use body_limit::BodyLimit;
pub use error::ServiceError;
pub use health::Readiness;
pub use metrics::{MetricsConfig, ServiceMetrics};
pub use settings::{ServerConfig, ServerDefaults, ServiceConfig};
pub use toggles::{Dice, FaultInjector, Sleeper, Toggles};

use axum::{Router, extract::FromRef};

/// A service's whole HTTP surface: its `routes`, the health probes, `GET /metrics`, the `state`,
/// all wrapped in the [`stack`] with `body_limit` and counted in the state's [`ServiceMetrics`].
/// Each service's `router(state)` calls this, so unit tests can call it with
/// `tower::ServiceExt::oneshot`, no socket needed.
pub fn router<S>(routes: Router<S>, state: S, body_limit: BodyLimit) -> Router
where
    S: Readiness,
    ServiceMetrics: FromRef<S>,
{
    let counted_in = ServiceMetrics::from_ref(&state);
    let routes = routes.merge(health::router()).with_state(state);
    metrics::wrap(stack::wrap(routes, body_limit), counted_in)
}
