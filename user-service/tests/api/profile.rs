//! `GET`/`PUT /users/me` and `PUT /internal/profiles/{id}`: profiles come from the auth-service's
//! accounts (seeded or provisioned), never from a token; renamed by their owner.

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
async fn a_valid_token_whose_sub_has_no_profile_gets_404() {
    let app = spawn_empty().await;
    let response = app.get("/users/me", Some(&token(&NEWCOMER))).await;
    let body = assert_problem(response, StatusCode::NOT_FOUND, "profile_not_found").await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("never from a token"),
        "{body}"
    );
    // And nothing was stored: a token never creates a profile.
    let admin = User {
        id: "ad",
        name: "Ad",
        email: Some("ad@example.edu"),
        role: Role::Admin,
    };
    provision(&app, &admin).await;
    let list: Value = app
        .get("/users", Some(&token(&admin)))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        !list
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["id"] == NEWCOMER.id),
        "{list}"
    );
}

/// Issue #19: a token signed with the real key but saying `"role":"ADMIN"` for the student's
/// `sub` (a forged token, or a stale one from before a demotion) used to be copied into the
/// stored profile, and every admin then saw the student as ADMIN. The stored profile is the truth.
#[tokio::test]
async fn a_forged_role_token_changes_nothing_stored_and_grants_nothing() {
    let app = spawn_demo().await;
    let forged = token(&User {
        role: Role::Admin,
        name: "Forged Name",
        email: Some("forged@example.edu"),
        ..STUDENT
    });
    // The student's profile, read with the forged token, is what the store says.
    let me: Value = app
        .get("/users/me", Some(&forged))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        me,
        json!({"id": "1905551042", "email": "student@example.edu", "name": "I Wayan Sudarma", "role": "STUDENT"})
    );
    // ADMIN rules read the stored role: the forged token may not list users.
    let response = app.get("/users", Some(&forged)).await;
    assert_problem(response, StatusCode::FORBIDDEN, "role_required").await;
    // And the real admin still sees the student as a STUDENT.
    let list: Value = app
        .get("/users", Some(&token(&ADMIN)))
        .await
        .json()
        .await
        .unwrap();
    let student = list
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == STUDENT.id)
        .unwrap();
    assert_eq!(student["role"], "STUDENT");
    assert_eq!(student["name"], "I Wayan Sudarma");
    assert_eq!(student["email"], "student@example.edu");
}

#[tokio::test]
async fn the_auth_service_provisions_profiles_and_roles_change_only_there() {
    let app = spawn_empty().await;
    let profile = provision(&app, &NEWCOMER).await;
    assert_eq!(
        profile,
        json!({"id": NEWCOMER.id, "email": "putu@example.com", "name": "Putu Newcomer", "role": "STUDENT"})
    );
    let me: Value = app
        .get("/users/me", Some(&token(&NEWCOMER)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me, profile);
    // The account store promotes them: the next provisioning (their next login) says so.
    let promoted = User {
        role: Role::Admin,
        name: "Putu Promoted",
        ..NEWCOMER
    };
    let profile = provision(&app, &promoted).await;
    assert_eq!(profile["role"], "ADMIN");
    assert_eq!(profile["name"], "Putu Promoted");
    // Their old STUDENT token now acts as ADMIN here: the stored role decides.
    let response = app.get("/users", Some(&token(&NEWCOMER))).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_chosen_name_survives_provisioning_but_the_role_follows_the_account() {
    let app = spawn_empty().await;
    provision(&app, &NEWCOMER).await;
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
    let body = provision(&app, &promoted).await;
    assert_eq!(body["name"], "Putu the Great");
    assert_eq!(body["role"], "ADMIN");
}

#[tokio::test]
async fn only_a_service_token_with_the_provisioning_scope_may_provision() {
    let app = spawn_demo().await;
    let body = json!({"email": "x@example.edu", "name": "X", "role": "ADMIN"});
    let put = |token: String| {
        app.client
            .put(app.url("/internal/profiles/1905551042"))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    // A user's token — even an ADMIN's — cannot write a profile here.
    let response = put(token(&ADMIN)).await.unwrap();
    assert_problem(
        response,
        StatusCode::FORBIDDEN,
        "provisioning_scope_required",
    )
    .await;
    // Nor a machine client without the scope (the demo's reporting job has `billing:read`).
    let mut reporting = claims(&User {
        id: "reporting-job",
        name: "reporting-job",
        email: None,
        role: Role::Service,
    });
    reporting.scope = Some("billing:read".into());
    let response = put(sign(&reporting)).await.unwrap();
    assert_problem(
        response,
        StatusCode::FORBIDDEN,
        "provisioning_scope_required",
    )
    .await;
    // Without a token: 401.
    let response = app
        .client
        .put(app.url("/internal/profiles/1905551042"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // The student is still a student.
    let me: Value = app
        .get("/users/me", Some(&token(&STUDENT)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "STUDENT");
    // Bad records are refused with a reason: an empty name, a role no person has.
    for record in [
        json!({"email": "x@example.edu", "name": "", "role": "STUDENT"}),
        json!({"email": "x@example.edu", "name": "X", "role": "SERVICE"}),
    ] {
        let response = app
            .client
            .put(app.url("/internal/profiles/42"))
            .bearer_auth(provisioning_token())
            .json(&record)
            .send()
            .await
            .unwrap();
        assert_problem(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
    }
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
