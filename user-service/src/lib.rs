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
//! | `GET /healthz`, `/readyz` | public | liveness; readiness (the database answers) |
//!
//! Profiles are created from the verified token the first time a user is seen, and follow their
//! token's role and name afterwards (unless they renamed themself): the auth-service owns
//! registration, and the two services never call each other.
//!
//! # Layout
//!
//! - [`config`]: [`Config`] (file + `USERS__…` environment), [`Config::demo`].
//! - [`state`]: [`AppState`] — pool, verifier, toggles — built by [`AppState::from_config`].
//! - [`caller`]: the [`caller::Caller`] extractor: token verified, profile created or synced.
//! - [`routes`]: the `/users/*` handlers and their authorisation rules.
//! - [`profiles`]: the SQL, behind typed functions. [`seed`]: demo data.
//! - [`error`]: [`error::ApiError`] and the problem+json each variant becomes.
//! - `shared::service_kit`: what both backends share (app wrapper, middleware stack, body limit,
//!   database, health, teaching toggles).
//!
//! A request travels: [`shared::server`] → `service_kit::stack` (request id, trace, panic
//! guard, body limit) → `service_kit::fault_injection` (business routes only) →
//! [`routes`] handler → [`caller::Caller`] ([`shared::Authenticated`], then
//! [`profiles::sync_from_claims`]) → the handler's rule → [`profiles`] → JSON or a problem.

pub mod caller;
pub mod config;
pub mod error;
pub mod profiles;
pub mod routes;
pub mod seed;

pub mod state;

pub use config::Config;
use shared::service_kit;
pub use shared::service_kit::App;
pub use state::AppState;

use axum::Router;

/// Starts the service's pieces from `config`: database (migrated, seeded in demo mode),
/// verifier, toggles, and a bound listener. Serve it with [`App::run_until`].
pub async fn build(config: Config) -> anyhow::Result<App> {
    let state = AppState::from_config(&config).await?;
    build_with_state(&config, state).await
}

/// Like [`build`], with a state the caller prepared (tests swap in a scripted dice or sleeper).
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
