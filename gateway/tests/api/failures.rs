//! Upstream failures (502, 504) and body limits (413), each as problem+json.

use crate::helpers::*;
use std::time::{Duration, Instant};

#[tokio::test]
async fn an_absent_upstream_is_502() {
    let gw = TestGateway::serve().await;
    let body = assert_problem(
        gw.get("/api/down/x").send().await.unwrap(),
        502,
        "upstream_unavailable",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("`down`"));
}

#[tokio::test]
async fn a_slow_upstream_is_504_at_the_configured_time() {
    let gw = TestGateway::serve().await;
    let started = Instant::now();
    let response = gw
        .get("/api/slow/x")
        .header("x-echo-sleep-ms", "3000")
        .send()
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert_problem(response, 504, "upstream_timeout").await;
    assert!(
        elapsed >= Duration::from_millis(SLOW_TIMEOUT_MS),
        "{elapsed:?}"
    );
    assert!(elapsed < Duration::from_millis(2500), "{elapsed:?}");

    // Within its timeout the same upstream answers.
    let response = gw
        .get("/api/slow/x")
        .header("x-echo-sleep-ms", "10")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_body_over_the_limit_by_content_length_is_413_before_forwarding() {
    let gw = TestGateway::serve().await;
    let response = gw
        .http
        .post(gw.url("/api/public/upload"))
        .body(vec![b'x'; MAX_BODY as usize + 1])
        .send()
        .await
        .unwrap();
    assert_problem(response, 413, "body_too_large").await;
    assert!(gw.echo.seen().is_empty());
}

#[tokio::test]
async fn a_streamed_body_is_forwarded_and_cut_past_the_limit() {
    let gw = TestGateway::serve().await;
    let chunks = |n: usize| {
        let stream = futures::stream::iter(
            (0..n).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b'y'; 100]))),
        );
        reqwest::Body::wrap_stream(stream)
    };
    // Under the limit, chunked: streamed through whole.
    let (status, _, body) = parts(
        gw.http
            .post(gw.url("/api/public/upload"))
            .body(chunks(10))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["body_len"], 1000);

    // Over the limit, chunked (no Content-Length to check up front): cut on the stream.
    let response = gw
        .http
        .post(gw.url("/api/public/upload"))
        .body(chunks(20))
        .send()
        .await
        .unwrap();
    assert_problem(response, 413, "body_too_large").await;
}
