//! Defence in depth: the service checks the token itself and never trusts `X-User-*` headers.

use crate::helpers::*;
use jsonwebtoken::{EncodingKey, Header, encode};
use reqwest::StatusCode;

fn challenge(response: &reqwest::Response) -> String {
    response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_forged_x_user_id_without_a_token_is_401() {
    let app = spawn_demo().await;
    let response = app
        .client
        .get(app.url("/users/me"))
        .header("X-User-Id", "1000000001")
        .header("X-User-Role", "ADMIN")
        .header("X-User-Name", "Ada Admin")
        .send()
        .await
        .unwrap();
    let www = challenge(&response);
    let body = assert_problem(response, StatusCode::UNAUTHORIZED, "token_missing").await;
    // No token presented: the bare challenge, no `error` code (RFC 6750 §3.1).
    assert_eq!(www, "Bearer realm=\"api\"");
    assert!(!body.to_string().contains("Ada Admin"));
}

#[tokio::test]
async fn forged_headers_do_not_upgrade_a_valid_student_token() {
    let app = spawn_demo().await;
    let response = app
        .client
        .get(app.url("/users"))
        .bearer_auth(token(&STUDENT))
        .header("X-User-Id", "1000000001")
        .header("X-User-Role", "ADMIN")
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::FORBIDDEN, "role_required").await;
}

#[tokio::test]
async fn a_token_with_its_role_edited_to_admin_is_401_bad_signature() {
    let app = spawn_demo().await;
    let forged = tamper_role_to_admin(&token(&STUDENT));
    let response = app.get("/users", Some(&forged)).await;
    let www = challenge(&response);
    assert_problem(response, StatusCode::UNAUTHORIZED, "bad_signature").await;
    assert!(www.starts_with("Bearer error=\"invalid_token\""), "{www}");
}

#[tokio::test]
async fn a_token_signed_with_another_secret_is_401() {
    let app = spawn_demo().await;
    let foreign = encode(
        &Header::default(),
        &claims(&ADMIN),
        &EncodingKey::from_secret(b"some-other-secret-that-is-long-enough-for-hs256").unwrap(),
    )
    .unwrap();
    let response = app.get("/users/me", Some(&foreign)).await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "bad_signature").await;
}

#[tokio::test]
async fn an_expired_token_is_401_token_expired() {
    let app = spawn_demo().await;
    let mut expired = claims(&STUDENT);
    expired.iat -= 7_200;
    expired.exp = expired.iat + 600;
    let response = app.get("/users/me", Some(&sign(&expired))).await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "token_expired").await;
}

#[tokio::test]
async fn the_admin_toggle_endpoints_need_a_token_too() {
    let app = spawn_demo().await;
    let response = app.get("/admin/toggles", None).await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "token_missing").await;
}

#[tokio::test]
async fn the_public_demo_secret_with_demo_mode_off_is_refused_at_start() {
    let config = user_service::Config {
        demo: false,
        auth: Some(shared::VerifierConfig::demo()),
        ..config(false)
    };
    match user_service::build(config).await {
        Ok(_) => panic!("the user-service started trusting the public demo secret"),
        Err(error) => assert_refuses_the_public_demo_secret(&format!("{error:#}")),
    }
}
