//! # user-service — the stand-in backend for user profiles
//!
//! Behind the gateway, `/api/users/*` arrives here as `/users/*`. The gateway has already checked
//! the caller's token, but this service checks it **again** (defence in depth): it reads only the
//! `Authorization` header and ignores the `X-User-Id` / `X-User-Role` headers the gateway adds, so
//! a request that reaches the service directly with a forged `X-User-Id` and no valid token gets
//! 401, and a token whose payload was edited (`"role":"STUDENT"` → `"ADMIN"`) gets 401
//! `bad_signature`, exactly as at the gateway.
//!
//! | method, path | who | what |
//! |---|---|---|
//! | `GET /users/me` | any user | the caller's profile `{"id","email","name","role"}` |
//! | `PUT /users/me` | any user | `{"name"}` → the renamed profile (1..=100 characters, trimmed) |
//! | `GET /users/{id}` | owner or ADMIN | one profile; another's id → 403 `not_owner` |
//! | `GET /users` | ADMIN | every profile; a STUDENT gets 403 `role_required` |
//! | `GET`/`PUT /admin/toggles` | ADMIN | the teaching toggles (latency, error rate) |
//! | `PUT /internal/profiles/{id}` | the auth-service | create or update a profile from an account |
//! | `GET /healthz`, `/readyz` | public | liveness; readiness (the database answers) |
//!
//! The stored profile is the source of truth; a token only says who calls. Profiles come from the
//! auth-service's accounts: seeded from the same constants in demo and classroom mode, and
//! provisioned by the auth-service (`PUT /internal/profiles/{id}`, [`provisioning`]) at
//! registration and at each login. A token never writes a profile: a valid token whose `sub` has
//! no profile gets 404 `profile_not_found`, and ADMIN rules read the stored role, so a forged or
//! stale `"role":"ADMIN"` changes nothing (see `docs/tokens.md`).
//!
//! # Layout
//!
//! - [`config`]: [`Config`] (file + `USERS__…` environment: `[server]`, `[database]`, `[auth]`,
//!   `[toggles]`), [`Config::demo`].
//! - [`state`]: [`AppState`] — pool, verifier, toggles — built by [`AppState::from_config`].
//! - [`caller`]: the [`caller::Caller`] extractor: token verified, stored profile read.
//! - [`provisioning`]: `PUT /internal/profiles/{id}`, the auth-service's way in.
//! - [`routes`]: the `/users/*` handlers and their authorisation rules.
//! - [`profiles`]: the SQL, behind typed functions. [`seed`]: demo data.
//! - [`error`]: [`error::UserError`], the user-service's own failures; [`error::ApiError`] adds
//!   the common ones.
//! - `shared::service_kit`: the frame every service shares — [`App`], [`router`]'s middleware
//!   stack, body limit, `[server]` section, database, health probes, teaching toggles — so only
//!   the modules above are the user-service's own.
//!
//! A request travels: [`shared::server`] → `service_kit::stack` (request id, trace, panic
//! guard, body limit) → `service_kit::fault_injection` (business routes only) →
//! [`routes`] handler → [`caller::Caller`] ([`shared::Authenticated`], then
//! [`profiles::find`]) → the handler's rule → [`profiles`] → JSON or a problem.

pub mod caller;
pub mod config;
pub mod error;
pub mod profiles;
pub mod provisioning;
pub mod routes;
pub mod seed;
pub mod state;

pub use config::Config;
pub use state::AppState;

use axum::Router;
use shared::service_kit::{self, fault_injection};

/// A built user-service: listener bound, profile store ready, state kept.
pub type App = service_kit::App<AppState>;

/// Starts the user-service from `config`: profile store (migrated, demo profiles in demo mode),
/// verifier, toggles, and a bound listener. Serve it with [`App::run_until`].
///
/// A test that prepares its own state (a recording sleeper for the toggles) binds it with
/// `App::bind(&config.server, user_service::router, state)`.
pub async fn build(config: Config) -> anyhow::Result<App> {
    let state = AppState::from_config(&config).await?;
    Ok(App::bind(&config.server, router, state).await?)
}

/// The user-service's HTTP surface: `/users/*` inside the teaching toggles, `/admin/toggles`, and
/// the kit's health probes and middleware. A function of its own so unit tests can `oneshot` it.
pub fn router(state: AppState) -> Router {
    let routes = fault_injection::toggled(routes::router(), state.faults.clone())
        .merge(provisioning::router());
    service_kit::router(routes, state.clone(), state.body_limit)
}
