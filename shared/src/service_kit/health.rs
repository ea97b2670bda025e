//! Health probes, public and outside the failure toggles (an orchestrator must see the truth).
//!
//! - `GET /healthz` — *liveness*: the process answers HTTP. Restart it if this fails.
//! - `GET /readyz` — *readiness*: the database answers too. Send it traffic only while this is 200;
//!   otherwise 503 problem+json `database_unavailable`, so the gateway's health checks take this
//!   instance out of rotation instead of sending users into errors.

use crate::Problem;
use axum::{Json, Router, extract::State, routing::get};
use http::StatusCode;
use serde_json::{Value, json};
use std::{future::Future, time::Duration};

/// How long readiness waits for the database before calling it unavailable.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// What readiness asks of a service's state: one cheap round trip to its database. The backends
/// ping their SQLite pool, the auth-service its store (SQLite or Postgres).
pub trait Readiness: Clone + Send + Sync + 'static {
    /// Resolves to `Ok` when the database answered.
    fn ping_database(&self) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
}

/// `/healthz` and `/readyz`, for any state that can ping its database.
pub fn router<S: Readiness>() -> Router<S> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz::<S>))
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn readyz<S: Readiness>(State(state): State<S>) -> Result<Json<Value>, Problem> {
    match tokio::time::timeout(READY_TIMEOUT, state.ping_database()).await {
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
