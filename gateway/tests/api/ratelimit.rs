//! Rate limits through the gateway: the headers on success, 429 with `Retry-After`, refill, keys
//! per user, and login protection by IP and by account. The gateway's clock is injected, so
//! time moves only when a test says so.

use crate::helpers::{Echo, TestGateway, assert_problem, bearer, parts, route, test_config, token};
use gateway::{
    Config,
    config::{AuthMode, KeyPart, QuotaConfig, QuotaPer, RateLimitConfig, RouteConfig},
};
use serde_json::Value;
use shared::{Role, clock::ManualClock};
use std::time::Duration;

pub fn policy(
    name: &str,
    rate: u64,
    period_secs: u64,
    burst: u64,
    key: &[KeyPart],
) -> RateLimitConfig {
    RateLimitConfig {
        name: name.into(),
        rate,
        period_secs: Some(period_secs),
        per: None,
        burst: Some(burst),
        key: key.to_vec(),
        backend: Default::default(),
        on_redis_error: Default::default(),
    }
}

pub fn limited_route(name: &str, prefix: &str, auth: AuthMode, limits: &[&str]) -> RouteConfig {
    RouteConfig {
        rate_limits: limits.iter().map(|s| (*s).to_owned()).collect(),
        ..route(name, prefix, "users", auth)
    }
}

/// A gateway on a clock the test moves (the limiter reads it).
struct ClockedGateway(TestGateway);

impl ClockedGateway {
    async fn oneshot(&self, request: reqwest::RequestBuilder) -> reqwest::Response {
        self.0.oneshot(request).await
    }

    async fn spawn(echo: Echo, config: Config, clock: &ManualClock) -> ClockedGateway {
        ClockedGateway(TestGateway::spawn_with_clock(echo, config, clock.shared()).await)
    }

    fn get(&self, path: &str, role: Role) -> reqwest::RequestBuilder {
        self.0
            .get(path)
            .header("authorization", bearer(&token(role)))
    }

    fn login(&self, from_ip: &str, email: &str) -> reqwest::RequestBuilder {
        self.0
            .http
            .post(self.0.url("/api/login"))
            .header("x-forwarded-for", from_ip)
            .json(&serde_json::json!({"email": email, "password": "secret"}))
    }
}

fn header<'h>(headers: &'h reqwest::header::HeaderMap, name: &str) -> &'h str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

#[tokio::test]
async fn a_burst_passes_then_429_with_retry_after_and_the_bucket_refills() {
    let echo = Echo::spawn().await;
    let mut config = test_config(echo.addr).await;
    // 6 per minute (one every 10 s), 3 at once, per user; and 100 a day.
    config
        .rate_limits
        .push(policy("tight", 6, 60, 3, &[KeyPart::User]));
    config.quotas.push(QuotaConfig {
        name: "day".into(),
        limit: 100,
        per: QuotaPer::Day,
        backend: Default::default(),
        on_redis_error: Default::default(),
    });
    config.routes.push(limited_route(
        "limited",
        "/api/limited",
        AuthMode::Required,
        &["tight", "day"],
    ));
    let clock = ManualClock::new();
    let gw = ClockedGateway::spawn(echo, config, &clock).await;

    // The burst passes, each response saying what is left.
    for remaining in [2, 1, 0] {
        let (status, headers, _) =
            parts(gw.oneshot(gw.get("/api/limited/x", Role::Student)).await).await;
        assert_eq!(status, 200);
        assert_eq!(
            header(&headers, "ratelimit-policy"),
            "\"tight\";q=6;w=60, \"day\";q=100;w=86400"
        );
        let quota_left = 99 - (2 - remaining);
        let full_in = 10 * (3 - remaining);
        assert_eq!(
            header(&headers, "ratelimit"),
            format!(
                "\"tight\";r={remaining};t={full_in}, \"day\";r={quota_left};t={}",
                864 * (3 - remaining)
            )
        );
    }

    // The fourth is refused: one request fits again in 10 s.
    let refused = gw.oneshot(gw.get("/api/limited/x", Role::Student)).await;
    let headers = refused.headers().clone();
    let body = assert_problem(refused, 429, "rate_limited").await;
    assert_eq!(header(&headers, "retry-after"), "10");
    assert_eq!(header(&headers, "ratelimit"), "\"tight\";r=0;t=30");
    assert_eq!(header(&headers, "ratelimit-policy"), "\"tight\";q=6;w=60");
    assert!(
        body["detail"].as_str().unwrap().contains("`tight`"),
        "{body}"
    );

    // 4 s later: 6 s to go, rounded up.
    clock.advance(Duration::from_secs(4));
    let refused = gw.oneshot(gw.get("/api/limited/x", Role::Student)).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(header(refused.headers(), "retry-after"), "6");

    // Another user has an allowance of their own.
    let other = gw.oneshot(gw.get("/api/limited/x", Role::Admin)).await;
    assert_eq!(other.status(), 200);

    // Once the wait is over, exactly one more request passes.
    clock.advance(Duration::from_secs(6));
    let again = gw.oneshot(gw.get("/api/limited/x", Role::Student)).await;
    assert_eq!(again.status(), 200);
    let refused = gw.oneshot(gw.get("/api/limited/x", Role::Student)).await;
    assert_eq!(refused.status(), 429);

    // After a quiet spell the whole burst is back, and no more.
    clock.advance(Duration::from_secs(3_600));
    let mut passed = 0;
    for _ in 0..5 {
        if gw
            .oneshot(gw.get("/api/limited/x", Role::Student))
            .await
            .status()
            == 200
        {
            passed += 1;
        }
    }
    assert_eq!(passed, 3);

    // Routes without policies carry no rate-limit headers.
    let plain = gw.oneshot(gw.get("/api/public/x", Role::Student)).await;
    assert_eq!(plain.status(), 200);
    assert!(plain.headers().get("ratelimit").is_none());
}

#[tokio::test]
async fn logins_are_limited_per_ip_and_per_account_and_the_body_still_arrives() {
    let echo = Echo::spawn().await;
    let mut config = test_config(echo.addr).await;
    // The tests' client connects from 127.0.0.1: make it a trusted proxy, so the
    // `X-Forwarded-For` it sends plays the part of many clients.
    config.trusted_proxies = vec!["127.0.0.1".into()];
    config.rate_limits.extend([
        policy("test-login-ip", 1, 60, 2, &[KeyPart::Ip]),
        policy("test-login-account", 1, 60, 2, &[KeyPart::Account]),
    ]);
    config.routes.push(limited_route(
        "test-login",
        "/api/login",
        AuthMode::Public,
        &["test-login-ip", "test-login-account"],
    ));
    let gw = ClockedGateway::spawn(echo, config, &ManualClock::new()).await;

    // One account from three addresses: the third attempt is refused by the account limit,
    // however the address is spelled and the e-mail cased.
    let sent = serde_json::to_vec(
        &serde_json::json!({"email": "Victim@Example.edu", "password": "secret"}),
    )
    .unwrap();
    let (status, headers, echoed) = parts(
        gw.oneshot(gw.login("198.51.100.1", "Victim@Example.edu"))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        echoed["body_len"],
        Value::from(sent.len()),
        "the same bytes go upstream"
    );
    assert_eq!(echoed["uri"], "/");
    assert!(header(&headers, "ratelimit").contains("\"test-login-account\";r=1"));
    assert_eq!(
        gw.oneshot(gw.login("198.51.100.2", "victim@example.edu "))
            .await
            .status(),
        200
    );
    let refused = gw
        .oneshot(gw.login("198.51.100.3", "VICTIM@example.edu"))
        .await;
    let body = assert_problem(refused, 429, "rate_limited").await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("`test-login-account`"),
        "{body}"
    );
    assert!(
        !body.to_string().to_lowercase().contains("victim"),
        "the account is never echoed"
    );

    // One address trying many accounts: the third is refused by the IP limit.
    for (i, expected) in [(1, 200), (2, 200), (3, 429)] {
        let response = gw
            .oneshot(gw.login("203.0.113.9", &format!("user{i}@example.edu")))
            .await;
        assert_eq!(response.status(), expected, "attempt {i}");
    }
    let refused = gw
        .oneshot(gw.login("203.0.113.9", "user4@example.edu"))
        .await;
    let body = assert_problem(refused, 429, "rate_limited").await;
    assert!(
        body["detail"].as_str().unwrap().contains("`test-login-ip`"),
        "{body}"
    );
}
