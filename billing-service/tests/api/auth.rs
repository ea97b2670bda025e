//! Defence in depth: the token decides who the caller is, never the `X-User-*` headers.

use crate::helpers::*;
use reqwest::StatusCode;
use shared::demo;

#[tokio::test]
async fn a_forged_x_user_id_without_a_token_is_401() {
    let app = spawn_demo().await;
    let response = app
        .client
        .get(app.url("/billing/invoices"))
        .header("X-User-Id", demo::student::ID)
        .header("X-User-Role", "STUDENT")
        .send()
        .await
        .unwrap();
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = assert_problem(response, StatusCode::UNAUTHORIZED, "token_missing").await;
    // No token presented: the bare challenge, no `error` code (RFC 6750 §3.1).
    assert_eq!(challenge, "Bearer realm=\"api\"");
    assert!(!body.to_string().contains("INV-"), "no invoice data leaks");
}

#[tokio::test]
async fn a_forged_x_user_id_does_not_change_whose_invoices_are_shown() {
    let app = spawn_demo().await;
    // The admin's valid token, with a header claiming to be the student.
    let response = app
        .client
        .get(app.url("/billing/invoices"))
        .bearer_auth(admin())
        .header("X-User-Id", demo::student::ID)
        .send()
        .await
        .unwrap();
    let invoices: serde_json::Value = response.json().await.unwrap();
    let invoices = invoices.as_array().unwrap();
    assert_eq!(invoices.len(), 2);
    assert!(invoices.iter().all(|i| i["user_id"] == demo::admin::ID));
}

#[tokio::test]
async fn a_token_with_its_role_edited_to_admin_is_401_bad_signature() {
    let app = spawn_demo().await;
    let forged = tamper_role_to_admin(&student());
    let body = serde_json::json!({
        "user_id": demo::student::ID,
        "currency": "USD",
        "lines": [{"description": "Free money", "quantity": 1, "unit_price_cents": 0}]
    });
    let response = app.post_json("/billing/invoices", &forged, &body).await;
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_problem(response, StatusCode::UNAUTHORIZED, "bad_signature").await;
    assert!(challenge.starts_with("Bearer error=\"invalid_token\""));
}

#[tokio::test]
async fn the_summary_needs_a_token() {
    let app = spawn_demo().await;
    let response = app.get("/billing/summary", Some("not-a-jwt")).await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "token_malformed").await;
}

#[tokio::test]
async fn the_public_demo_secret_with_demo_mode_off_is_refused_at_start() {
    let config = billing_service::Config {
        demo: false,
        auth: Some(shared::VerifierConfig::demo()),
        ..config(false)
    };
    match billing_service::build(config).await {
        Ok(_) => panic!("the billing-service started trusting the public demo secret"),
        Err(error) => assert_refuses_the_public_demo_secret(&format!("{error:#}")),
    }
}
