//! Clients at the token endpoint: refresh tokens bound to their client, both spellings of a Basic
//! secret under a per-client throttle, and public clients.

use crate::helpers::*;
use crate::oauth::{SECRET, app_with_clients, confidential, public_client};
use auth_service::{clients::FIRST_PARTY_CLIENT_ID, refresh::hash_token};
use base64::{Engine, engine::general_purpose::STANDARD};
use reqwest::StatusCode;
use serde_json::Value;

/// A secret with the characters form-encoding changes: `+` (a space once decoded), `/`, `=`.
const PLUS_SECRET: &str = "s3cr+t/with=signs+";

async fn spa_password_grant(app: &TestApp) -> Value {
    let response = app
        .post_token(&password_grant("spa", "long enough pw"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

fn refresh_with<'a>(client_id: &'a str, token: &'a str) -> [(&'a str, &'a str); 3] {
    [
        ("grant_type", "refresh_token"),
        ("client_id", client_id),
        ("refresh_token", token),
    ]
}

#[tokio::test]
async fn a_refresh_token_redeemed_by_another_client_is_invalid_grant_and_revokes_its_family() {
    let app = app_with_clients().await;
    let issued = spa_password_grant(&app).await;
    let token = issued["refresh_token"].as_str().unwrap();
    let record = app
        .state
        .store
        .refresh_by_hash(&hash_token(token))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.client_id, "spa");

    // Another client, properly authenticated, presents spa's token.
    let response = app
        .post_token_basic(
            "mobile",
            SECRET,
            &[("grant_type", "refresh_token"), ("refresh_token", token)],
        )
        .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;

    // The family is revoked: spa itself cannot redeem it any more.
    let response = app.post_token(&refresh_with("spa", token)).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

#[tokio::test]
async fn a_refresh_token_without_any_client_is_invalid_client() {
    let app = app_with_clients().await;
    let issued = spa_password_grant(&app).await;
    let token = issued["refresh_token"].as_str().unwrap();
    let response = app
        .post_token(&[("grant_type", "refresh_token"), ("refresh_token", token)])
        .await;
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
    // Nothing was redeemed: the owner still can.
    let response = app.post_token(&refresh_with("spa", token)).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn json_login_sessions_belong_to_the_first_party_client_only() {
    let app = app_with_clients().await;
    let login = app.login("ada@example.edu", "long enough pw").await;
    let record = app
        .state
        .store
        .refresh_by_hash(&hash_token(&login.refresh_token))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.client_id, FIRST_PARTY_CLIENT_ID);

    // At the token endpoint, an OAuth client cannot redeem it, and the session ends.
    let response = app
        .post_token(&refresh_with("spa", &login.refresh_token))
        .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    let response = app.post_refresh(&login.refresh_token).await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "refresh_token_revoked").await;

    // Nor can the reserved id be used at the token endpoint.
    let response = app
        .post_token(&refresh_with(FIRST_PARTY_CLIENT_ID, "anything"))
        .await;
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
}

#[tokio::test]
async fn auth_refresh_refuses_an_oauth_clients_token_and_revokes_its_family() {
    let app = app_with_clients().await;
    let issued = spa_password_grant(&app).await;
    let token = issued["refresh_token"].as_str().unwrap();
    let response = app.post_refresh(token).await;
    assert_problem(
        response,
        StatusCode::UNAUTHORIZED,
        "refresh_token_wrong_client",
    )
    .await;
    let response = app.post_token(&refresh_with("spa", token)).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

/// `plus-job`, whose secret contains `+`, `/` and `=`.
async fn app_with_plus_secret() -> TestApp {
    let hash = auth_service::passwords::hash(PLUS_SECRET.into())
        .await
        .unwrap();
    let mut config = test_config();
    config.clients = vec![confidential("plus-job", &hash)];
    spawn_app_with(config).await
}

async fn basic_header(app: &TestApp, header: String) -> reqwest::Response {
    app.client
        .post(app.url("/oauth/token"))
        .header("authorization", header)
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
}

fn encoded(user_pass: &str) -> String {
    format!("Basic {}", STANDARD.encode(user_pass))
}

#[tokio::test]
async fn basic_accepts_the_secret_as_sent_and_form_encoded() {
    let app = app_with_plus_secret().await;
    // As Authlib's default, requests' HTTPBasicAuth and httpx send it: not form-encoded.
    let response = app
        .post_token_basic(
            "plus-job",
            PLUS_SECRET,
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    // As RFC 6749 §2.3.1 spells it: form-encoded first.
    let form_encoded: String = form_urlencoded::byte_serialize(PLUS_SECRET.as_bytes()).collect();
    assert_eq!(form_encoded, "s3cr%2Bt%2Fwith%3Dsigns%2B");
    let response = basic_header(&app, encoded(&format!("plus-job:{form_encoded}"))).await;
    assert_eq!(response.status(), StatusCode::OK);
    // In the body (client_secret_post).
    let response = app
        .post_token(&[
            ("grant_type", "client_credentials"),
            ("client_id", "plus-job"),
            ("client_secret", PLUS_SECRET),
        ])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    // The decoded spelling of the raw secret (`+` as a space) is a different secret.
    let response = basic_header(&app, encoded("plus-job:s3cr t/with=signs ")).await;
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
}

#[tokio::test]
async fn failed_client_authentications_are_throttled_per_client_and_each_pair_counts_once() {
    let app = app_with_plus_secret().await;
    let wrong = [("grant_type", "client_credentials")];
    // Four failures, each with two spellings to check (the secret has a `+`): four, not eight.
    for _ in 0..4 {
        let response = app
            .post_token_basic("plus-job", "wrong+secret", &wrong)
            .await;
        assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
    }
    let response = app.post_token_basic("plus-job", PLUS_SECRET, &wrong).await;
    assert_eq!(response.status(), StatusCode::OK, "not locked after 4");

    // Five failures in a row lock the client: even the right secret waits, and is not hashed.
    for _ in 0..5 {
        let response = app
            .post_token_basic("plus-job", "wrong+secret", &wrong)
            .await;
        assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
    }
    let response = app.post_token_basic("plus-job", PLUS_SECRET, &wrong).await;
    assert_eq!(response.headers()["retry-after"], "30");
    let body =
        assert_oauth_error(response, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
    assert!(!body.to_string().contains(PLUS_SECRET));

    // After the lock, the right secret works again.
    app.clock.advance(std::time::Duration::from_secs(30));
    let response = app.post_token_basic("plus-job", PLUS_SECRET, &wrong).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn unknown_client_ids_are_throttled_too() {
    let app = app_with_plus_secret().await;
    for _ in 0..5 {
        let response = app
            .post_token_basic("nobody", "x", &[("grant_type", "client_credentials")])
            .await;
        assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
    }
    let response = app
        .post_token_basic("nobody", "x", &[("grant_type", "client_credentials")])
        .await;
    assert_oauth_error(response, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
    // Another client is unaffected.
    let response = app
        .post_token_basic(
            "plus-job",
            PLUS_SECRET,
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_public_client_uses_client_id_alone_for_its_own_grants_only() {
    let mut config = test_config();
    config.clients = vec![public_client("cli", &["password"])];
    let app = spawn_app_with(config).await;
    app.register("ada@example.edu", "long enough pw", "Ada")
        .await;
    // Authlib always sends client_id in the password grant.
    let response = app
        .post_token(&password_grant("cli", "long enough pw"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let token = body["refresh_token"].as_str().unwrap().to_owned();
    // Basic with an empty secret is the same public client.
    let response = app
        .post_token_basic(
            "cli",
            "",
            &[
                ("grant_type", "password"),
                ("username", "ada@example.edu"),
                ("password", "long enough pw"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    // Not configured for refresh_token, nor client_credentials.
    let response = app.post_token(&refresh_with("cli", &token)).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "unauthorized_client").await;
    let response = app
        .post_token(&[("grant_type", "client_credentials"), ("client_id", "cli")])
        .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "unauthorized_client").await;

    // A public client has no secret to send.
    let response = app
        .post_token(&[
            ("grant_type", "password"),
            ("client_id", "cli"),
            ("client_secret", "guess"),
            ("username", "ada@example.edu"),
            ("password", "long enough pw"),
        ])
        .await;
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
}

#[tokio::test]
async fn a_confidential_or_unknown_client_cannot_use_client_id_alone() {
    let app = app_with_clients().await;
    for client_id in ["mobile", "nobody"] {
        let response = app
            .post_token(&[
                ("grant_type", "password"),
                ("client_id", client_id),
                ("username", "ada@example.edu"),
                ("password", "long enough pw"),
            ])
            .await;
        let body = assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
        assert!(!body.to_string().contains("long enough pw"));
    }
}
