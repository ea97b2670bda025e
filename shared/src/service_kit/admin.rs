//! `GET`/`PUT /admin/toggles`: read and change the teaching toggles at run time; `POST
//! /admin/reset`: put back the ones the service started with (what a class resets between
//! exercises, `scripts/class reset`). ADMIN only.
//!
//! These routes sit outside the fault injection on purpose: with `error_rate = 1.0` every
//! business request fails, and the teacher still needs a way to switch it off.

use super::{roles::require_admin, toggles::FaultInjector, toggles::Toggles};
use crate::{AppJson, Authenticated, Problem, Verifier};
use axum::{
    Router,
    extract::{FromRef, State},
    routing::{get, post},
};
use http::StatusCode;
use serde::Deserialize;

/// `PUT /admin/toggles` body. Both fields are required: a PUT replaces the whole setting, and a
/// forgotten field silently reset to zero would surprise a teacher mid-exercise.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TogglesUpdate {
    /// New `latency_ms`.
    pub latency_ms: u64,
    /// New `error_rate`.
    pub error_rate: f64,
}

/// The admin routes, for any state that holds the injector and the verifier.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    FaultInjector: FromRef<S>,
    Verifier: FromRef<S>,
{
    Router::new()
        .route("/admin/toggles", get(show).put(update))
        .route("/admin/reset", post(reset))
}

async fn show(
    State(injector): State<FaultInjector>,
    Authenticated(claims): Authenticated,
) -> Result<AppJson<Toggles>, Problem> {
    require_admin(&claims)?;
    Ok(AppJson(injector.toggles()))
}

async fn update(
    State(injector): State<FaultInjector>,
    Authenticated(claims): Authenticated,
    AppJson(body): AppJson<TogglesUpdate>,
) -> Result<AppJson<Toggles>, Problem> {
    require_admin(&claims)?;
    let toggles = Toggles {
        latency_ms: body.latency_ms,
        error_rate: body.error_rate,
    };
    injector.set(toggles).map_err(|detail| {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_toggles", detail)
    })?;
    tracing::warn!(
        admin = %claims.sub,
        latency_ms = toggles.latency_ms,
        error_rate = toggles.error_rate,
        "teaching toggles changed"
    );
    Ok(AppJson(toggles))
}

async fn reset(
    State(injector): State<FaultInjector>,
    Authenticated(claims): Authenticated,
) -> Result<AppJson<Toggles>, Problem> {
    require_admin(&claims)?;
    let toggles = injector.reset();
    tracing::warn!(
        admin = %claims.sub,
        latency_ms = toggles.latency_ms,
        error_rate = toggles.error_rate,
        "teaching toggles reset"
    );
    Ok(AppJson(toggles))
}
