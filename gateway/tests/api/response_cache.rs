//! `[routes.response_cache]` through a served gateway and a counting backend: hits and misses,
//! `Age`, per-user keys (a collision attempt across users), expiry on the gateway's clock,
//! errors never kept, admission before the cache, bounded entries and coalesced misses.

use crate::{
    helpers::{Echo, TestGateway, assert_problem, bearer, parts, route, test_config, token},
    ratelimit::policy,
};
use gateway::config::{AuthMode, KeyPart, ResponseCacheConfig, RouteConfig};
use serde_json::json;
use shared::{Role, clock::ManualClock, demo};
use std::time::Duration;

fn cache(ttl_ms: u64) -> ResponseCacheConfig {
    ResponseCacheConfig {
        ttl_ms,
        shared: false,
        max_entries: 100,
        max_bytes: 64 * 1024,
        max_entry_bytes: 1024,
    }
}

/// `/api/cached` (required token, cached 10 s, at most 3 requests per user per minute:
/// hits count too) on a clock the test moves.
async fn gateway(clock: &ManualClock) -> TestGateway {
    let echo = Echo::spawn().await;
    let mut config = test_config(echo.addr).await;
    config
        .rate_limits
        .push(policy("cached-3", 3, 60, 3, &[KeyPart::User]));
    config.routes.push(RouteConfig {
        response_cache: Some(cache(10_000)),
        ..route("cached", "/api/cached", "users", AuthMode::Required)
    });
    config.routes.push(RouteConfig {
        response_cache: Some(cache(10_000)),
        rate_limits: vec!["cached-3".into()],
        ..route(
            "cached-limited",
            "/api/cached-limited",
            "users",
            AuthMode::Required,
        )
    });
    TestGateway::serve_with_clock(echo, config, clock.shared()).await
}

async fn get(
    gw: &TestGateway,
    path: &str,
    auth: &str,
) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
    parts(
        gw.get(path)
            .header("authorization", auth)
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn a_second_request_is_a_hit_with_age_until_the_ttl_passes() {
    let clock = ManualClock::new();
    let gw = gateway(&clock).await;
    let student = bearer(&token(Role::Student));
    let (status, h, first) = get(&gw, "/api/cached/a?q=1", &student).await;
    assert_eq!(
        (status, &h["x-gateway-cache"]),
        (200, &"miss".parse().unwrap())
    );
    assert!(h.get("age").is_none());
    clock.advance(Duration::from_secs(3));
    let (status, h, again) = get(&gw, "/api/cached/a?q=1", &student).await;
    assert_eq!(status, 200);
    assert_eq!(h["x-gateway-cache"], "hit");
    assert_eq!(h["age"], "3");
    assert_eq!(again, first, "the same answer");
    // The answer is still personal to the client: the route's default is no-store.
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(gw.echo.seen().len(), 1);
    // Another query is another key.
    get(&gw, "/api/cached/a?q=2", &student).await;
    assert_eq!(gw.echo.seen().len(), 2);
    // Past the TTL, the upstream is asked again.
    clock.advance(Duration::from_secs(8));
    let (_, h, _) = get(&gw, "/api/cached/a?q=1", &student).await;
    assert_eq!(h["x-gateway-cache"], "miss");
    assert_eq!(gw.echo.seen().len(), 3);
}

#[tokio::test]
async fn one_users_answer_is_never_another_users_hit() {
    let clock = ManualClock::new();
    let gw = gateway(&clock).await;
    let student = bearer(&token(Role::Student));
    let admin = bearer(&token(Role::Admin));
    let (_, _, body) = get(&gw, "/api/cached/me", &student).await;
    assert_eq!(body["headers"]["x-user-id"], json!([demo::student::ID]));

    let (_, h, body) = get(&gw, "/api/cached/me", &admin).await;
    assert_eq!(h["x-gateway-cache"], "miss");
    assert_eq!(body["headers"]["x-user-id"], json!([demo::admin::ID]));

    // A collision attempt: the admin's entry asked for with the student's token and the
    // admin's id in every header a client controls. The key is the verified caller's.
    let response = gw
        .get("/api/cached/me")
        .header("authorization", &student)
        .header("x-user-id", demo::admin::ID)
        .header("x-user-role", "ADMIN")
        .header("cookie", format!("sub={}", demo::admin::ID))
        .send()
        .await
        .unwrap();
    let (_, h, body) = parts(response).await;
    assert_eq!(h["x-gateway-cache"], "hit");
    assert_eq!(body["headers"]["x-user-id"], json!([demo::student::ID]));
    assert_eq!(gw.echo.seen().len(), 2);
}

#[tokio::test]
async fn errors_are_never_kept_and_no_cache_asks_the_upstream() {
    let clock = ManualClock::new();
    let gw = gateway(&clock).await;
    let student = bearer(&token(Role::Student));
    for _ in 0..2 {
        let (status, h, _) = get(&gw, "/api/cached/status-503", &student).await;
        assert_eq!(
            (status, &h["x-gateway-cache"]),
            (503, &"miss".parse().unwrap())
        );
    }
    assert_eq!(gw.echo.seen().len(), 2);
    get(&gw, "/api/cached/b", &student).await;
    let response = gw
        .get("/api/cached/b")
        .header("authorization", &student)
        .header("cache-control", "no-cache")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-gateway-cache"], "miss");
    assert_eq!(gw.echo.seen().len(), 4);
    let response = gw
        .get("/api/cached/b")
        .header("authorization", &student)
        .header("cache-control", "no-store")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-gateway-cache"], "bypass");
    assert_eq!(gw.echo.seen().len(), 5);
}

#[tokio::test]
async fn admission_runs_before_the_cache_on_every_request() {
    let clock = ManualClock::new();
    let gw = gateway(&clock).await;
    let student = bearer(&token(Role::Student));
    get(&gw, "/api/cached-limited/x", &student).await;
    // No token, a bad token: refused, though the answer is cached.
    let response = gw.get("/api/cached-limited/x").send().await.unwrap();
    assert_problem(response, 401, "token_missing").await;
    let (status, _, _) = get(&gw, "/api/cached-limited/x", "Bearer not.a.token").await;
    assert_eq!(status, 401);
    // Hits spend the rate limit like any request: the 4th in the minute is refused.
    for _ in 0..2 {
        let (status, h, _) = get(&gw, "/api/cached-limited/x", &student).await;
        assert_eq!(
            (status, &h["x-gateway-cache"]),
            (200, &"hit".parse().unwrap())
        );
    }
    let response = gw
        .get("/api/cached-limited/x")
        .header("authorization", &student)
        .send()
        .await
        .unwrap();
    assert_problem(response, 429, "rate_limited").await;
    assert_eq!(gw.echo.seen().len(), 1);
}

#[tokio::test]
async fn an_answer_larger_than_an_entry_streams_through_whole_and_is_not_kept() {
    let clock = ManualClock::new();
    let gw = gateway(&clock).await;
    let student = bearer(&token(Role::Student));
    for _ in 0..2 {
        let (status, h, body) = get(&gw, "/api/cached/big-4000", &student).await;
        assert_eq!(
            (status, &h["x-gateway-cache"]),
            (200, &"miss".parse().unwrap())
        );
        assert_eq!(body["padding"].as_str().unwrap().len(), 4000);
    }
    assert_eq!(gw.echo.seen().len(), 2);
}

#[tokio::test]
async fn a_burst_of_misses_for_one_key_makes_one_upstream_call() {
    let clock = ManualClock::new();
    let gw = gateway(&clock).await;
    let student = bearer(&token(Role::Student));
    let burst = (0..20).map(|_| {
        gw.get("/api/cached/sleep-300")
            .header("authorization", &student)
            .send()
    });
    let answers = futures::future::join_all(burst).await;
    let mut bodies = Vec::new();
    for answer in answers {
        let (status, _, body) = parts(answer.unwrap()).await;
        assert_eq!(status, 200);
        bodies.push(body);
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(gw.echo.seen().len(), 1, "{:?}", gw.echo.seen());
}
