//! Liveness and readiness probes.

use crate::AppState;
use axum::{Json, Router, extract::State, routing::get};
use http::StatusCode;
use serde_json::{Value, json};
use shared::Problem;

/// `GET /healthz` and `GET /readyz`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// Liveness: the process answers. Never checks dependencies (a database outage must not make an
/// orchestrator restart every replica).
async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Readiness: the database answers, so requests can be served.
async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, Problem> {
    match state.store.ping().await {
        Ok(()) => Ok(Json(json!({ "status": "ready" }))),
        Err(error) => {
            tracing::warn!(%error, "readiness check: database unavailable");
            Err(Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "database_unavailable",
                "the database does not answer",
            ))
        }
    }
}
