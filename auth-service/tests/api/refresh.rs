use crate::helpers::*;
use auth_service::refresh::hash_token;
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;

#[tokio::test]
async fn refresh_rotates_the_pair() {
    let app = spawn_app().await;
    app.register("ada@example.edu", "long enough pw", "Ada")
        .await;
    let first = app.login("ada@example.edu", "long enough pw").await;
    let response = app.post_refresh(&first.refresh_token).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    let second_refresh = body["refresh_token"].as_str().unwrap();
    assert_ne!(second_refresh, first.refresh_token);
    let claims = hs256_verifier()
        .verify(body["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(claims.email.as_deref(), Some("ada@example.edu"));
    // The next one works too.
    let response = app.post_refresh(second_refresh).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_reused_refresh_token_is_401_and_revokes_the_whole_family() {
    let app = spawn_app().await;
    app.register("ada@example.edu", "long enough pw", "Ada")
        .await;
    let first = app.login("ada@example.edu", "long enough pw").await;
    let second = tokens(app.post_refresh(&first.refresh_token).await).await;

    // The first token again: someone holds a copy.
    let response = app.post_refresh(&first.refresh_token).await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "refresh_token_reused").await;

    // The newer token of the same family is dead too.
    let response = app.post_refresh(&second.refresh_token).await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "refresh_token_revoked").await;

    // Another session of the same user is untouched.
    let other = app.login("ada@example.edu", "long enough pw").await;
    assert_eq!(
        app.post_refresh(&other.refresh_token).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_expired_refresh_token_is_401() {
    let app = spawn_app().await;
    app.register("ada@example.edu", "long enough pw", "Ada")
        .await;
    let pair = app.login("ada@example.edu", "long enough pw").await;
    app.clock.advance(Duration::from_secs(7 * 24 * 3600));
    let response = app.post_refresh(&pair.refresh_token).await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "refresh_token_expired").await;
}

#[tokio::test]
async fn a_refresh_token_still_works_just_before_it_expires() {
    let app = spawn_app().await;
    app.register("ada@example.edu", "long enough pw", "Ada")
        .await;
    let pair = app.login("ada@example.edu", "long enough pw").await;
    app.clock.advance(Duration::from_secs(7 * 24 * 3600 - 1));
    assert_eq!(
        app.post_refresh(&pair.refresh_token).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_unknown_refresh_token_is_401() {
    let app = spawn_app().await;
    let response = app.post_refresh("not-a-token-we-issued").await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
}

#[tokio::test]
async fn refresh_tokens_are_stored_only_as_sha256_hashes() {
    let app = spawn_app().await;
    app.register("ada@example.edu", "long enough pw", "Ada")
        .await;
    let pair = app.login("ada@example.edu", "long enough pw").await;
    let store = &app.state.store;
    assert!(
        store
            .refresh_by_hash(&pair.refresh_token)
            .await
            .unwrap()
            .is_none()
    );
    let record = store
        .refresh_by_hash(&hash_token(&pair.refresh_token))
        .await
        .unwrap()
        .expect("stored under its hash");
    assert_eq!(record.token_hash.len(), 64);
    assert!(!record.family_id.is_empty());
}
