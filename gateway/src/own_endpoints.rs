//! The gateway's own endpoints on the public port, answered by the gateway itself and never
//! forwarded:
//!
//! - `GET /healthz` — liveness: the process answers; an orchestrator restarts it when it does
//!   not;
//! - `GET /readyz` — readiness: it is worth sending traffic, because every upstream has at least
//!   one usable target — healthy by its active health check (or, without one, accepting a TCP
//!   connection now) and with its circuit not open. A refusal names the upstreams and the state
//!   of their targets, never their addresses: those are for the admin listener's `/readyz`
//!   ([`crate::admin`]);
//! - in demo mode (or with the console on), `GET /gateway/decisions/{id}` — the caller's own
//!   decision record: the one made for a request that carried the same `Authorization` header
//!   ([`crate::decision`]). The console uses it to show a student *why*; everyone else asks the
//!   admin listener;
//! - with the console on, `/console` and the paths under it ([`crate::console`]);
//! - in demo mode, `POST /gateway/reset` (an ADMIN's bearer token): every local rate-limit
//!   allowance full again, so a class can go on after an exercise that used them up
//!   (`scripts/class reset`, which also resets each service through its demo route).
//!
//! A path or method under these that does not exist is answered with problem+json, like every
//! other refusal.
//!
//! They are served by a small axum [`Router`]; every other request skips it (see
//! [`crate::front_door`]).

use crate::{
    admin, auth, config::AuthMode, console, context::DECISIONS_PATH, decision::DecisionId,
    error::GatewayError, live::Live, routing::RoleSet, state::Gateway, upstream,
};
use axum::{
    Json, Router,
    extract::{Path, State},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use http::{HeaderMap, StatusCode, header};
use shared::{Problem, Role, request_id};
use std::sync::Arc;

/// The paths answered here (besides the decision records and the console).
pub const PATHS: [&str; 2] = ["/healthz", "/readyz"];
/// The demo's reset of the gateway's own state (demo mode only).
pub const RESET_PATH: &str = "/gateway/reset";

/// The router of the own endpoints, with the request-id middleware every answer gets. The
/// decision and console paths are only reached when they are on ([`answers`] reads the
/// configuration in use).
pub fn router(live: Arc<Live>) -> Router {
    Router::new()
        .route(PATHS[0], get(healthz))
        .route(PATHS[1], get(readyz))
        .route(&format!("{DECISIONS_PATH}{{id}}"), get(own_decision))
        .route(RESET_PATH, post(reset))
        .merge(console::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(request_id::layer))
        .with_state(live)
}

/// True for the paths of [`router`] on `gateway`.
pub fn answers(gateway: &Gateway, path: &str) -> bool {
    PATHS.contains(&path)
        || (gateway.explains_to_callers() && path.starts_with(DECISIONS_PATH))
        || (gateway.console && console::serves(path))
        || (gateway.demo && path == RESET_PATH)
}

/// 404 `no_route` for a path under the own endpoints that is none of them.
async fn not_found() -> Response {
    Problem::new(
        StatusCode::NOT_FOUND,
        "no_route",
        "the gateway has no endpoint at this path",
    )
    .into_response()
}

/// 405 `method_not_allowed`: the own endpoints are read with GET.
async fn method_not_allowed() -> Response {
    let mut response = Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint of the gateway answers GET only",
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::ALLOW, http::HeaderValue::from_static("GET, HEAD"));
    response
}

/// 200 `{"status":"ok"}`.
pub async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({"status": "ok"}))
}

/// 200 `{"status":"ready"}` when every upstream has a usable target; 503 problem+json naming
/// those that do not, with their targets' state by number (`target 1: healthy=false
/// circuit=open`).
pub async fn readyz(State(live): State<Arc<Live>>) -> Response {
    let gateway = live.current();
    let (ready, upstreams) = upstream::probe::report(&gateway.upstreams).await;
    if ready {
        return Json(serde_json::json!({"status": "ready"})).into_response();
    }
    let down: Vec<String> = upstreams
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, u)| u["ready"] == false)
        .map(|(name, u)| {
            let targets: Vec<String> = u["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
                .map(|(i, t)| {
                    format!(
                        "target {}: healthy={} circuit={}",
                        i + 1,
                        t["healthy"],
                        t["circuit"].as_str().unwrap_or("?")
                    )
                })
                .collect();
            format!("{name} ({})", targets.join(", "))
        })
        .collect();
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "upstream_unavailable",
        format!("no usable target: {}", down.join("; ")),
    )
    .into_response()
}

/// The caller's own decision record (demo mode, or the console on): 404 unless it was made for
/// a request with the same `Authorization` header.
async fn own_decision(
    State(live): State<Arc<Live>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let gateway = live.current();
    if !gateway.explains_to_callers() {
        return admin::not_kept();
    }
    let owner = headers
        .get(header::AUTHORIZATION)
        .map(|c| gateway.decisions.owner_of(c.as_bytes()));
    let record = DecisionId::parse(&id).and_then(|id| {
        // A record made without credentials has no owner: nobody reads it here.
        owner.and_then(|owner| gateway.decisions.get(id, Some(owner)))
    });
    match record {
        Some(record) => admin::pretty(&record),
        None => admin::not_kept(),
    }
}

/// `POST /gateway/reset` (demo mode): an ADMIN refills every local rate-limit allowance. The
/// token is checked as on any `required` route with the ADMIN role: 401 with the token's reason,
/// 403 `role_required` for anyone else.
async fn reset(State(live): State<Arc<Live>>, headers: HeaderMap) -> Response {
    let gateway = live.current();
    if !gateway.demo {
        return not_found().await;
    }
    let claims = match auth::authenticate(AuthMode::Required, &headers, gateway.checker()).await {
        Ok(Some(verified)) => verified.claims,
        Ok(None) => return GatewayError::Token(shared::TokenError::Missing).into_response(),
        Err(e) => return GatewayError::Token(e).into_response(),
    };
    if claims.role != Role::Admin {
        return GatewayError::RoleRequired(RoleSet::parse(&["ADMIN".to_owned()])).into_response();
    }
    let keys = gateway.limiter.reset_local();
    tracing::warn!(admin = %claims.sub, keys, "rate-limit allowances reset");
    Json(serde_json::json!({ "rate_limit_keys": keys })).into_response()
}
