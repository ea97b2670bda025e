use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;
use shared::Role;
use std::time::{Duration, Instant};

#[tokio::test]
async fn registering_returns_201_with_the_email_and_nothing_else() {
    let app = spawn_app().await;
    let response = app
        .post_register("  Ada@Example.EDU ", "long enough pw", "Ada Lovelace")
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"status": "registered", "email": "ada@example.edu"})
    );
    let user = app
        .state
        .store
        .user_by_email("ada@example.edu")
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(
        (user.name.as_str(), user.role),
        ("Ada Lovelace", Role::Student)
    );
}

/// The response to a registration must not tell an attacker which e-mails have accounts: a taken
/// e-mail (in any case) gets the same status, headers that matter and body as a new one, and the
/// existing account is left as it was.
#[tokio::test]
async fn a_taken_email_is_answered_exactly_like_a_new_one_and_changes_nothing() {
    let app = spawn_app().await;
    let original = app
        .register("ada@example.edu", "long enough pw", "Ada")
        .await;

    let taken = app
        .post_register("ADA@example.edu", "another password", "Ada 2")
        .await;
    let new = app
        .post_register("BOB@example.edu", "another password", "Bob")
        .await;
    assert_eq!(taken.status(), StatusCode::CREATED);
    assert_eq!(taken.status(), new.status());
    assert_eq!(
        taken.headers()["content-type"],
        new.headers()["content-type"]
    );
    let taken: serde_json::Value = taken.json().await.unwrap();
    let new: serde_json::Value = new.json().await.unwrap();
    assert_eq!(
        taken,
        json!({"status": "registered", "email": "ada@example.edu"})
    );
    assert_eq!(
        new,
        json!({"status": "registered", "email": "bob@example.edu"})
    );

    // The first account is untouched: same id, same name, its own password still works.
    let stored = app
        .state
        .store
        .user_by_email("ada@example.edu")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((stored.id, stored.name), (original.id, original.name));
    app.login("ada@example.edu", "long enough pw").await;
    let response = app.post_login("ada@example.edu", "another password").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

/// Both outcomes do one argon2 hash, so the time does not tell them apart either (without the
/// hash-first order a taken e-mail would answer in microseconds).
#[tokio::test]
async fn a_taken_email_takes_as_long_as_a_new_one() {
    let app = spawn_app().await;
    app.register("ada@example.edu", "long enough pw", "Ada")
        .await;
    async fn median(app: &TestApp, emails: impl Fn(usize) -> String) -> Duration {
        let mut times = Vec::new();
        for i in 0..7 {
            let started = Instant::now();
            let response = app
                .post_register(&emails(i), "long enough pw", "Someone")
                .await;
            times.push(started.elapsed());
            assert_eq!(response.status(), StatusCode::CREATED);
        }
        times.sort();
        times[times.len() / 2]
    }
    let _ = app
        .post_register("warm@example.edu", "long enough pw", "W")
        .await;
    let taken = median(&app, |_| "ada@example.edu".to_owned()).await;
    let new = median(&app, |i| format!("new{i}@example.edu")).await;
    let ratio = taken.as_secs_f64() / new.as_secs_f64();
    assert!(
        (0.25..4.0).contains(&ratio),
        "taken e-mail {taken:?} vs new e-mail {new:?}"
    );
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
