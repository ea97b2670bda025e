//! `GET /api/dashboard` with the real backends: merged, partial when billing fails, failed when
//! the profile fails, and as slow as its slowest call.

use crate::helpers::*;
use api_gateway_pattern::{DemoOptions, Ports, Service};
use serde_json::Value;
use std::time::{Duration, Instant};

/// The demo with the dashboard's billing calls limited to `ms`.
fn billing_calls_within(ms: u64) -> DemoOptions {
    DemoOptions {
        configure_gateway: Some(Box::new(move |config| {
            for call in &mut config.aggregates[0].calls {
                if call.upstream == "billing" {
                    call.timeout_ms = Some(ms);
                }
            }
        })),
        ..DemoOptions::new(Ports::ANY)
    }
}

async fn dashboard(t: &TestDemo, token: &str) -> (u16, reqwest::header::HeaderMap, Value) {
    let response = t.get("/api/dashboard", token).await;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.json().await.unwrap())
}

#[tokio::test]
async fn the_dashboard_merges_profile_invoices_and_summary() {
    let t = TestDemo::start().await;
    let token = t.student_token().await;
    let (status, headers, body) = dashboard(&t, &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["x-gateway-partial"], "false");
    assert_eq!(body["profile"]["id"], "1905551042", "{body}");
    assert!(!body["invoices"].is_null(), "{body}");
    assert!(!body["summary"].is_null(), "{body}");
    let meta = &body["_meta"];
    assert_eq!(meta["partial"], false);
    for key in ["profile", "invoices", "summary"] {
        assert_eq!(meta["calls"][key]["status"], 200, "{meta}");
    }
    // The same data as the individual routes.
    let direct: Value = t
        .get("/api/billing/summary", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["summary"], direct);
}

#[tokio::test]
async fn billing_stopped_gives_the_profile_with_a_partial_flag_and_billings_reason() {
    let mut t = TestDemo::start().await;
    let token = t.student_token().await;
    t.demo.stop_service(Service::Billing).await.unwrap();
    let (status, headers, body) = dashboard(&t, &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["x-gateway-partial"], "true");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(body["profile"]["id"], "1905551042");
    assert!(
        body["invoices"].is_null() && body["summary"].is_null(),
        "{body}"
    );
    let meta = &body["_meta"];
    assert_eq!(meta["partial"], true);
    assert_eq!(
        meta["calls"]["invoices"]["reason"], "upstream_unavailable",
        "{meta}"
    );
    assert_eq!(
        meta["calls"]["summary"]["reason"], "upstream_unavailable",
        "{meta}"
    );

    // Billing comes back: the next dashboard is whole again.
    t.demo.restart_service(Service::Billing).await.unwrap();
    let (status, _, body) = dashboard(&t, &token).await;
    assert_eq!(
        (status, &body["_meta"]["partial"]),
        (200, &Value::Bool(false)),
        "{body}"
    );
}

#[tokio::test]
async fn billing_slow_gives_a_partial_answer_at_the_configured_timeout() {
    let t = TestDemo::start_with(billing_calls_within(400)).await;
    let token = t.student_token().await;
    t.toggles(t.demo.addresses.billing, 3_000, 0.0).await;
    let started = Instant::now();
    let (status, _, body) = dashboard(&t, &token).await;
    let elapsed = started.elapsed();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["_meta"]["partial"], true);
    assert_eq!(
        body["_meta"]["calls"]["summary"]["reason"],
        "upstream_timeout"
    );
    assert!(elapsed >= Duration::from_millis(400), "{elapsed:?}");
    assert!(
        elapsed < Duration::from_millis(1_500),
        "not the 3 s of billing: {elapsed:?}"
    );
}

#[tokio::test]
async fn a_failing_profile_fails_the_dashboard_with_its_reason() {
    let mut t = TestDemo::start().await;
    let token = t.student_token().await;
    t.toggles(t.demo.addresses.users, 0, 1.0).await;
    let response = t.get("/api/dashboard", &token).await;
    assert_eq!(response.headers()["x-gateway-failed-call"], "profile");
    let body = assert_problem(response, 502, "upstream_error").await;
    assert!(body["detail"].as_str().unwrap().contains("503"), "{body}");

    t.demo.stop_service(Service::Users).await.unwrap();
    let response = t.get("/api/dashboard", &token).await;
    assert_problem(response, 502, "upstream_unavailable").await;
}

/// `PUT /api/demo/toggles/{service}` through the gateway, as exercise 9 does: `latency_ms` on
/// every call, no failures.
async fn toggle_through_gateway(
    t: &TestDemo,
    admin: &str,
    service: &str,
    latency_ms: u64,
) -> reqwest::Response {
    t.client
        .put(t.gateway(&format!("/api/demo/toggles/{service}")))
        .bearer_auth(admin)
        .json(&serde_json::json!({ "latency_ms": latency_ms, "error_rate": 0.0 }))
        .send()
        .await
        .unwrap()
}

/// Exercise 9's latency switch, as the page uses it: both services slowed to 200 ms through the
/// gateway's ADMIN-only toggle routes. The proof of parallelism is in `_meta` itself — every call
/// started before any call ended — not in a wall-clock reading of the whole request.
#[tokio::test]
async fn the_dashboard_runs_its_three_slow_calls_at_the_same_time() {
    let t = TestDemo::start().await;
    let token = t.student_token().await;
    let admin = t.admin_token().await;
    for service in ["users", "billing"] {
        let response = toggle_through_gateway(&t, &admin, service, 200).await;
        assert_eq!(response.status(), 200, "toggle {service}");
        assert_eq!(response.headers()["x-answered-by"], service);
    }
    let (status, _, body) = dashboard(&t, &token).await;
    assert_eq!(status, 200, "{body}");
    let calls = &body["_meta"]["calls"];
    let span = |key: &str| {
        let started = calls[key]["started_ms"].as_f64().unwrap();
        let ended = calls[key]["latency_ms"].as_f64().unwrap();
        (started, ended)
    };
    let spans: Vec<(f64, f64)> = ["profile", "invoices", "summary"]
        .into_iter()
        .map(span)
        .collect();
    for (started, ended) in &spans {
        assert!(
            ended - started >= 200.0,
            "each call took its 200 ms: {body}"
        );
    }
    let last_start = spans.iter().map(|s| s.0).fold(0.0, f64::max);
    let first_end = spans.iter().map(|s| s.1).fold(f64::MAX, f64::min);
    assert!(
        last_start < first_end,
        "every call started before any ended, so all three overlapped: {body}"
    );
    let total = body["_meta"]["latency_ms"].as_f64().unwrap();
    let sum: f64 = spans.iter().map(|(s, e)| e - s).sum();
    println!("dashboard: _meta.latency_ms {total}, the calls' own times add up to {sum} ms");
    assert!(
        total < sum,
        "the dashboard took less than its calls' sum: {body}"
    );

    // The page's reset: both switches off again, and the dashboard is fast and whole.
    for service in ["users", "billing"] {
        let response = toggle_through_gateway(&t, &admin, service, 0).await;
        assert_eq!(response.status(), 200);
    }
    let (status, headers, body) = dashboard(&t, &token).await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-gateway-partial"], "false");
    let calls = &body["_meta"]["calls"];
    for key in ["profile", "invoices", "summary"] {
        let took =
            calls[key]["latency_ms"].as_f64().unwrap() - calls[key]["started_ms"].as_f64().unwrap();
        assert!(took < 200.0, "{key} is fast again: {body}");
    }
}
