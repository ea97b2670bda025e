//! Who may read what: own record vs another's, ADMIN vs STUDENT.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::Value;

#[tokio::test]
async fn a_student_reads_their_own_record_by_id() {
    let app = spawn_demo().await;
    let response = app.get("/users/1905551042", Some(&token(&STUDENT))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["name"], "I Wayan Sudarma");
}

#[tokio::test]
async fn a_student_may_not_read_another_record_existing_or_not() {
    let app = spawn_demo().await;
    let student = token(&STUDENT);
    // The admin's record exists, the second id does not: the answer is the same 403, so a
    // student cannot probe which ids exist.
    for id in ["1000000001", "9999999999"] {
        let response = app.get(&format!("/users/{id}"), Some(&student)).await;
        let challenge = response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        let body = assert_problem(response, StatusCode::FORBIDDEN, "not_owner").await;
        assert!(!body.to_string().contains("Ada Admin"));
        assert!(challenge.starts_with("Bearer error=\"insufficient_scope\""));
    }
}

#[tokio::test]
async fn an_admin_reads_any_record() {
    let app = spawn_demo().await;
    let response = app.get("/users/1905551042", Some(&token(&ADMIN))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["email"], "student@example.edu");
}

#[tokio::test]
async fn an_unknown_id_is_404_for_an_admin() {
    let app = spawn_demo().await;
    let response = app.get("/users/9999999999", Some(&token(&ADMIN))).await;
    assert_problem(response, StatusCode::NOT_FOUND, "user_not_found").await;
}

#[tokio::test]
async fn an_admin_lists_every_profile() {
    let app = spawn_demo().await;
    let response = app.get("/users", Some(&token(&ADMIN))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let users: Vec<Value> = response.json().await.unwrap();
    assert_eq!(users.len(), 6, "the demo seeds six profiles");
    let ids: Vec<&str> = users.iter().map(|u| u["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"1905551042") && ids.contains(&"1000000001"));
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted, "the list is ordered by id");
}

#[tokio::test]
async fn a_student_may_not_list_users() {
    let app = spawn_demo().await;
    let response = app.get("/users", Some(&token(&STUDENT))).await;
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_problem(response, StatusCode::FORBIDDEN, "role_required").await;
    assert!(
        challenge.starts_with("Bearer error=\"insufficient_scope\""),
        "{challenge}"
    );
}
