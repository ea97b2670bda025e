//! The access log: one line per request with the route, status, user and reason — and never
//! the token.

// Its own test binary (its own process): a thread-local subscriber shares tracing's global
// callsite cache with every other thread of the process, and other tests' threads, which have
// no subscriber, could make the access-log callsite look uninteresting mid-test.
#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;

use helpers::*;
use shared::{Role, demo};
use test_support::logs::CapturedLogs;

/// The log output, kept for the test to read ([`CapturedLogs`]).
type Captured = CapturedLogs;

/// Captures this thread's log lines as JSON.
fn capture() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_target(true)
        .with_writer(captured.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    (captured, guard)
}

fn access_lines(captured: &Captured) -> Vec<serde_json::Value> {
    let text = captured.text();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["target"] == "gateway::access")
        .collect()
}

// `#[tokio::test]` runs on one thread, so a thread-local subscriber sees the gateway's tasks.
#[tokio::test]
async fn one_line_per_request_with_reason_and_never_the_token() {
    let (captured, _guard) = capture();
    let gw = TestGateway::spawn().await;
    let student = token(Role::Student);
    let ok = gw
        .oneshot(
            gw.get("/api/users/me")
                .header("authorization", bearer(&student))
                .header("x-request-id", "log-test-1"),
        )
        .await;
    assert_eq!(ok.status(), 200);
    let refused = gw
        .oneshot(
            gw.get("/api/users")
                .header("authorization", bearer(&student)),
        )
        .await;
    assert_eq!(refused.status(), 403);

    let lines = access_lines(&captured);
    assert_eq!(lines.len(), 2, "{lines:?}");
    let first = &lines[0];
    assert_eq!(first["method"], "GET");
    assert_eq!(first["path"], "/api/users/me");
    assert_eq!(first["route"], "users");
    assert_eq!(first["upstream"], "users");
    assert_eq!(first["status"], 200);
    assert_eq!(first["user"], demo::student::ID);
    assert_eq!(first["request_id"], "log-test-1");
    assert!(first["latency_ms"].as_f64().is_some());
    let second = &lines[1];
    assert_eq!(second["route"], "users-list");
    assert_eq!(second["status"], 403);
    assert_eq!(second["reason"], "role_required");
    assert_eq!(second["side"], "downstream");

    let everything = captured.text();
    assert!(!everything.contains(&student), "a token reached the log");
    assert!(!everything.to_ascii_lowercase().contains("bearer"));
}

// An aggregate is admitted by the same step as a route, so its refusals name the caller too.
#[tokio::test]
async fn a_refused_dashboard_request_logs_who_was_refused() {
    let (captured, _guard) = capture();
    let echo = Echo::spawn().await;
    let mut config = test_config(echo.addr).await;
    config.rate_limits.push(gateway::config::RateLimitConfig {
        name: "one-dashboard".into(),
        rate: 1,
        period_secs: Some(60),
        per: None,
        burst: Some(1),
        key: vec![gateway::config::KeyPart::User],
        backend: Default::default(),
        on_redis_error: Default::default(),
    });
    let dashboard = config
        .aggregates
        .iter_mut()
        .find(|a| a.path == "/api/dashboard")
        .expect("the demo has a dashboard");
    dashboard.rate_limits = vec!["one-dashboard".into()];
    dashboard.roles = vec!["STUDENT".into()];
    let gw = TestGateway::spawn_with(echo, config).await;

    let admin = token(Role::Admin);
    let student = token(Role::Student);
    let refused = gw
        .oneshot(
            gw.get("/api/dashboard")
                .header("authorization", bearer(&admin)),
        )
        .await;
    assert_problem(refused, 403, "role_required").await;
    for expected in [200, 429] {
        let response = gw
            .oneshot(
                gw.get("/api/dashboard")
                    .header("authorization", bearer(&student)),
            )
            .await;
        assert_eq!(response.status(), expected);
    }

    let lines = access_lines(&captured);
    let summary: Vec<(u64, &str, &str, &str)> = lines
        .iter()
        .map(|l| {
            (
                l["status"].as_u64().unwrap(),
                l["route"].as_str().unwrap(),
                l["user"].as_str().unwrap(),
                l["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (403, "dashboard", demo::admin::ID, "role_required"),
            (200, "dashboard", demo::student::ID, "-"),
            (429, "dashboard", demo::student::ID, "rate_limited"),
        ]
    );
}
