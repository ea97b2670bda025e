use crate::helpers::*;
use reqwest::StatusCode;

#[tokio::test]
async fn logout_revokes_the_family_and_answers_204() {
    let app = spawn_app().await;
    app.register("ada@example.edu", "long enough pw", "Ada")
        .await;
    let first = app.login("ada@example.edu", "long enough pw").await;
    let second = tokens(app.post_refresh(&first.refresh_token).await).await;

    let response = app
        .post_logout(&second.access_token, &second.refresh_token)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    let response = app.post_refresh(&second.refresh_token).await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "refresh_token_revoked").await;
}

#[tokio::test]
async fn logout_needs_a_bearer_token() {
    let app = spawn_app().await;
    app.register("ada@example.edu", "long enough pw", "Ada")
        .await;
    let pair = app.login("ada@example.edu", "long enough pw").await;
    let response = app
        .client
        .post(app.url("/auth/logout"))
        .json(&serde_json::json!({"refresh_token": pair.refresh_token}))
        .send()
        .await
        .unwrap();
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    assert_problem(response, StatusCode::UNAUTHORIZED, "token_missing").await;
    let response = app.post_logout("not.a.jwt", &pair.refresh_token).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // The session is still alive.
    assert_eq!(
        app.post_refresh(&pair.refresh_token).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn nobody_can_log_out_someone_elses_session() {
    let app = spawn_app().await;
    app.register("ada@example.edu", "long enough pw", "Ada")
        .await;
    app.register("bob@example.edu", "long enough pw", "Bob")
        .await;
    let ada = app.login("ada@example.edu", "long enough pw").await;
    let bob = app.login("bob@example.edu", "long enough pw").await;
    let response = app.post_logout(&bob.access_token, &ada.refresh_token).await;
    assert_problem(response, StatusCode::FORBIDDEN, "refresh_token_not_yours").await;
    assert_eq!(
        app.post_refresh(&ada.refresh_token).await.status(),
        StatusCode::OK
    );
}
