//! OTLP export: with `[tracing] otlp_endpoint` set, a collector receives the request's span —
//! with the request's trace id and the gateway's own span id — at `POST /v1/traces`.
//!
//! Its own test binary: it needs a multi-threaded runtime (the exporter's thread posts to the
//! collector while the test waits for it), which the log-capturing tests beside it must not
//! share.

#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;

use axum::{Router, body::Bytes, http::HeaderMap, routing::post};
use helpers::*;
use shared::{clock::SystemClock, server::Server};
use std::sync::{Arc, Mutex};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// What the fake collector received: content type and body of each `POST /v1/traces`.
type Received = Arc<Mutex<Vec<(String, Bytes)>>>;

/// A collector on port 0 that accepts OTLP/HTTP trace batches and keeps them.
async fn collector() -> (std::net::SocketAddr, Received) {
    let received: Received = Arc::default();
    let keep = Arc::clone(&received);
    let app = Router::new().route(
        "/v1/traces",
        post(move |headers: HeaderMap, body: Bytes| {
            let keep = Arc::clone(&keep);
            async move {
                let content_type = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                keep.lock().unwrap().push((content_type, body));
                // An empty ExportTraceServiceResponse: zero bytes of protobuf.
                ([("content-type", "application/x-protobuf")], Bytes::new())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, received)
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_receives_the_requests_span_with_its_trace_id() {
    let (collector, received) = collector().await;
    let echo = Echo::spawn().await;
    let mut config = test_config(echo.addr).await;
    config.tracing.otlp_endpoint = Some(format!("http://{collector}"));
    let gateway = Arc::new(
        gateway::Gateway::with_clock(&config, SystemClock::shared()).expect("a valid config"),
    );
    let front_door = gateway::FrontDoor::new(Arc::clone(&gateway));
    let server = Server::bind_handler(
        config.server.listen,
        front_door,
        config.server.limits.clone(),
    )
    .await
    .unwrap();
    let addr = server.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run_until(async move {
        let _ = stopped.await;
    }));

    let response = reqwest::Client::new()
        .get(format!("http://{addr}/api/public/hello"))
        .header("traceparent", TRACEPARENT)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    let sent = body["headers"]["traceparent"][0]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(sent.contains(TRACE), "{sent}");

    // The batch leaves now rather than at the exporter's next tick. Flushing blocks until the
    // collector answered, so it runs off the runtime's threads.
    let flushing = Arc::clone(&gateway);
    tokio::task::spawn_blocking(move || flushing.otlp.as_ref().unwrap().flush())
        .await
        .unwrap();
    drop(stop);

    let batches = received.lock().unwrap().clone();
    assert_eq!(batches.len(), 1, "one batch");
    let (content_type, body) = &batches[0];
    assert_eq!(content_type, "application/x-protobuf");
    // The protobuf holds ids as raw bytes: the request's trace id, and the client's span as the
    // parent of the gateway's.
    let contains = |needle: &[u8]| body.windows(needle.len()).any(|w| w == needle);
    assert!(contains(&hex(TRACE)), "the trace id is in the batch");
    assert!(
        contains(&hex("00f067aa0ba902b7")),
        "the client's span is the parent"
    );
    assert!(contains(b"/hello"), "the span names the path");
}

// A mistyped endpoint stops the start with the key's name.
#[tokio::test]
async fn an_endpoint_that_is_not_a_url_is_refused_at_start() {
    let echo = Echo::spawn().await;
    let mut config = test_config(echo.addr).await;
    config.tracing.otlp_endpoint = Some("collector:4318".into());
    let error = gateway::Gateway::with_clock(&config, SystemClock::shared())
        .unwrap_err()
        .to_string();
    assert!(error.contains("tracing.otlp_endpoint"), "{error}");
}
