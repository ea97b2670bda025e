use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn registering_returns_201_with_a_student_and_no_secret() {
    let app = spawn_app().await;
    let response = app
        .post_register("  Ada@Example.EDU ", "long enough pw", "Ada Lovelace")
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["email"], "ada@example.edu");
    assert_eq!(body["name"], "Ada Lovelace");
    assert_eq!(body["role"], "STUDENT");
    assert!(body["id"].as_str().is_some_and(|id| !id.is_empty()));
    let fields: Vec<_> = body.as_object().unwrap().keys().cloned().collect();
    assert_eq!(fields, ["email", "id", "name", "role"]);
}

#[tokio::test]
async fn a_duplicate_email_is_409_email_taken_whatever_its_case() {
    let app = spawn_app().await;
    app.register("ada@example.edu", "long enough pw", "Ada")
        .await;
    let response = app
        .post_register("ADA@example.edu", "another password", "Ada 2")
        .await;
    assert_problem(response, StatusCode::CONFLICT, "email_taken").await;
}

#[tokio::test]
async fn the_stored_password_is_an_argon2id_hash_with_owasp_parameters() {
    let app = spawn_app().await;
    app.register("ada@example.edu", "long enough pw", "Ada")
        .await;
    let user = app
        .state
        .store
        .user_by_email("ada@example.edu")
        .await
        .unwrap()
        .unwrap();
    assert!(
        user.password_hash
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{}",
        user.password_hash
    );
    assert!(!user.password_hash.contains("long enough pw"));
}

#[tokio::test]
async fn invalid_fields_are_422_naming_the_problem() {
    let app = spawn_app().await;
    let cases = [
        ("not-an-email", "long enough pw", "Ada", "invalid_email"),
        ("ada@example.edu", "k7#q", "Ada", "password_too_short"),
        ("ada@example.edu", "long enough pw", "   ", "invalid_name"),
        (
            "ada@example.edu",
            "long enough pw",
            &"x".repeat(101),
            "invalid_name",
        ),
        (
            "ada@example.edu",
            &"p".repeat(1025),
            "Ada",
            "password_too_long",
        ),
    ];
    for (email, password, name, reason) in cases {
        let response = app.post_register(email, password, name).await;
        let body = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, reason).await;
        assert!(
            !body.to_string().contains(password),
            "the password was echoed"
        );
    }
}

#[tokio::test]
async fn a_one_megabyte_password_is_413_problem_json_and_quick() {
    let app = spawn_app().await;
    let huge = "p".repeat(1024 * 1024);
    let started = std::time::Instant::now();
    let response = app
        .post_json(
            "/auth/register",
            &json!({"email": "ada@example.edu", "password": huge, "name": "Ada"}),
        )
        .await;
    assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large").await;
    let response = app
        .post_json(
            "/auth/login",
            &json!({"email": "ada@example.edu", "password": huge}),
        )
        .await;
    assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large").await;
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}
