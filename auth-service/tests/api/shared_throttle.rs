//! The failed-login throttle with `[redis]`: two auth-services sharing one Redis count the same
//! failures, so guesses spread over the replicas lock the account as soon as one replica would;
//! and when Redis goes away each replica keeps throttling on its own. Each test starts its own
//! `redis-server` (`test_support::redis`; skipped without one, except under `CI=true`).

use crate::helpers::{TestApp, assert_problem, spawn_app_with, test_config};
use auth_service::config::RedisConfig;
use reqwest::StatusCode;
use test_support::redis::RedisServer;

/// Two replicas, each with its own database and clock, sharing `redis` when given.
async fn two_replicas(redis: Option<&RedisServer>) -> (TestApp, TestApp) {
    let mut config = test_config();
    config.redis = redis.map(|r| RedisConfig::new(&r.url()));
    (
        spawn_app_with(config.clone()).await,
        spawn_app_with(config).await,
    )
}

/// Five wrong passwords for one e-mail, alternating between the replicas (three on `a`, two
/// on `b`); the statuses of a sixth attempt on each.
async fn five_failures_then_one_more(a: &TestApp, b: &TestApp, email: &str) -> (u16, u16) {
    for attempt in 0..5 {
        let app = if attempt % 2 == 0 { a } else { b };
        let response = app.post_login(email, "a wrong guess").await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}"
        );
    }
    let on_a = a.post_login(email, "a wrong guess").await.status().as_u16();
    let on_b = b.post_login(email, "a wrong guess").await.status().as_u16();
    (on_a, on_b)
}

#[tokio::test]
async fn replicas_sharing_redis_lock_an_account_together() {
    let Some(redis) = RedisServer::start().await else {
        return;
    };
    // Each replica on its own: three failures on one, two on the other, no lock (5 allowed).
    let (a, b) = two_replicas(None).await;
    assert_eq!(
        five_failures_then_one_more(&a, &b, "ada@example.edu").await,
        (401, 401)
    );

    // One record in Redis: the fifth failure, wherever it landed, locks the account everywhere.
    let (a, b) = two_replicas(Some(&redis)).await;
    assert_eq!(
        five_failures_then_one_more(&a, &b, "ada@example.edu").await,
        (429, 429)
    );
    let response = b.post_login("ada@example.edu", "a wrong guess").await;
    assert_eq!(response.headers()["retry-after"], "30");
    assert_problem(response, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
    // Another account is not affected.
    let response = a.post_login("grace@example.edu", "a wrong guess").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn without_redis_each_replica_throttles_on_its_own_and_picks_redis_up_again() {
    let Some(mut redis) = RedisServer::start().await else {
        return;
    };
    let (a, _b) = two_replicas(Some(&redis)).await;
    redis.stop();
    // Redis away: logins still answer, and this replica's own count locks after five.
    for attempt in 0..5 {
        let response = a.post_login("ada@example.edu", "a wrong guess").await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}"
        );
    }
    let response = a.post_login("ada@example.edu", "a wrong guess").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);

    // Redis back (empty): the replica uses it again without a restart; a new e-mail starts a
    // shared record there.
    redis.restart().await;
    let mut shared = false;
    for _ in 0..50 {
        let response = a.post_login("grace@example.edu", "a wrong guess").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        if redis_keys(&redis).await > 0 {
            shared = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(shared, "the replica never wrote to Redis again");
}

/// How many keys Redis holds (the throttle's records), asked with `redis-cli`.
async fn redis_keys(redis: &RedisServer) -> usize {
    let output = tokio::process::Command::new("redis-cli")
        .args(["-p", &redis.addr.port().to_string(), "DBSIZE"])
        .output()
        .await
        .expect("redis-cli runs");
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}
