//! Liveness and readiness.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

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
    let app = user_service::build(config(false)).await.unwrap();
    let pool = app.state().db.clone();
    let server = TestServer::start(app.local_addr(), |shutdown| app.run_until(shutdown));

    pool.close().await;
    let response = server.get("/readyz", None).await;
    assert_problem(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "database_unavailable",
    )
    .await;
    // Liveness does not depend on the database: the process itself is fine.
    let response = server.get("/healthz", None).await;
    assert_eq!(response.status(), StatusCode::OK);
}
