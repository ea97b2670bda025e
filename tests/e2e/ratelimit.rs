//! The demo's rate limits seen from a client: login protection per account at the edge, and
//! the `RateLimit` headers on the API.

use crate::helpers::TestDemo;
use serde_json::{Value, json};

#[tokio::test]
async fn guessing_one_accounts_password_is_stopped_at_the_gateway() {
    let demo = TestDemo::start().await;
    let attempt = |password: &str| {
        demo.client
            .post(demo.gateway("/api/auth/login"))
            .json(&json!({"email": "Student@Example.edu", "password": password}))
            .send()
    };
    // The demo's `login-account` policy allows 10 at once; the auth-service answers them
    // (wrong password, or its own throttling of failed attempts).
    for i in 0..10 {
        let response = attempt(&format!("guess-{i}")).await.unwrap();
        assert!(
            [401, 429].contains(&response.status().as_u16()),
            "attempt {i}: {}",
            response.status()
        );
        let policy = response.headers()["ratelimit-policy"].to_str().unwrap();
        assert!(policy.contains("\"login-account\";q=10;w=60"), "{policy}");
    }
    // The 11th never reaches the auth-service: the gateway refuses it.
    let response = attempt("guess-10").await.unwrap();
    assert_eq!(response.status(), 429);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=6).contains(&retry), "Retry-After {retry}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["reason"], "rate_limited");
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
