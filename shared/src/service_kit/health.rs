//! Health probes, public and outside the failure toggles (an orchestrator must see the truth).
//!
//! - `GET /healthz` — *liveness*: the process answers HTTP. Restart it if this fails.
//! - `GET /readyz` — *readiness*: the database answers too. Send it traffic only while this is 200;
//!   otherwise 503 problem+json `database_unavailable`, so the gateway's health checks take this
//!   instance out of rotation instead of sending users into errors.

use super::db;
use crate::Problem;
use axum::{Json, Router, extract::FromRef, extract::State, routing::get};
use http::StatusCode;
use serde_json::{Value, json};
use sqlx::SqlitePool;
use std::time::Duration;

/// How long readiness waits for the database before calling it unavailable.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// `/healthz` and `/readyz`, for any state that holds the pool.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    SqlitePool: FromRef<S>,
{
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz::<S>))
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn readyz<S>(State(state): State<S>) -> Result<Json<Value>, Problem>
where
    SqlitePool: FromRef<S>,
{
    let pool = SqlitePool::from_ref(&state);
    match tokio::time::timeout(READY_TIMEOUT, db::ping(&pool)).await {
        Ok(Ok(())) => Ok(Json(
            json!({ "status": "ready", "checks": { "database": "ok" } }),
        )),
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness: the database did not answer");
            Err(unavailable())
        }
        Err(_) => {
            tracing::warn!(?READY_TIMEOUT, "readiness: the database timed out");
            Err(unavailable())
        }
    }
}

fn unavailable() -> Problem {
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "database_unavailable",
        "the service's database does not answer; try again shortly",
    )
}
