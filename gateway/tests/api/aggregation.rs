//! Aggregates: concurrent calls, the `_meta` report, partial and failed answers, limits.

use crate::helpers::*;
use gateway::config::{AggregateConfig, AuthMode, CallConfig};
use shared::Role;
use std::time::{Duration, Instant};

const BUDGET_MS: u64 = 1_000;

fn call(
    key: &str,
    upstream: &str,
    path: &str,
    required: bool,
    timeout_ms: Option<u64>,
) -> CallConfig {
    CallConfig {
        key: key.into(),
        upstream: upstream.into(),
        path: path.into(),
        required,
        timeout_ms,
    }
}

/// A gateway whose `/api/agg` runs `calls` against the echo backend (`users`), the absent one
/// (`down`), or the slow-timeout one (`slow`).
async fn gateway_with(calls: Vec<CallConfig>) -> TestGateway {
    gateway_limited(calls, |_| {}).await
}

/// Like [`gateway_with`], letting the test adjust the configuration (e.g. attach rate limits).
async fn gateway_limited(
    calls: Vec<CallConfig>,
    adjust: impl FnOnce(&mut gateway::Config),
) -> TestGateway {
    let echo = Echo::spawn().await;
    let mut config = test_config(echo.addr).await;
    config.aggregates = vec![AggregateConfig {
        name: "agg".into(),
        path: "/api/agg".into(),
        auth: AuthMode::Required,
        roles: Vec::new(),
        scopes: Vec::new(),
        timeout_ms: BUDGET_MS,
        max_call_bytes: 4_096,
        calls,
        rate_limits: Vec::new(),
        cache: None,
    }];
    adjust(&mut config);
    TestGateway::spawn_with(echo, config).await
}

async fn get_agg(gw: &TestGateway) -> reqwest::Response {
    get_agg_with(gw, &token(Role::Student)).await
}

async fn get_agg_with(gw: &TestGateway, token: &str) -> reqwest::Response {
    gw.oneshot(
        gw.get("/api/agg")
            .header("authorization", bearer(token))
            .header("x-request-id", "agg-test-1"),
    )
    .await
}

#[tokio::test]
async fn every_call_fills_its_section_with_the_callers_identity_and_request_id() {
    let gw = gateway_with(vec![
        call("profile", "users", "/users/{sub}", true, None),
        call("invoices", "billing", "/billing/invoices", false, Some(500)),
    ])
    .await;
    // One token, sent and then compared: two calls to `token()` a second apart would differ.
    let student = token(Role::Student);
    let (status, headers, body) = parts(get_agg_with(&gw, &student).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["x-gateway-partial"], "false");
    // A signed-in aggregate is `cache = "no-store"` by default (tests/api/security_headers.rs).
    assert_eq!(headers["cache-control"], "no-store");
    let profile = &body["profile"];
    assert_eq!(
        profile["uri"], "/users/1905551042",
        "{{sub}} is the caller's id"
    );
    let sent = &profile["headers"];
    assert_eq!(sent["authorization"][0], bearer(&student).as_str());
    assert_eq!(sent["x-request-id"][0], "agg-test-1");
    assert_eq!(sent["x-user-id"][0], "1905551042");
    assert_eq!(sent["x-user-role"][0], "STUDENT");
    assert_eq!(body["invoices"]["uri"], "/billing/invoices");
    let meta = &body["_meta"];
    assert_eq!(meta["partial"], false);
    assert_eq!(meta["calls"]["profile"]["status"], 200);
    assert_eq!(meta["calls"]["invoices"]["upstream"], "billing");
    assert!(meta["calls"]["invoices"]["latency_ms"].as_f64().unwrap() >= 0.0);
    assert!(meta["calls"]["profile"].get("reason").is_none());
}

#[tokio::test]
async fn each_call_reports_when_it_started_so_a_timeline_shows_the_overlap() {
    // Two calls that each take 150 ms at the backend.
    let gw = gateway_with(vec![
        call("profile", "users", "/users/sleep-150", true, None),
        call("invoices", "billing", "/billing/sleep-150", false, None),
    ])
    .await;
    let (status, _, body) = parts(get_agg(&gw).await).await;
    assert_eq!(status, 200, "{body}");
    let calls = &body["_meta"]["calls"];
    let span = |key: &str| {
        let started = calls[key]["started_ms"].as_f64().expect("started_ms");
        let ended = calls[key]["latency_ms"].as_f64().expect("latency_ms");
        (started, ended)
    };
    let (profile, invoices) = (span("profile"), span("invoices"));
    for (started, ended) in [profile, invoices] {
        assert!(started >= 0.0 && started < ended, "{calls}");
        assert!(ended >= 150.0, "each call waited for its backend: {calls}");
    }
    // Run at once: each started before the other ended (one after the other, the second
    // would start at ~150 ms, after the first ended).
    assert!(profile.0 < invoices.1 && invoices.0 < profile.1, "{calls}");
}

#[tokio::test]
async fn a_failed_optional_call_gives_a_partial_uncacheable_200_with_the_reason() {
    let gw = gateway_with(vec![
        call("profile", "users", "/users/me", true, None),
        call("invoices", "down", "/billing/invoices", false, None),
    ])
    .await;
    let (status, headers, body) = parts(get_agg(&gw).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["x-gateway-partial"], "true");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(body["profile"]["uri"], "/users/me");
    assert!(body["invoices"].is_null());
    let meta = &body["_meta"];
    assert_eq!(meta["partial"], true);
    assert_eq!(meta["calls"]["invoices"]["reason"], "upstream_unavailable");
    assert!(meta["calls"]["invoices"]["status"].is_null());
    assert!(
        meta["calls"]["invoices"]["detail"]
            .as_str()
            .unwrap()
            .contains("`down`"),
        "{meta}"
    );
}

#[tokio::test]
async fn a_failed_required_call_fails_the_aggregate_with_its_status_and_reason() {
    let gw = gateway_with(vec![
        call("profile", "down", "/users/me", true, None),
        call("invoices", "users", "/billing/invoices", false, None),
    ])
    .await;
    let response = get_agg(&gw).await;
    assert_eq!(response.headers()["x-gateway-failed-call"], "profile");
    let body = assert_problem(response, 502, "upstream_unavailable").await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("required call `profile`"),
        "{body}"
    );

    // An upstream 5xx and a 4xx on a required call.
    let gw = gateway_with(vec![call(
        "profile",
        "users",
        "/users/status-503",
        true,
        None,
    )])
    .await;
    assert_problem(get_agg(&gw).await, 502, "upstream_error").await;
    let gw = gateway_with(vec![call(
        "profile",
        "users",
        "/users/status-404",
        true,
        None,
    )])
    .await;
    assert_problem(get_agg(&gw).await, 404, "upstream_rejected").await;
}

#[tokio::test]
async fn a_slow_required_call_is_504_at_its_timeout_and_the_others_are_not_awaited() {
    let gw = gateway_with(vec![
        call("profile", "users", "/users/sleep-3000", true, Some(300)),
        call("invoices", "users", "/billing/sleep-2000", false, None),
    ])
    .await;
    let started = Instant::now();
    let response = get_agg(&gw).await;
    let elapsed = started.elapsed();
    assert_problem(response, 504, "upstream_timeout").await;
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(
        elapsed < Duration::from_millis(900),
        "fail fast: {elapsed:?}"
    );
}

#[tokio::test]
async fn a_slow_optional_call_is_partial_at_its_timeout() {
    let gw = gateway_with(vec![
        call("profile", "users", "/users/me", true, None),
        call("invoices", "users", "/billing/sleep-3000", false, Some(250)),
    ])
    .await;
    let started = Instant::now();
    let (status, _, body) = parts(get_agg(&gw).await).await;
    let elapsed = started.elapsed();
    assert_eq!(status, 200);
    assert_eq!(body["_meta"]["partial"], true);
    assert_eq!(
        body["_meta"]["calls"]["invoices"]["reason"],
        "upstream_timeout"
    );
    assert!(elapsed >= Duration::from_millis(250), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(800), "{elapsed:?}");
}

#[tokio::test]
async fn non_json_and_oversized_answers_fail_their_call_explicitly() {
    let gw = gateway_with(vec![
        call("profile", "users", "/users/me", true, None),
        call("text", "users", "/x/text", false, None),
        call("big", "users", "/x/big-10000", false, None),
    ])
    .await;
    let (status, _, body) = parts(get_agg(&gw).await).await;
    assert_eq!(status, 200, "{body}");
    let calls = &body["_meta"]["calls"];
    assert_eq!(calls["text"]["reason"], "not_json");
    assert_eq!(calls["text"]["status"], 200);
    assert_eq!(calls["big"]["reason"], "response_too_large");
    assert!(
        calls["big"]["detail"]
            .as_str()
            .unwrap()
            .contains("4096 bytes")
    );
}

#[tokio::test]
async fn the_aggregate_costs_its_slowest_call_not_the_sum() {
    let gw = gateway_with(vec![
        call("a", "users", "/a/sleep-150", true, None),
        call("b", "users", "/b/sleep-150", false, None),
        call("c", "users", "/c/sleep-150", false, None),
    ])
    .await;
    let started = Instant::now();
    let (status, _, body) = parts(get_agg(&gw).await).await;
    let elapsed = started.elapsed();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["_meta"]["partial"], false);
    assert!(elapsed >= Duration::from_millis(150), "{elapsed:?}");
    assert!(
        elapsed < Duration::from_millis(400),
        "three 150 ms calls, sum 450: {elapsed:?}"
    );
    println!("aggregate of three 150 ms calls took {elapsed:?}");
}

#[tokio::test]
async fn the_aggregate_needs_a_token_and_answers_get_only() {
    let gw = gateway_with(vec![call("profile", "users", "/users/me", true, None)]).await;
    assert_problem(gw.oneshot(gw.get("/api/agg")).await, 401, "token_missing").await;
    let response = gw
        .oneshot(
            gw.http
                .post(gw.url("/api/agg"))
                .header("authorization", bearer(&token(Role::Student))),
        )
        .await;
    assert_eq!(response.headers()["allow"], "GET, HEAD");
    assert_problem(response, 405, "method_not_allowed").await;
    assert!(gw.echo.seen().is_empty(), "no call was made");
}

#[tokio::test]
async fn an_aggregate_is_rate_limited_once_per_request_with_the_ratelimit_headers() {
    let gw = gateway_limited(
        vec![
            call("profile", "users", "/users/me", true, None),
            call("invoices", "billing", "/billing/invoices", false, None),
        ],
        |config| {
            config.rate_limits.push(crate::ratelimit::policy(
                "agg-user",
                1,
                60,
                2,
                &[gateway::config::KeyPart::User],
            ));
            config.aggregates[0].rate_limits = vec!["agg-user".into()];
        },
    )
    .await;
    // Two calls per aggregate, but the allowance is counted per client request: the burst of 2
    // admits two dashboards, not one.
    for remaining in [1, 0] {
        let (status, headers, _) = parts(get_agg(&gw).await).await;
        assert_eq!(status, 200);
        assert_eq!(headers["ratelimit-policy"], "\"agg-user\";q=1;w=60");
        let state = headers["ratelimit"].to_str().unwrap().to_owned();
        assert!(
            state.starts_with(&format!("\"agg-user\";r={remaining};")),
            "{state}"
        );
    }
    let response = get_agg(&gw).await;
    assert!(response.headers().contains_key("retry-after"));
    assert_problem(response, 429, "rate_limited").await;
}

/// A backend's 401 or 403 on a required call is passed on with the challenge every other 401
/// and 403 of the gateway carries (RFC 6750 §3).
#[tokio::test]
async fn a_rejected_required_call_keeps_the_bearer_challenge_of_its_status() {
    let gw = gateway_with(vec![call(
        "profile",
        "users",
        "/users/status-403",
        true,
        None,
    )])
    .await;
    let response = get_agg(&gw).await;
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.starts_with("Bearer error=\"insufficient_scope\", error_description=\""),
        "{challenge}"
    );
    assert_problem(response, 403, "upstream_rejected").await;

    let gw = gateway_with(vec![call(
        "profile",
        "users",
        "/users/status-401",
        true,
        None,
    )])
    .await;
    let response = get_agg(&gw).await;
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\", error_description=\""),
        "{challenge}"
    );
    assert_problem(response, 401, "upstream_rejected").await;

    // Other statuses carry none.
    let gw = gateway_with(vec![call(
        "profile",
        "users",
        "/users/status-404",
        true,
        None,
    )])
    .await;
    let response = get_agg(&gw).await;
    assert!(response.headers().get("www-authenticate").is_none());
}
