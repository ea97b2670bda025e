//! The lecture's story, end to end through the gateway: log in, read the token, use it, tamper
//! with it.

use crate::helpers::{Service, TestDemo, assert_problem, decode_parts, with_payload};

#[tokio::test]
async fn a_login_returns_a_token_shaped_like_the_lectures() {
    let demo = TestDemo::start().await;
    let body = demo.login("student@example.edu", "student123").await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert!(
        body["refresh_token"]
            .as_str()
            .is_some_and(|t| t.len() >= 43)
    );

    let (header, payload) = decode_parts(body["access_token"].as_str().unwrap());
    assert_eq!(header, serde_json::json!({"alg": "HS256", "typ": "JWT"}));
    assert_eq!(payload["sub"], "1905551042");
    assert_eq!(payload["name"], "I Wayan Sudarma");
    assert_eq!(payload["role"], "STUDENT");
    let exp = payload["exp"].as_u64().unwrap();
    let iat = payload["iat"].as_u64().unwrap();
    assert_eq!(exp - iat, 900);
    for claim in ["iss", "aud", "jti"] {
        assert!(payload[claim].is_string(), "missing {claim}: {payload}");
    }
}

#[tokio::test]
async fn student_gets_403_on_the_user_list_and_admin_gets_200() {
    let demo = TestDemo::start().await;
    let student = demo.student_token().await;
    let response = demo.get("/api/users", &student).await;
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert_problem(response, 403, "role_required").await;

    let admin = demo.admin_token().await;
    let response = demo.get("/api/users", &admin).await;
    assert_eq!(response.status(), 200);
    let users: serde_json::Value = response.json().await.unwrap();
    assert!(
        users.as_array().is_some_and(|list| list.len() >= 2),
        "{users}"
    );
}

#[tokio::test]
async fn editing_the_role_from_student_to_admin_gets_401() {
    let demo = TestDemo::start().await;
    let token = demo.student_token().await;
    let (_, mut payload) = decode_parts(&token);
    payload["role"] = "ADMIN".into();
    let tampered = with_payload(&token, &payload);

    let response = demo.get("/api/users", &tampered).await;
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\""),
        "{challenge}"
    );
    assert_problem(response, 401, "bad_signature").await;
}

#[tokio::test]
async fn the_profile_and_invoices_come_from_the_backends_through_one_address() {
    let demo = TestDemo::start().await;
    let token = demo.student_token().await;

    let me: serde_json::Value = demo
        .get("/api/users/me", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["id"], "1905551042");
    assert_eq!(me["email"], "student@example.edu");
    assert_eq!(me["role"], "STUDENT");

    let response = demo.get("/api/billing/invoices", &token).await;
    assert_eq!(response.status(), 200);
    let invoices: serde_json::Value = response.json().await.unwrap();
    let invoices = invoices.as_array().expect("a list of invoices");
    assert!(!invoices.is_empty());
    assert!(invoices.iter().all(|i| i["user_id"] == "1905551042"));
}

#[tokio::test]
async fn a_backend_reached_directly_with_a_forged_identity_header_answers_401() {
    let demo = TestDemo::start().await;
    for (service, path) in [
        (Service::Users, "/users/me"),
        (Service::Billing, "/billing/invoices"),
    ] {
        let response = demo
            .client
            .get(demo.direct(service, path))
            .header("X-User-Id", "1000000001")
            .header("X-User-Role", "ADMIN")
            .send()
            .await
            .unwrap();
        assert_problem(response, 401, "token_missing").await;
    }
}
