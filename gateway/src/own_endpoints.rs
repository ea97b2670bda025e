//! The gateway's own endpoints, answered by the gateway itself and never forwarded:
//!
//! - `GET /healthz` — liveness: the process answers; an orchestrator restarts it when it does
//!   not;
//! - `GET /readyz` — readiness: it is worth sending traffic, because every upstream has at least
//!   one usable target — healthy by its active health check (or, without one, accepting a TCP
//!   connection now) and with its circuit not open. The report names every target's state
//!   ([`crate::upstream::probe::report`]);
//! - `GET /ratelimitz` — what the rate limiter has done ([`crate::ratelimit::status`]).
//!
//! They are served by a small axum [`Router`]; every other request skips it (see
//! [`crate::front_door`]).

use crate::{ratelimit, state::Gateway, upstream};
use axum::{Json, Router, extract::State, response::IntoResponse, routing::get};
use http::StatusCode;
use serde_json::Value;
use shared::{Problem, request_id};
use std::sync::Arc;

/// The paths answered here.
pub const PATHS: [&str; 3] = ["/healthz", "/readyz", "/ratelimitz"];

/// The router of the own endpoints, with the request-id middleware every answer gets.
pub fn router(gateway: Arc<Gateway>) -> Router {
    Router::new()
        .route(PATHS[0], get(healthz))
        .route(PATHS[1], get(readyz))
        .route(PATHS[2], get(ratelimitz))
        .layer(axum::middleware::from_fn(request_id::layer))
        .with_state(gateway)
}

/// 200 `{"status":"ok"}`.
pub async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({"status": "ok"}))
}

/// 200 `{"status":"ready","upstreams":{…}}` when every upstream has a usable target; 503
/// problem+json naming those that do not.
pub async fn readyz(State(gateway): State<Arc<Gateway>>) -> axum::response::Response {
    let (ready, upstreams) = upstream::probe::report(&gateway.upstreams).await;
    if ready {
        return axum::Json(serde_json::json!({"status": "ready", "upstreams": upstreams}))
            .into_response();
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
                .map(|t| {
                    format!(
                        "{} healthy={} circuit={}",
                        t["target"].as_str().unwrap_or("?"),
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

/// The rate limiter's counters.
pub async fn ratelimitz(State(gateway): State<Arc<Gateway>>) -> Json<Value> {
    Json(ratelimit::status::report(&gateway.limiter))
}
