//! Body limit and unknown routes: still problem+json.

use crate::helpers::*;
use bytes::Bytes;
use http_body::Frame;
use http_body_util::StreamBody;
use reqwest::StatusCode;
use std::convert::Infallible;

#[tokio::test]
async fn a_body_over_64_kib_is_413() {
    let app = spawn_demo().await;
    let big = format!("{{\"name\":\"{}\"}}", "a".repeat(70 * 1024));
    let response = app
        .client
        .put(app.url("/users/me"))
        .bearer_auth(token(&STUDENT))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large").await;
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_413_too() {
    let app = spawn_demo().await;
    // A streamed body has no Content-Length: the limit is enforced while reading it.
    let chunks = (0..70).map(|i| {
        let data = if i == 0 {
            Bytes::from_static(b"{\"name\":\"")
        } else {
            Bytes::from(vec![b'a'; 1024])
        };
        Ok::<_, Infallible>(Frame::data(data))
    });
    let body = reqwest::Body::wrap(StreamBody::new(futures::stream::iter(chunks)));
    let response = app
        .client
        .put(app.url("/users/me"))
        .bearer_auth(token(&STUDENT))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large").await;
}

#[tokio::test]
async fn an_unknown_path_is_404_problem() {
    let app = spawn_demo().await;
    let response = app.get("/nothing-here", None).await;
    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn a_wrong_method_is_405_problem() {
    let app = spawn_demo().await;
    let response = app
        .client
        .delete(app.url("/users/me"))
        .send()
        .await
        .unwrap();
    assert_problem(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
}

#[tokio::test]
async fn the_request_id_sent_by_the_gateway_is_kept() {
    let app = spawn_demo().await;
    let response = app
        .client
        .get(app.url("/users/me"))
        .header("X-Request-Id", "gw-req-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "gw-req-42");
    let body = assert_problem(response, StatusCode::UNAUTHORIZED, "token_missing").await;
    assert_eq!(body["request_id"], "gw-req-42");
}
