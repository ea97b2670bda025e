//! The stored profile is the source of truth (issue #19): a token says who calls, the
//! user-service's store says what is true. Profiles come from the auth-service's accounts —
//! seeded, provisioned at registration, re-provisioned at each login — and never from a token.

use crate::helpers::{TestDemo, assert_problem};
use api_gateway_pattern::Service;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};
use shared::demo;

/// A token signed with the demo's real key (as anyone who knows the public demo secret, or a
/// stale token from before a demotion, would have) that says the student is an ADMIN.
fn forged_admin_token_for_the_student(issuer: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({
        "sub": demo::student::ID,
        "name": "Forged Admin",
        "role": "ADMIN",
        "email": "forged@example.edu",
        "exp": now + 300,
        "iat": now,
        "iss": issuer,
        "aud": demo::AUDIENCE,
        "jti": "00000000-0000-4000-8000-000000000019",
    });
    signed(&claims)
}

/// `claims` signed with the demo's HS256 secret.
fn signed(claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::default(),
        claims,
        &EncodingKey::from_secret(demo::HS256_SECRET.as_bytes()).unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn a_forged_role_token_does_not_change_the_stored_profile() {
    let demo = TestDemo::start().await;
    // (The issuer the demo's verifiers expect is its own public URL.)
    let forged = forged_admin_token_for_the_student(&demo.demo.public_url);

    // The forged token is genuine as far as signatures go: the gateway lets it through…
    let me = demo.get("/api/users/me", &forged).await;
    assert_eq!(me.status(), 200);
    let me: Value = me.json().await.unwrap();
    // …but the profile is what the store says, not what the token says.
    assert_eq!(
        me,
        json!({"id": demo::student::ID, "email": demo::student::EMAIL, "name": demo::student::NAME, "role": "STUDENT"})
    );
    // The gateway's role check passes on the token's word; the user-service checks the stored
    // role and refuses.
    let response = demo.get("/api/users", &forged).await;
    assert_problem(response, 403, "role_required").await;

    // What every admin sees: the student is still a STUDENT, with their own name and e-mail.
    let admin = demo.admin_token().await;
    let users: Vec<Value> = demo.get("/api/users", &admin).await.json().await.unwrap();
    let student = users
        .iter()
        .find(|u| u["id"] == demo::student::ID)
        .expect("the student is listed");
    assert_eq!(
        student,
        &json!({"id": demo::student::ID, "email": demo::student::EMAIL, "name": demo::student::NAME, "role": "STUDENT"})
    );
}

#[tokio::test]
async fn a_valid_token_for_an_account_with_no_profile_gets_404() {
    let demo = TestDemo::start().await;
    let token = forged_admin_token_for_the_student(&demo.demo.public_url);
    let (_, mut claims) = crate::helpers::decode_parts(&token);
    claims["sub"] = json!("7777777777");
    claims["role"] = json!("STUDENT");
    let token = signed(&claims);
    let response = demo.get("/api/users/me", &token).await;
    let body = assert_problem(response, 404, "profile_not_found").await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("never from a token"),
        "{body}"
    );
}

#[tokio::test]
async fn a_registered_student_has_a_profile_and_a_lost_one_comes_back_at_the_next_login() {
    let mut demo = TestDemo::start().await;
    let response = demo
        .client
        .post(demo.gateway("/api/auth/register"))
        .json(&json!({"email": "ketut@example.edu", "password": "a long passphrase", "name": "Ketut"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    // Provisioned before the 201: the very first request finds the profile.
    let pair = demo.login("ketut@example.edu", "a long passphrase").await;
    let token = pair["access_token"].as_str().unwrap().to_owned();
    let me: Value = demo
        .get("/api/users/me", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "ketut@example.edu");
    assert_eq!(me["role"], "STUDENT");

    // The user-service restarts with an empty in-memory store: the profile is gone…
    demo.demo.stop_service(Service::Users).await.unwrap();
    demo.demo.restart_service(Service::Users).await.unwrap();
    let response = demo.get("/api/users/me", &token).await;
    assert_problem(response, 404, "profile_not_found").await;
    // …and the next login provisions it again from the account.
    let pair = demo.login("ketut@example.edu", "a long passphrase").await;
    let token = pair["access_token"].as_str().unwrap();
    let me: Value = demo.get("/api/users/me", token).await.json().await.unwrap();
    assert_eq!(me["name"], "Ketut");
}
