//! RFC 7009 revocation and RFC 7662 introspection.

use crate::helpers::*;
use crate::oauth::{SECRET, confidential, public_client};
use auth_service::config::ClientConfig;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

/// Clients: `spa` and `cli` (public; password, refresh_token), `rs` (a resource server:
/// confidential, may introspect), `job` (confidential, may not introspect). One user.
async fn app() -> TestApp {
    let hash = auth_service::passwords::hash(SECRET.into()).await.unwrap();
    let mut config = test_config();
    config.clients = vec![
        public_client("spa", &["password", "refresh_token"]),
        public_client("cli", &["password", "refresh_token"]),
        ClientConfig {
            introspect: true,
            ..confidential("rs", &hash)
        },
        confidential("job", &hash),
    ];
    let app = spawn_app_with(config).await;
    app.register("ada@example.edu", "long enough pw", "Ada")
        .await;
    app
}

async fn spa_tokens(app: &TestApp) -> Tokens {
    tokens(
        app.post_token(&[
            ("grant_type", "password"),
            ("client_id", "spa"),
            ("username", "ada@example.edu"),
            ("password", "long enough pw"),
            ("scope", "profile"),
        ])
        .await,
    )
    .await
}

async fn post_form(app: &TestApp, path: &str, form: &[(&str, &str)]) -> Response {
    app.client
        .post(app.url(path))
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn introspect(app: &TestApp, token: &str) -> Value {
    let response = app
        .client
        .post(app.url("/oauth/introspect"))
        .basic_auth("rs", Some(SECRET))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.json().await.unwrap()
}

async fn revoke(app: &TestApp, client_id: &str, token: &str) -> Response {
    post_form(
        app,
        "/oauth/revoke",
        &[("client_id", client_id), ("token", token)],
    )
    .await
}

#[tokio::test]
async fn introspection_answers_what_a_resource_server_needs_and_no_more() {
    let app = app().await;
    let pair = spa_tokens(&app).await;
    let answer = introspect(&app, &pair.access_token).await;
    assert_eq!(answer["active"], true);
    assert_eq!(answer["client_id"], "spa");
    assert_eq!(answer["scope"], "profile");
    assert_eq!(answer["token_type"], "Bearer");
    assert!(answer["sub"].is_string());
    assert!(answer["exp"].is_u64());
    assert!(answer.get("email").is_none(), "{answer}");
    assert!(!answer.to_string().contains("ada@example.edu"), "{answer}");

    let answer = introspect(&app, &pair.refresh_token).await;
    assert_eq!(answer["active"], true);
    assert_eq!(answer["client_id"], "spa");

    assert_eq!(
        introspect(&app, "not-a-token").await,
        json!({"active": false})
    );
    // An expired access token is inactive.
    app.clock.advance(std::time::Duration::from_secs(900));
    assert_eq!(
        introspect(&app, &pair.access_token).await,
        json!({"active": false})
    );
}

#[tokio::test]
async fn only_confidential_clients_allowed_to_may_introspect() {
    let app = app().await;
    let pair = spa_tokens(&app).await;
    // A public client, or no client: invalid_client.
    let response = post_form(
        &app,
        "/oauth/introspect",
        &[("client_id", "spa"), ("token", &pair.access_token)],
    )
    .await;
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
    let response = post_form(&app, "/oauth/introspect", &[("token", &pair.access_token)]).await;
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
    // A confidential client without `introspect = true`.
    let response = app
        .client
        .post(app.url("/oauth/introspect"))
        .basic_auth("job", Some(SECRET))
        .form(&[("token", pair.access_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_oauth_error(response, StatusCode::FORBIDDEN, "unauthorized_client").await;
    // A missing token.
    let response = app
        .client
        .post(app.url("/oauth/introspect"))
        .basic_auth("rs", Some(SECRET))
        .form(&[("token_type_hint", "access_token")])
        .send()
        .await
        .unwrap();
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
}

#[tokio::test]
async fn revoking_a_refresh_token_revokes_its_family_and_its_access_tokens() {
    let app = app().await;
    let first = spa_tokens(&app).await;
    let second = tokens(
        app.post_token(&[
            ("grant_type", "refresh_token"),
            ("client_id", "spa"),
            ("refresh_token", &first.refresh_token),
        ])
        .await,
    )
    .await;
    let response = revoke(&app, "spa", &second.refresh_token).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    for token in [
        &first.access_token,
        &second.access_token,
        &second.refresh_token,
    ] {
        assert_eq!(introspect(&app, token).await, json!({"active": false}));
    }
    let response = app
        .post_token(&[
            ("grant_type", "refresh_token"),
            ("client_id", "spa"),
            ("refresh_token", &second.refresh_token),
        ])
        .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

#[tokio::test]
async fn revoking_an_access_token_makes_it_inactive() {
    let app = app().await;
    let pair = spa_tokens(&app).await;
    let response = revoke(&app, "spa", &pair.access_token).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        introspect(&app, &pair.access_token).await,
        json!({"active": false})
    );
    // The session itself lives on.
    assert_eq!(introspect(&app, &pair.refresh_token).await["active"], true);
}

#[tokio::test]
async fn a_client_may_revoke_only_its_own_tokens() {
    let app = app().await;
    let pair = spa_tokens(&app).await;
    for token in [&pair.refresh_token, &pair.access_token] {
        let response = revoke(&app, "cli", token).await;
        assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
        assert_eq!(introspect(&app, token).await["active"], true);
    }
    // Without a client at all.
    let response = post_form(&app, "/oauth/revoke", &[("token", &pair.refresh_token)]).await;
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
}

#[tokio::test]
async fn an_unknown_token_is_revoked_all_the_same() {
    let app = app().await;
    let response = revoke(&app, "spa", "never-issued").await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = post_form(&app, "/oauth/revoke", &[("client_id", "spa")]).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
}

#[tokio::test]
async fn logout_and_reuse_detection_make_the_sessions_access_tokens_inactive() {
    let app = app().await;
    // Logout (the JSON API's session).
    let login = app.login("ada@example.edu", "long enough pw").await;
    assert_eq!(introspect(&app, &login.access_token).await["active"], true);
    let response = app
        .post_logout(&login.access_token, &login.refresh_token)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        introspect(&app, &login.access_token).await,
        json!({"active": false})
    );

    // Reuse detection.
    let first = spa_tokens(&app).await;
    let refresh = [
        ("grant_type", "refresh_token"),
        ("client_id", "spa"),
        ("refresh_token", first.refresh_token.as_str()),
    ];
    let second = tokens(app.post_token(&refresh).await).await;
    let response = app.post_token(&refresh).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    assert_eq!(
        introspect(&app, &second.access_token).await,
        json!({"active": false})
    );
}
