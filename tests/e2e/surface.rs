//! Every route of the public HTTP surface (the README's tour, docs/architecture.md), through the
//! gateway's one address.

use crate::helpers::{TestDemo, assert_problem, decode_parts};
use serde_json::{Value, json};

#[tokio::test]
async fn register_login_refresh_reuse_and_logout_through_the_gateway() {
    let demo = TestDemo::start().await;
    let c = &demo.client;

    // Register a new student.
    let response = c
        .post(demo.gateway("/api/auth/register"))
        .json(&json!({"email": "new@example.edu", "password": "a long passphrase", "name": "New Student"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let registered: Value = response.json().await.unwrap();
    assert_eq!(
        registered,
        json!({"status": "registered", "email": "new@example.edu"})
    );

    // The same e-mail again gets the very same answer (registration is no way to find out who
    // has an account), and changes nothing: the first password still logs in, as "New Student".
    let response = c
        .post(demo.gateway("/api/auth/register"))
        .json(&json!({"email": "new@example.edu", "password": "another passphrase", "name": "Dup"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(response.json::<Value>().await.unwrap(), registered);

    // Log in: the profile the auth-service provisioned at registration is there.
    let pair = demo.login("new@example.edu", "a long passphrase").await;
    let access = pair["access_token"].as_str().unwrap();
    let me: Value = demo
        .get("/api/users/me", access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "new@example.edu");
    assert_eq!(me["name"], "New Student");
    assert_eq!(me["role"], "STUDENT");

    // Refresh rotates the pair.
    let first_refresh = pair["refresh_token"].as_str().unwrap().to_owned();
    let response = c
        .post(demo.gateway("/api/auth/refresh"))
        .json(&json!({ "refresh_token": first_refresh }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let rotated: Value = response.json().await.unwrap();
    let second_refresh = rotated["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(first_refresh, second_refresh);

    // Presenting the first refresh token again is reuse: 401, and the family is revoked.
    let response = c
        .post(demo.gateway("/api/auth/refresh"))
        .json(&json!({ "refresh_token": first_refresh }))
        .send()
        .await
        .unwrap();
    assert_problem(response, 401, "refresh_token_reused").await;
    let response = c
        .post(demo.gateway("/api/auth/refresh"))
        .json(&json!({ "refresh_token": second_refresh }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    // A fresh session can log out (bearer required); its refresh token then stops working.
    let pair = demo.login("new@example.edu", "a long passphrase").await;
    let response = c
        .post(demo.gateway("/api/auth/logout"))
        .bearer_auth(pair["access_token"].as_str().unwrap())
        .json(&json!({ "refresh_token": pair["refresh_token"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let response = c
        .post(demo.gateway("/api/auth/refresh"))
        .json(&json!({ "refresh_token": pair["refresh_token"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn the_oauth_token_endpoint_speaks_rfc6749_through_the_gateway() {
    let demo = TestDemo::start().await;
    let response = demo
        .client
        .post(demo.gateway("/api/oauth/token"))
        .form(&[
            ("grant_type", "password"),
            // The demo's public client: a client must say who it is, even without a secret.
            ("client_id", "classroom-app"),
            ("username", "student@example.edu"),
            ("password", "student123"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    let (_, payload) = decode_parts(body["access_token"].as_str().unwrap());
    assert_eq!(payload["sub"], "1905551042");

    let response = demo
        .client
        .post(demo.gateway("/api/oauth/token"))
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "unsupported_grant_type");
}

#[tokio::test]
async fn discovery_and_jwks_are_public() {
    let demo = TestDemo::start().await;
    let discovery: Value = demo
        .client
        .get(demo.gateway("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The demo's public URL: the gateway's own port (see `public_url.rs`).
    let public_url = &demo.demo.public_url;
    assert_eq!(discovery["issuer"], public_url.as_str());
    assert_eq!(
        discovery["token_endpoint"],
        format!("{public_url}/api/oauth/token")
    );
    assert_eq!(
        discovery["jwks_uri"],
        format!("{public_url}/.well-known/jwks.json")
    );

    let response = demo
        .client
        .get(demo.gateway("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let jwks: Value = response.json().await.unwrap();
    // The demo signs with the HS256 shared secret, which is never published.
    assert_eq!(jwks, json!({"keys": []}));
}

#[tokio::test]
async fn billing_summary_totals_the_callers_invoices() {
    let demo = TestDemo::start().await;
    let token = demo.student_token().await;
    let invoices: Vec<Value> = demo
        .get("/api/billing/invoices", &token)
        .await
        .json()
        .await
        .unwrap();
    let summary: Value = demo
        .get("/api/billing/summary", &token)
        .await
        .json()
        .await
        .unwrap();
    let total: i64 = invoices
        .iter()
        .map(|i| i["total_cents"].as_i64().unwrap())
        .sum();
    assert_eq!(summary["user_id"], "1905551042");
    assert_eq!(summary["invoice_count"], invoices.len());
    assert_eq!(summary["total_cents"], total);
}

#[tokio::test]
async fn health_and_readiness_are_public_on_the_gateway() {
    let demo = TestDemo::start().await;
    for path in ["/healthz", "/readyz"] {
        let response = demo.client.get(demo.gateway(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn every_kind_of_bad_token_is_401_with_its_reason() {
    let demo = TestDemo::start().await;
    let good = demo.student_token().await;
    let (header, payload) = decode_parts(&good);
    let b64 = |v: &Value| {
        use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    };
    let sign = |claims: &Value| {
        let key =
            jsonwebtoken::EncodingKey::from_secret(shared::demo::HS256_SECRET.as_bytes()).unwrap();
        jsonwebtoken::encode(&jsonwebtoken::Header::default(), claims, &key).unwrap()
    };

    let mut expired = payload.clone();
    expired["exp"] = json!(1_000_000_000);
    let mut wrong_audience = payload.clone();
    wrong_audience["aud"] = json!("someone-else");
    let wrongly_signed = {
        let key =
            jsonwebtoken::EncodingKey::from_secret(b"not-the-demo-secret-not-the-demo-secret")
                .unwrap();
        jsonwebtoken::encode(&jsonwebtoken::Header::default(), &payload, &key).unwrap()
    };
    let mut none_header = header.clone();
    none_header["alg"] = json!("none");
    let alg_none = format!("{}.{}.", b64(&none_header), b64(&payload));

    for (token, reason) in [
        (sign(&expired), "token_expired"),
        (sign(&wrong_audience), "audience_mismatch"),
        (wrongly_signed, "bad_signature"),
        (alg_none, "algorithm_not_allowed"),
        ("not-a-jwt".to_owned(), "token_malformed"),
    ] {
        let response = demo.get("/api/users/me", &token).await;
        assert!(
            response.headers().contains_key("www-authenticate"),
            "{reason}"
        );
        assert_problem(response, 401, reason).await;
    }

    // A token in the query string is never read.
    let response = demo
        .client
        .get(demo.gateway(&format!("/api/users/me?access_token={good}")))
        .send()
        .await
        .unwrap();
    assert_problem(response, 401, "token_missing").await;
}

#[tokio::test]
async fn a_trailing_slash_or_dot_segment_cannot_dodge_the_admin_rule() {
    let demo = TestDemo::start().await;
    let student = demo.student_token().await;
    for path in [
        "/api/users/",
        "/api/users/.",
        "/api/users/me/..",
        "//api//users",
    ] {
        let response = demo.get(path, &student).await;
        assert_eq!(response.status(), 403, "{path} must be the ADMIN-only list");
    }
}
