//! `/healthz` (liveness) and `/readyz` (readiness).
//!
//! Liveness says the process answers; an orchestrator restarts it when it does not. Readiness
//! says it is worth sending traffic: every upstream accepts a TCP connection (within 500 ms,
//! checked in parallel). Proper health checking with outlier detection belongs to the
//! `upstream` module and is a later step.

use crate::Gateway;
use axum::{extract::State, response::IntoResponse};
use http::StatusCode;
use shared::Problem;
use std::{sync::Arc, time::Duration};

/// 200 `{"status":"ok"}`.
pub async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({"status": "ok"}))
}

/// 200 when every upstream accepts a connection, 503 problem+json naming those that do not.
pub async fn readyz(State(gateway): State<Arc<Gateway>>) -> axum::response::Response {
    let checks = gateway.upstreams.iter().map(|upstream| async move {
        let target = upstream.targets().first()?;
        let addr = target.authority.as_str();
        let addr = if target.authority.port().is_some() {
            addr.to_owned()
        } else {
            format!("{addr}:80")
        };
        let connected = tokio::time::timeout(
            Duration::from_millis(500),
            tokio::net::TcpStream::connect(addr),
        )
        .await;
        match connected {
            Ok(Ok(_)) => None,
            _ => Some(upstream.name.to_string()),
        }
    });
    let down: Vec<String> = futures::future::join_all(checks)
        .await
        .into_iter()
        .flatten()
        .collect();
    if down.is_empty() {
        axum::Json(serde_json::json!({"status": "ready"})).into_response()
    } else {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "upstream_unavailable",
            format!("not reachable: {}", down.join(", ")),
        )
        .into_response()
    }
}
