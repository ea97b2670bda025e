//! Scopes through the real services: the demo's `reporting-job` client (`client_credentials`,
//! scope `billing:read`) reads billing and nothing else; the users keep every route they had.

use crate::helpers::{TestDemo, assert_problem, decode_parts};
use serde_json::Value;

async fn reporting_job_token(demo: &TestDemo) -> String {
    let response = demo
        .client
        .post(demo.gateway("/api/oauth/token"))
        .basic_auth("reporting-job", Some("reporting-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["scope"], "billing:read");
    body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn reporting_job_reads_billing_only_and_creates_no_profile() {
    let demo = TestDemo::start().await;
    let token = reporting_job_token(&demo).await;
    let (_, payload) = decode_parts(&token);
    assert_eq!(payload["role"], "SERVICE");

    let response = demo.get("/api/billing/invoices", &token).await;
    assert_eq!(response.status(), 200);

    for (path, scopes) in [("/api/users/me", "profile"), ("/api/dashboard", "profile")] {
        let response = demo.get(path, &token).await;
        let challenge = response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            challenge.starts_with(&format!(
                "Bearer error=\"insufficient_scope\", scope=\"{scopes}\""
            )),
            "{path}: {challenge}"
        );
        assert_problem(response, 403, "insufficient_scope").await;
    }

    // The user-service never saw it: the admin's list holds no profile for the client.
    let admin = demo.admin_token().await;
    let users: Value = demo.get("/api/users", &admin).await.json().await.unwrap();
    assert!(
        !users.to_string().contains("reporting-job"),
        "a profile was created: {users}"
    );
}

#[tokio::test]
async fn students_and_admins_keep_their_routes() {
    let demo = TestDemo::start().await;
    let student = demo.student_token().await;
    for path in [
        "/api/users/me",
        "/api/billing/invoices",
        "/api/billing/summary",
        "/api/dashboard",
    ] {
        assert_eq!(demo.get(path, &student).await.status(), 200, "{path}");
    }
    let admin = demo.admin_token().await;
    assert_eq!(demo.get("/api/users", &admin).await.status(), 200);
}
