//! Liveness and readiness.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

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
    let app = billing_service::build(config(false)).await.unwrap();
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
}
