//! Liveness and readiness.

use crate::helpers::*;
use billing_service::{AppState, clock::FixedClock};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;

#[tokio::test]
async fn healthz_and_readyz_answer_without_a_token() {
    let app = spawn_empty().await;
    let body: Value = app.get("/healthz", None).await.json().await.unwrap();
    assert_eq!(body, json!({"status": "ok"}));
    let response = app.get("/readyz", None).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn readyz_is_503_when_the_database_is_gone() {
    let config = config(false);
    let state = AppState::from_config_with_clock(&config, Arc::new(FixedClock(TODAY)))
        .await
        .unwrap();
    let pool = state.db.clone();
    let app = billing_service::build_with_state(&config, state)
        .await
        .unwrap();
    let addr = app.local_addr();
    let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    pool.close().await;
    let response = reqwest::get(format!("http://{addr}/readyz")).await.unwrap();
    assert_problem(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "database_unavailable",
    )
    .await;
}
