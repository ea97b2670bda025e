use crate::helpers::*;
use reqwest::StatusCode;

#[tokio::test]
async fn malformed_json_is_400_malformed_json() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/auth/login"))
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::BAD_REQUEST, "malformed_json").await;
}

#[tokio::test]
async fn a_missing_field_is_422_and_named() {
    let app = spawn_app().await;
    let response = app
        .post_json(
            "/auth/register",
            &serde_json::json!({"email": "a@b.cd", "name": "A"}),
        )
        .await;
    let body = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    assert!(
        body["detail"].as_str().unwrap().contains("password"),
        "{body}"
    );
}

#[tokio::test]
async fn a_wrong_content_type_is_415() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/auth/login"))
        .header("content-type", "text/plain")
        .body(r#"{"email":"a@b.cd","password":"x"}"#)
        .send()
        .await
        .unwrap();
    assert_problem(
        response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
}

#[tokio::test]
async fn an_unknown_path_is_404_problem_json_with_the_request_id() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/nope"))
        .header("x-request-id", "test-req-1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "test-req-1");
    let body = assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(body["request_id"], "test-req-1");
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap()["status"],
        "ok"
    );
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_wrong_method_is_405_problem_json() {
    let app = spawn_app().await;
    let response = app.get("/auth/login").await;
    assert_problem(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
}
