//! `/healthz` (liveness) and `/readyz` (readiness).
//!
//! Liveness says the process answers; an orchestrator restarts it when it does not. Readiness
//! says it is worth sending traffic: every upstream has at least one usable target — healthy by
//! its active health check (or, without one, accepting a TCP connection now) and with its
//! circuit not open. The report names every target's state
//! ([`crate::upstream::health::report`]).

use crate::{Gateway, upstream};
use axum::{extract::State, response::IntoResponse};
use http::StatusCode;
use shared::Problem;
use std::sync::Arc;

/// 200 `{"status":"ok"}`.
pub async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({"status": "ok"}))
}

/// 200 `{"status":"ready","upstreams":{…}}` when every upstream has a usable target; 503
/// problem+json naming those that do not.
pub async fn readyz(State(gateway): State<Arc<Gateway>>) -> axum::response::Response {
    let (ready, upstreams) = upstream::health::report(&gateway).await;
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
