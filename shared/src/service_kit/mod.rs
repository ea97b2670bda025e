//! # service_kit — the parts both stand-in backends share
//!
//! The user-service and the billing-service are different programs with the same *shape*: a
//! SQLite store, health probes, failure toggles for the classroom, the same middleware stack and
//! the same `App` wrapper around [`crate::server::Server`]. Nothing in this module knows about
//! users or invoices. It is behind the `service-kit` cargo feature, so the gateway, which has no
//! database, does not compile sqlx.
//!
//! # Layout
//!
//! - [`app`]: [`App`], a bound server plus `local_addr` / `run_until`.
//! - [`stack`]: the middleware every backend wraps its router in, in one place, from the outermost
//!   layer in: request id → tracing → panic guard → body limit → 404/405 fallbacks.
//! - [`body_limit`]: refuse bodies over the configured size with 413 problem+json.
//! - [`db`]: opening a SQLite pool safely (in-memory databases need exactly one connection).
//! - [`health`]: `GET /healthz` (liveness) and `GET /readyz` (the database answers).
//! - [`toggles`]: the teaching toggles (`latency_ms`, `error_rate`) and their injectable dice and
//!   sleeper; [`fault_injection`] applies them as middleware; [`admin`] serves
//!   `GET`/`PUT /admin/toggles`.
//! - [`roles`]: the one authorisation helper, "ADMIN only", as a 403 problem.
//! - [`settings`]: configuration rules both backends share (`[auth]` resolution, range checks).
//!
//! A business request passes: [`stack`] (request id, trace, limits) → [`fault_injection`]
//! (maybe wait, maybe fail with 503) → the service's handler, which authenticates with
//! [`crate::Authenticated`] and checks roles with [`roles`].

pub mod admin;
pub mod app;
pub mod body_limit;
pub mod db;
pub mod fault_injection;
pub mod health;
pub mod roles;
pub mod settings;
pub mod stack;
pub mod toggles;

pub use app::App;
pub use toggles::{Dice, FaultInjector, Sleeper, Toggles};
