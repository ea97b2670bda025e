//! Teaching toggles: latency and injected failures on business routes only, changed by ADMIN.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use shared::service_kit::{FaultInjector, Toggles};
use std::time::Duration;

#[tokio::test]
async fn toggles_are_off_by_default() {
    let app = spawn_demo().await;
    let response = app.get("/admin/toggles", Some(&token(&ADMIN))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"latency_ms": 0, "error_rate": 0.0}));
}

#[tokio::test]
async fn error_rate_one_from_config_fails_business_routes_with_503() {
    let mut config = config(true);
    config.toggles = Toggles {
        latency_ms: 0,
        error_rate: 1.0,
    };
    let app = spawn(config, None).await;

    let response = app.get("/users/me", Some(&token(&STUDENT))).await;
    assert_eq!(response.headers()["retry-after"], "1");
    assert_problem(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "injected_failure",
    )
    .await;

    // Probes and the admin endpoint are not affected: the teacher can still switch it off.
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
    assert_eq!(app.get("/readyz", None).await.status(), StatusCode::OK);
    let response = app.get("/admin/toggles", Some(&token(&ADMIN))).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_admin_switches_failures_on_and_off_at_run_time() {
    let app = spawn_demo().await;
    let admin = token(&ADMIN);
    let student = token(&STUDENT);

    let response = app
        .put_json(
            "/admin/toggles",
            &admin,
            &json!({"latency_ms": 0, "error_rate": 1.0}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"latency_ms": 0, "error_rate": 1.0}));
    let response = app.get("/users/me", Some(&student)).await;
    assert_problem(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "injected_failure",
    )
    .await;

    app.put_json(
        "/admin/toggles",
        &admin,
        &json!({"latency_ms": 0, "error_rate": 0.0}),
    )
    .await;
    let response = app.get("/users/me", Some(&student)).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn latency_is_applied_to_business_routes_only() {
    let (injector, sleeper) = recording_injector(Toggles::default());
    let app = spawn(config(true), Some(injector)).await;
    let response = app
        .put_json(
            "/admin/toggles",
            &token(&ADMIN),
            &json!({"latency_ms": 250, "error_rate": 0.0}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        sleeper.0.lock().unwrap().is_empty(),
        "/admin is not delayed"
    );

    let response = app.get("/users/me", Some(&token(&STUDENT))).await;
    assert_eq!(response.status(), StatusCode::OK);
    app.get("/healthz", None).await;
    app.get("/readyz", None).await;

    assert_eq!(
        *sleeper.0.lock().unwrap(),
        vec![Duration::from_millis(250)],
        "exactly one business request was delayed, by the configured latency"
    );
}

#[tokio::test]
async fn a_student_may_not_change_the_toggles() {
    let app = spawn_demo().await;
    let response = app
        .put_json(
            "/admin/toggles",
            &token(&STUDENT),
            &json!({"latency_ms": 0, "error_rate": 1.0}),
        )
        .await;
    assert_problem(response, StatusCode::FORBIDDEN, "role_required").await;
    // Nothing changed.
    let response = app.get("/users/me", Some(&token(&STUDENT))).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn out_of_range_toggles_are_422_and_change_nothing() {
    let app = spawn(config(true), Some(FaultInjector::new(Toggles::default()))).await;
    let admin = token(&ADMIN);
    for body in [
        json!({"latency_ms": 0, "error_rate": 1.5}),
        json!({"latency_ms": 600_000, "error_rate": 0.0}),
    ] {
        let response = app.put_json("/admin/toggles", &admin, &body).await;
        assert_problem(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_toggles",
        )
        .await;
    }
    let response = app
        .put_json(
            "/admin/toggles",
            &admin,
            &json!({"latency_ms": -5, "error_rate": 0.0}),
        )
        .await;
    assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    let response = app
        .put_json("/admin/toggles", &admin, &json!({"error_rate": 0.5}))
        .await;
    assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;

    let current: Value = app
        .get("/admin/toggles", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(current, json!({"latency_ms": 0, "error_rate": 0.0}));
}
