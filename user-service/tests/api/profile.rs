//! `GET`/`PUT /users/me`: profiles created from the token, synced, renamed.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use shared::Role;

#[tokio::test]
async fn me_returns_the_seeded_demo_student() {
    let app = spawn_demo().await;
    let response = app.get("/users/me", Some(&token(&STUDENT))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({
            "id": "1905551042",
            "email": "student@example.edu",
            "name": "I Wayan Sudarma",
            "role": "STUDENT"
        })
    );
}

#[tokio::test]
async fn a_first_time_caller_gets_a_profile_from_their_token() {
    let app = spawn_empty().await;
    let response = app.get("/users/me", Some(&token(&NEWCOMER))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"id": NEWCOMER.id, "email": "putu@example.com", "name": "Putu Newcomer", "role": "STUDENT"})
    );
    // And it is stored: an admin now sees it in the list.
    let list: Value = app
        .get("/users", Some(&token(&ADMIN)))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|u| u["id"] == NEWCOMER.id)
    );
}

#[tokio::test]
async fn role_and_name_follow_later_tokens() {
    let app = spawn_empty().await;
    app.get("/users/me", Some(&token(&NEWCOMER))).await;

    let promoted = User {
        role: Role::Admin,
        name: "Putu Promoted",
        ..NEWCOMER
    };
    let body: Value = app
        .get("/users/me", Some(&token(&promoted)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["role"], "ADMIN");
    assert_eq!(body["name"], "Putu Promoted");
}

#[tokio::test]
async fn a_chosen_name_survives_later_tokens_but_the_role_still_syncs() {
    let app = spawn_empty().await;
    let response = app
        .put_json(
            "/users/me",
            &token(&NEWCOMER),
            &json!({"name": "  Putu the Great  "}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["name"], "Putu the Great", "the name is trimmed");

    let promoted = User {
        role: Role::Admin,
        ..NEWCOMER
    };
    let body: Value = app
        .get("/users/me", Some(&token(&promoted)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["name"], "Putu the Great");
    assert_eq!(body["role"], "ADMIN");
}

#[tokio::test]
async fn rename_validates_the_name() {
    let app = spawn_demo().await;
    let student = token(&STUDENT);
    for (name, words) in [
        (json!("   "), "empty"),
        (json!("x".repeat(101)), "at most 100"),
        (json!("two\nlines"), "control"),
    ] {
        let response = app
            .put_json("/users/me", &student, &json!({ "name": name }))
            .await;
        let body = assert_problem(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert!(body["detail"].as_str().unwrap().contains(words), "{body}");
    }
    // 100 characters is allowed, even when they are multi-byte.
    let response = app
        .put_json("/users/me", &student, &json!({ "name": "é".repeat(100) }))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn rename_refuses_extra_fields_such_as_role() {
    let app = spawn_demo().await;
    let response = app
        .put_json(
            "/users/me",
            &token(&STUDENT),
            &json!({"name": "Wayan", "role": "ADMIN"}),
        )
        .await;
    let body = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    assert!(body["detail"].as_str().unwrap().contains("role"), "{body}");
    let me: Value = app
        .get("/users/me", Some(&token(&STUDENT)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "STUDENT");
    assert_eq!(me["name"], "I Wayan Sudarma");
}

#[tokio::test]
async fn rename_with_a_malformed_body_is_a_problem_not_a_500() {
    let app = spawn_demo().await;
    let response = app
        .client
        .put(app.url("/users/me"))
        .bearer_auth(token(&STUDENT))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::BAD_REQUEST, "malformed_json").await;
}

#[tokio::test]
async fn a_service_token_has_no_profile() {
    let app = spawn_empty().await;
    let machine = User {
        id: "reporting-job",
        name: "reporting job",
        email: None,
        role: Role::Service,
    };
    let response = app.get("/users/me", Some(&token(&machine))).await;
    assert_problem(response, StatusCode::FORBIDDEN, "user_token_required").await;
}
