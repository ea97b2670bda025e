//! The demo's rate limits seen from a client: login protection (failures counted per account by
//! the auth-service, a flood limit per address at the edge), and the `RateLimit` headers on the
//! API.

use crate::helpers::TestDemo;
use crate::helpers::assert_problem;
use serde_json::json;
use shared::demo;

#[tokio::test]
async fn guessing_one_accounts_password_is_stopped_after_five_failures() {
    let demo = TestDemo::start().await;
    let attempt = |password: &str| {
        demo.client
            .post(demo.gateway("/api/auth/login"))
            .json(&json!({"email": "Student@Example.edu", "password": password}))
            .send()
    };
    // Five wrong passwords: 401 each. The gateway lets them through (its only login policy is
    // the per-address flood limit), and the auth-service counts each failure.
    for i in 0..5 {
        let response = attempt(&format!("guess-{i}")).await.unwrap();
        let policy = response.headers()["ratelimit-policy"].to_str().unwrap();
        assert_eq!(
            policy, "\"login-ip\";q=60;w=60",
            "no per-account policy at the edge"
        );
        assert_problem(response, 401, "invalid_credentials").await;
    }
    // The sixth is refused without a password check: the account is locked for 30 s. Even the
    // right password does not get in now (that is what makes guessing pointless).
    let response = attempt(demo::student::PASSWORD).await.unwrap();
    assert_eq!(response.headers()["retry-after"], "30");
    let body = assert_problem(response, 429, "too_many_attempts").await;
    assert!(
        !body.to_string().to_lowercase().contains("student@"),
        "{body}"
    );

    // Another account from the same address still logs in: the limit is per account.
    let admin = demo.admin_token().await;
    let me = demo.get("/api/users/me", &admin).await;
    assert_eq!(me.status(), 200);
    let state = me.headers()["ratelimit"].to_str().unwrap();
    assert!(
        state.starts_with("\"per-user\";r=99;t=1, \"daily\";r=9999;"),
        "{state}"
    );
}

/// Issue #19: twelve successful logins in a row used to end in 429, because the gateway counted
/// every login per account. Only failures count now, so a student who logs in for every
/// exercise is never locked out of their own account.
#[tokio::test]
async fn successful_logins_never_count_toward_the_account_limit() {
    let demo = TestDemo::start().await;
    for i in 0..15 {
        let response = demo
            .client
            .post(demo.gateway("/api/auth/login"))
            .json(&json!({"email": demo::admin::EMAIL, "password": demo::admin::PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "login {i}");
    }
    // A failure in between does not lock a used account either: five are allowed.
    let wrong = demo
        .client
        .post(demo.gateway("/api/auth/login"))
        .json(&json!({"email": demo::admin::EMAIL, "password": "wrong"}))
        .send()
        .await
        .unwrap();
    assert_problem(wrong, 401, "invalid_credentials").await;
    let token = demo.admin_token().await;
    assert_eq!(demo.get("/api/users/me", &token).await.status(), 200);
}
