use crate::helpers::*;
use auth_service::config::ThrottleConfig;
use reqwest::StatusCode;
use serde_json::Value;
use shared::Role;
use std::time::{Duration, Instant};

#[tokio::test]
async fn login_returns_a_bearer_pair_with_the_lecture_header_and_full_claims() {
    let app = spawn_app().await;
    let user = app
        .register("ada@example.edu", "long enough pw", "Ada")
        .await;
    let response = app.post_login("ADA@example.edu", "long enough pw").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    let refresh = body["refresh_token"].as_str().unwrap();
    assert!(refresh.len() >= 43, "at least 256 bits, base64url");

    let token = body["access_token"].as_str().unwrap();
    assert_eq!(
        jwt_header(token),
        serde_json::json!({"alg": "HS256", "typ": "JWT"})
    );
    let claims = hs256_verifier().verify(token).unwrap();
    assert_eq!(claims.sub, user.id);
    assert_eq!(claims.name, "Ada");
    assert_eq!(claims.role, Role::Student);
    assert_eq!(claims.email.as_deref(), Some("ada@example.edu"));
    assert_eq!(claims.exp - claims.iat, 900);
    assert_eq!(claims.iss, shared::demo::ISSUER);
    assert_eq!(claims.aud, shared::demo::AUDIENCE);
    assert!(!claims.jti.is_empty());
}

/// The body minus the per-request ids (request and trace).
async fn comparable(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let mut body: Value = response.json().await.unwrap();
    body.as_object_mut().unwrap().remove("request_id");
    body.as_object_mut().unwrap().remove("trace_id");
    (status, body)
}

#[tokio::test]
async fn unknown_email_and_wrong_password_look_exactly_the_same() {
    let app = spawn_app().await;
    app.register("ada@example.edu", "long enough pw", "Ada")
        .await;
    let wrong = app.post_login("ada@example.edu", "wrong password").await;
    let www_wrong = wrong.headers()["www-authenticate"].clone();
    let unknown = app.post_login("nobody@example.edu", "wrong password").await;
    let www_unknown = unknown.headers()["www-authenticate"].clone();
    let (status_wrong, body_wrong) = comparable(wrong).await;
    let (status_unknown, body_unknown) = comparable(unknown).await;
    assert_eq!(status_wrong, StatusCode::UNAUTHORIZED);
    assert_eq!(status_wrong, status_unknown);
    assert_eq!(body_wrong, body_unknown);
    assert_eq!(body_wrong["reason"], "invalid_credentials");
    assert_eq!(www_wrong, www_unknown);
}

#[tokio::test]
async fn unknown_email_takes_as_long_as_a_wrong_password() {
    let mut config = test_config();
    config.throttle = ThrottleConfig {
        max_failures: 1000,
        ..ThrottleConfig::default()
    };
    let app = spawn_app_with(config).await;
    app.register("ada@example.edu", "long enough pw", "Ada")
        .await;
    async fn median(app: &TestApp, email: &str) -> Duration {
        let mut times = Vec::new();
        for _ in 0..7 {
            let started = Instant::now();
            let response = app.post_login(email, "wrong password").await;
            times.push(started.elapsed());
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        }
        times.sort();
        times[times.len() / 2]
    }
    // Warm up (first hash allocations, connection set-up).
    let _ = app.post_login("warm@example.edu", "x").await;
    let wrong_password = median(&app, "ada@example.edu").await;
    let unknown_email = median(&app, "nobody@example.edu").await;
    // Without the dummy hash an unknown e-mail answers in well under a millisecond, while a
    // wrong password costs a full argon2 verification. With it, both cost one verification.
    let ratio = unknown_email.as_secs_f64() / wrong_password.as_secs_f64();
    assert!(
        (0.25..4.0).contains(&ratio),
        "unknown e-mail {unknown_email:?} vs wrong password {wrong_password:?}"
    );
}

#[tokio::test]
async fn repeated_failures_are_throttled_with_growing_retry_after() {
    let app = spawn_app().await; // default: 5 failures, then 30 s, doubling
    app.register("ada@example.edu", "long enough pw", "Ada")
        .await;
    for attempt in 1..=5 {
        let response = app.post_login("ada@example.edu", "wrong password").await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}"
        );
    }
    // Locked: even the right password is refused, without being checked.
    let response = app.post_login("ada@example.edu", "long enough pw").await;
    assert_eq!(response.headers()["retry-after"], "30");
    assert_problem(response, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
    // Another account is not affected.
    let response = app.post_login("other@example.edu", "whatever pw").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // After the lock, one more failure locks for twice as long.
    app.clock.advance(Duration::from_secs(30));
    let response = app.post_login("ada@example.edu", "wrong password").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = app.post_login("ada@example.edu", "long enough pw").await;
    assert_eq!(response.headers()["retry-after"], "60");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);

    // Once the lock is over, the right password works and clears the record.
    app.clock.advance(Duration::from_secs(60));
    app.login("ada@example.edu", "long enough pw").await;
    let response = app.post_login("ada@example.edu", "wrong password").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}
