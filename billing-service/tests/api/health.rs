//! Liveness and readiness.

use crate::helpers::*;
use billing_service::Config;
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

#[tokio::test]
async fn every_answer_names_the_release_that_made_it() {
    let one = spawn_empty().await;
    let two = spawn(
        Config {
            version: 2,
            ..config(false)
        },
        TODAY,
        None,
    )
    .await;
    for (app, version) in [(&one, "1"), (&two, "2")] {
        // A success, a refusal and a probe alike: a traffic split is visible in each.
        for (path, status) in [
            ("/healthz", StatusCode::OK),
            ("/billing/summary", StatusCode::UNAUTHORIZED),
        ] {
            let response = app.get(path, None).await;
            assert_eq!(response.status(), status);
            assert_eq!(response.headers()["x-billing-version"], version, "{path}");
        }
    }
    let zero = billing_service::build(Config {
        version: 0,
        ..config(false)
    })
    .await;
    let Err(error) = zero else {
        panic!("version 0 is refused")
    };
    let message = format!("{error:#}");
    assert!(message.contains("`version` must be 1 or more"), "{message}");
}
