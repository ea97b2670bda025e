//! Liveness and readiness.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use user_service::AppState;

#[tokio::test]
async fn healthz_is_ok_without_a_token() {
    let app = spawn_empty().await;
    let response = app.get("/healthz", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().contains_key("x-request-id"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"status": "ok"}));
}

#[tokio::test]
async fn readyz_is_ok_while_the_database_answers() {
    let app = spawn_empty().await;
    let response = app.get("/readyz", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ready");
}

#[tokio::test]
async fn readyz_is_503_when_the_database_is_gone() {
    let config = config(false);
    let state = AppState::from_config(&config).await.unwrap();
    let pool = state.db.clone();
    let app = user_service::build_with_state(&config, state)
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
    // Liveness does not depend on the database: the process itself is fine.
    let response = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}
