//! Cluster-wide limits in a real Redis: each test starts its own `redis-server` (from `PATH`)
//! on a free port in a temporary folder and kills it at the end ([`RedisServer`], shared with
//! the fault runs in `tests/faults/`). Without `redis-server` the tests say `skipping:
//! redis-server not installed` — except in CI (`CI=true`), where they fail.

use crate::{
    helpers::{Echo, TestGateway, assert_problem, bearer, test_config, token},
    ratelimit::{limited_route, policy},
};
use gateway::config::{
    AuthMode, Backend, KeyPart, OnRedisError, QuotaConfig, QuotaPer, RedisConfig,
};
use serde_json::Value;
use shared::Role;
use test_support::redis::RedisServer;

/// Two gateways with the same configuration: `backend` for a policy of 10 per minute (burst
/// 10) shared by everyone on `/api/shared`.
async fn two_gateways(backend: Backend, redis: Option<&RedisServer>) -> (TestGateway, TestGateway) {
    let mut gateways = Vec::new();
    for _ in 0..2 {
        let echo = Echo::spawn().await;
        let mut config = test_config(echo.addr).await;
        config.redis = redis.map(|r| RedisConfig::new(&r.url()));
        config.rate_limits.push(gateway::config::RateLimitConfig {
            backend,
            ..policy("shared", 10, 60, 10, &[KeyPart::Route])
        });
        config.routes.push(limited_route(
            "shared",
            "/api/shared",
            AuthMode::Public,
            &["shared"],
        ));
        gateways.push(TestGateway::serve_with(echo, config).await);
    }
    let b = gateways.pop().unwrap();
    let a = gateways.pop().unwrap();
    (a, b)
}

/// Sends `n` requests alternating between the two gateways, all at once; returns how many
/// were accepted.
async fn accepted(a: &TestGateway, b: &TestGateway, n: usize) -> usize {
    let requests = (0..n).map(|i| {
        let gw = if i % 2 == 0 { a } else { b };
        let request = gw.get("/api/shared/x");
        async move { request.send().await.unwrap().status().as_u16() }
    });
    let statuses = futures::future::join_all(requests).await;
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 429),
        "{statuses:?}"
    );
    statuses.iter().filter(|s| **s == 200).count()
}

#[tokio::test]
async fn two_gateways_sharing_redis_hold_the_limit_together() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    // In-process counters: each replica allows the full limit, so together they allow twice.
    let (a, b) = two_gateways(Backend::Local, None).await;
    assert_eq!(accepted(&a, &b, 40).await, 20);

    // One counter in Redis: together they stay within the limit (10; 11 if a refill lands
    // during the run, one per 6 s).
    let (a, b) = two_gateways(Backend::Redis, Some(&redis)).await;
    let together = accepted(&a, &b, 40).await;
    assert!((10..=11).contains(&together), "accepted {together}");

    // Each gateway reports the shared state in its headers.
    let response = a.get("/api/shared/x").send().await.unwrap();
    assert_eq!(response.status(), 429);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=6).contains(&retry), "Retry-After {retry}");
    assert_eq!(
        response.headers()["ratelimit-policy"],
        "\"shared\";q=10;w=60"
    );
}

#[tokio::test]
async fn when_redis_stops_each_policy_fails_open_or_closed_as_configured() {
    let Some(mut redis) = RedisServer::start().await else {
        return;
    };
    let echo = Echo::spawn().await;
    let mut config = test_config(echo.addr).await;
    config.redis = Some(RedisConfig::new(&redis.url()));
    for (name, on_error) in [
        ("open", OnRedisError::Open),
        ("closed", OnRedisError::Closed),
    ] {
        config.rate_limits.push(gateway::config::RateLimitConfig {
            backend: Backend::Redis,
            on_redis_error: on_error,
            ..policy(name, 100, 60, 100, &[KeyPart::Ip])
        });
        config.routes.push(limited_route(
            name,
            &format!("/api/{name}"),
            AuthMode::Public,
            &[name],
        ));
    }
    let gw = crate::observability::AdminGateway::start_with(echo, config).await;

    for path in ["/api/open/x", "/api/closed/x"] {
        let response = gw.get(path).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path} with Redis up");
        assert!(response.headers().contains_key("ratelimit"));
    }

    redis.stop();

    // Fail open: the request passes, announced policy, no counter state to report.
    let response = gw.get("/api/open/x").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["ratelimit-policy"],
        "\"open\";q=100;w=60"
    );
    assert!(response.headers().get("ratelimit").is_none());

    // Fail closed: refused, saying why.
    let response = gw.get("/api/closed/x").send().await.unwrap();
    let body = assert_problem(response, 503, "rate_limiter_unavailable").await;
    assert!(
        body["detail"].as_str().unwrap().contains("`closed`"),
        "{body}"
    );

    // Counted (on the admin listener).
    let status: Value = gw
        .admin("/ratelimitz")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["failed_open"], 1, "{status}");
    assert_eq!(status["failed_closed"], 1, "{status}");
    assert_eq!(status["redis"]["errors"], 2, "{status}");
}

/// Two gateways with a daily quota of 6 per user on `/api/quota`, kept by `backend`.
async fn two_gateways_with_a_quota(
    backend: Backend,
    redis: Option<&RedisServer>,
) -> (TestGateway, TestGateway) {
    let mut gateways = Vec::new();
    for _ in 0..2 {
        let echo = Echo::spawn().await;
        let mut config = test_config(echo.addr).await;
        config.redis = redis.map(|r| RedisConfig::new(&r.url()));
        config.quotas.push(QuotaConfig {
            name: "day".into(),
            limit: 6,
            per: QuotaPer::Day,
            backend,
            on_redis_error: OnRedisError::Open,
        });
        config.routes.push(limited_route(
            "quota",
            "/api/quota",
            AuthMode::Required,
            &["day"],
        ));
        gateways.push(TestGateway::serve_with(echo, config).await);
    }
    let b = gateways.pop().unwrap();
    let a = gateways.pop().unwrap();
    (a, b)
}

/// One user's requests alternating between the two gateways, one after the other; the
/// statuses in order.
async fn quota_statuses(a: &TestGateway, b: &TestGateway, n: usize) -> Vec<u16> {
    let mut statuses = Vec::new();
    for i in 0..n {
        let gw = if i % 2 == 0 { a } else { b };
        let response = gw
            .get("/api/quota/x")
            .header("authorization", bearer(&token(Role::Student)))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    statuses
}

#[tokio::test]
async fn a_quota_in_redis_is_one_allowance_for_every_replica() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    // Kept by each replica: the user gets the day's 6 requests from each, 12 in all.
    let (a, b) = two_gateways_with_a_quota(Backend::Local, None).await;
    let statuses = quota_statuses(&a, &b, 14).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        12,
        "{statuses:?}"
    );

    // Kept in Redis: 6 in all, whichever replica answers; then 429 from both.
    let (a, b) = two_gateways_with_a_quota(Backend::Redis, Some(&redis)).await;
    let statuses = quota_statuses(&a, &b, 10).await;
    assert_eq!(statuses, [200, 200, 200, 200, 200, 200, 429, 429, 429, 429]);
    let response = b
        .get("/api/quota/x")
        .header("authorization", bearer(&token(Role::Student)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(
        response.headers()["ratelimit-policy"],
        "\"day\";q=6;w=86400"
    );
}
