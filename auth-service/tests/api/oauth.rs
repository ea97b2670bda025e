use crate::helpers::*;
use auth_service::config::ClientConfig;

/// A confidential client with `client_credentials` and no scope.
pub fn confidential(id: &str, secret_hash: &str) -> ClientConfig {
    ClientConfig {
        client_id: id.into(),
        client_type: None,
        secret_hash: Some(secret_hash.into()),
        scopes: vec![],
        grant_types: vec!["client_credentials".into()],
        redirect_uris: vec![],
        require_state: false,
        introspect: false,
    }
}

/// A public client (no secret) with these grants.
pub fn public_client(id: &str, grants: &[&str]) -> ClientConfig {
    ClientConfig {
        client_id: id.into(),
        client_type: None,
        secret_hash: None,
        scopes: vec![],
        grant_types: grants.iter().map(|g| g.to_string()).collect(),
        redirect_uris: vec![],
        require_state: false,
        introspect: false,
    }
}
use reqwest::StatusCode;
use serde_json::Value;
use shared::Role;

pub const SECRET: &str = "reporting-client-secret";

/// An app with three clients — `reporting` (confidential, client_credentials only, scope
/// billing:read), `mobile` (confidential, password and refresh_token) and `spa` (public, password
/// and refresh_token) — and one user.
pub async fn app_with_clients() -> TestApp {
    let secret_hash = auth_service::passwords::hash(SECRET.into()).await.unwrap();
    let mut config = test_config();
    config.clients = vec![
        ClientConfig {
            scopes: vec!["billing:read".into(), "users:read".into()],
            ..confidential("reporting", &secret_hash)
        },
        ClientConfig {
            grant_types: vec!["password".into(), "refresh_token".into()],
            ..confidential("mobile", &secret_hash)
        },
        public_client("spa", &["password", "refresh_token"]),
    ];
    let app = spawn_app_with(config).await;
    app.register("ada@example.edu", "long enough pw", "Ada")
        .await;
    app
}

async fn ok_body(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    body
}

#[tokio::test]
async fn password_grant_issues_a_pair_with_the_requested_scope() {
    let app = app_with_clients().await;
    let body = ok_body(
        app.post_token(&[
            ("grant_type", "password"),
            ("client_id", "spa"),
            ("username", "ada@example.edu"),
            ("password", "long enough pw"),
            ("scope", "profile"),
        ])
        .await,
    )
    .await;
    assert_eq!(body["scope"], "profile");
    assert!(body["refresh_token"].is_string());
    let claims = hs256_verifier()
        .verify(body["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(claims.email.as_deref(), Some("ada@example.edu"));
    assert_eq!(claims.scope.as_deref(), Some("profile"));
    assert_eq!(claims.role, Role::Student);
}

#[tokio::test]
async fn refresh_token_grant_rotates_and_keeps_or_narrows_the_scope() {
    let app = app_with_clients().await;
    let first = ok_body(
        app.post_token(&[
            ("grant_type", "password"),
            ("client_id", "spa"),
            ("username", "ada@example.edu"),
            ("password", "long enough pw"),
            ("scope", "profile billing"),
        ])
        .await,
    )
    .await;
    let refresh = first["refresh_token"].as_str().unwrap();
    let second = ok_body(
        app.post_token(&[
            ("grant_type", "refresh_token"),
            ("client_id", "spa"),
            ("refresh_token", refresh),
        ])
        .await,
    )
    .await;
    assert_eq!(second["scope"], "profile billing");
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    let third = ok_body(
        app.post_token(&[
            ("grant_type", "refresh_token"),
            ("client_id", "spa"),
            ("refresh_token", second["refresh_token"].as_str().unwrap()),
            ("scope", "billing"),
        ])
        .await,
    )
    .await;
    assert_eq!(third["scope"], "billing");
    // Widening beyond the original grant is refused.
    let response = app
        .post_token(&[
            ("grant_type", "refresh_token"),
            ("client_id", "spa"),
            ("refresh_token", third["refresh_token"].as_str().unwrap()),
            ("scope", "billing admin"),
        ])
        .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_scope").await;
}

#[tokio::test]
async fn client_credentials_with_basic_auth_gives_a_service_token_without_refresh() {
    let app = app_with_clients().await;
    let body = ok_body(
        app.post_token_basic("reporting", SECRET, &[("grant_type", "client_credentials")])
            .await,
    )
    .await;
    assert!(body.get("refresh_token").is_none());
    assert_eq!(body["scope"], "billing:read users:read");
    let claims = hs256_verifier()
        .verify(body["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(claims.sub, "reporting");
    assert_eq!(claims.name, "reporting");
    assert_eq!(claims.role, Role::Service);
    assert_eq!(claims.scope.as_deref(), Some("billing:read users:read"));
    assert_eq!(claims.email, None);
}

#[tokio::test]
async fn client_credentials_with_the_secret_in_the_body_and_a_narrower_scope() {
    let app = app_with_clients().await;
    let body = ok_body(
        app.post_token(&[
            ("grant_type", "client_credentials"),
            ("client_id", "reporting"),
            ("client_secret", SECRET),
            ("scope", "billing:read"),
        ])
        .await,
    )
    .await;
    assert_eq!(body["scope"], "billing:read");
}

#[tokio::test]
async fn invalid_request_for_missing_parameters_and_wrong_content_type() {
    let app = app_with_clients().await;
    let response = app.post_token(&[("username", "ada@example.edu")]).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;

    let response = app
        .post_token(&[
            ("grant_type", "password"),
            ("client_id", "spa"),
            ("username", "ada@example.edu"),
        ])
        .await;
    let body = assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("password")
    );

    let response = app
        .client
        .post(app.url("/oauth/token"))
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;

    let response = app
        .client
        .post(app.url("/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=password&grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
}

#[tokio::test]
async fn invalid_client_is_401_with_a_basic_challenge() {
    let app = app_with_clients().await;
    for response in [
        app.post_token_basic(
            "reporting",
            "wrong",
            &[("grant_type", "client_credentials")],
        )
        .await,
        app.post_token_basic("nobody", SECRET, &[("grant_type", "client_credentials")])
            .await,
        app.post_token(&[
            ("grant_type", "client_credentials"),
            ("client_id", "reporting"),
            ("client_secret", "wrong"),
        ])
        .await,
        // client_credentials without any client authentication
        app.post_token(&[("grant_type", "client_credentials")])
            .await,
    ] {
        assert!(
            response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic")
        );
        assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
    }
}

#[tokio::test]
async fn invalid_grant_for_a_bad_password_and_a_reused_refresh_token() {
    let app = app_with_clients().await;
    let response = app
        .post_token(&password_grant("spa", "wrong password"))
        .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;

    let first = ok_body(
        app.post_token(&password_grant("spa", "long enough pw"))
            .await,
    )
    .await;
    let old = first["refresh_token"].as_str().unwrap();
    let second = ok_body(
        app.post_token(&[
            ("grant_type", "refresh_token"),
            ("client_id", "spa"),
            ("refresh_token", old),
        ])
        .await,
    )
    .await;
    let response = app
        .post_token(&[
            ("grant_type", "refresh_token"),
            ("client_id", "spa"),
            ("refresh_token", old),
        ])
        .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    // Reuse revoked the family: the newer token is refused too.
    let response = app
        .post_token(&[
            ("grant_type", "refresh_token"),
            ("client_id", "spa"),
            ("refresh_token", second["refresh_token"].as_str().unwrap()),
        ])
        .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

#[tokio::test]
async fn unauthorized_client_for_a_grant_the_client_may_not_use() {
    let app = app_with_clients().await;
    let response = app
        .post_token_basic(
            "reporting",
            SECRET,
            &[
                ("grant_type", "password"),
                ("username", "ada@example.edu"),
                ("password", "long enough pw"),
            ],
        )
        .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "unauthorized_client").await;
}

#[tokio::test]
async fn unsupported_grant_type() {
    let app = app_with_clients().await;
    let response = app
        .post_token(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", "x"),
        ])
        .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "unsupported_grant_type").await;
}

#[tokio::test]
async fn invalid_scope_beyond_what_is_allowed() {
    let app = app_with_clients().await;
    let response = app
        .post_token_basic(
            "reporting",
            SECRET,
            &[
                ("grant_type", "client_credentials"),
                ("scope", "billing:write"),
            ],
        )
        .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_scope").await;
    let response = app
        .post_token(&[
            ("grant_type", "password"),
            ("client_id", "spa"),
            ("username", "ada@example.edu"),
            ("password", "long enough pw"),
            ("scope", "admin"),
        ])
        .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_scope").await;
}

#[tokio::test]
async fn a_throttled_password_grant_is_429_with_retry_after() {
    let app = app_with_clients().await;
    let wrong = [
        ("grant_type", "password"),
        ("client_id", "spa"),
        ("username", "ada@example.edu"),
        ("password", "wrong password"),
    ];
    for _ in 0..5 {
        let response = app.post_token(&wrong).await;
        assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    }
    let response = app.post_token(&wrong).await;
    assert_eq!(response.headers()["retry-after"], "30");
    assert_oauth_error(response, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
}

#[tokio::test]
async fn a_one_megabyte_form_is_413_in_the_oauth_error_format() {
    let app = app_with_clients().await;
    let huge = "p".repeat(1024 * 1024);
    let response = app
        .post_token(&[
            ("grant_type", "password"),
            ("client_id", "spa"),
            ("username", "ada@example.edu"),
            ("password", &huge),
        ])
        .await;
    assert_oauth_error(response, StatusCode::PAYLOAD_TOO_LARGE, "invalid_request").await;
}

#[tokio::test]
async fn parameters_that_are_not_utf8_are_invalid_request_not_mangled() {
    let app = app_with_clients().await;
    let response = app
        .client
        .post(app.url("/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=password&client_id=spa&username=ada%40example.edu&password=%FF%FE")
        .send()
        .await
        .unwrap();
    let body = assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("UTF-8"),
        "{body}"
    );
}
