//! Teaching toggles on the billing routes.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;
use shared::service_kit::{
    FaultInjector, Toggles,
    toggles::{RecordingSleeper, ScriptedDice, TokioSleeper},
};
use std::{sync::Arc, time::Duration};

#[tokio::test]
async fn error_rate_one_fails_every_business_route_but_not_the_probes() {
    let mut config = config(true);
    config.toggles = Toggles {
        latency_ms: 0,
        error_rate: 1.0,
    };
    let app = spawn(config, TODAY, None).await;
    for path in ["/billing/invoices", "/billing/summary"] {
        let response = app.get(path, Some(&student())).await;
        assert_problem(
            response,
            StatusCode::SERVICE_UNAVAILABLE,
            "injected_failure",
        )
        .await;
    }
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
    assert_eq!(app.get("/readyz", None).await.status(), StatusCode::OK);

    // The teacher switches it off again.
    let response = app
        .send_json(
            reqwest::Method::PUT,
            "/admin/toggles",
            &admin(),
            &json!({"latency_ms": 0, "error_rate": 0.0}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = app.get("/billing/invoices", Some(&student())).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_roll_below_the_rate_fails_and_one_above_passes() {
    let dice = Arc::new(ScriptedDice::new(vec![0.29, 0.31]));
    let toggles = Toggles {
        latency_ms: 0,
        error_rate: 0.3,
    };
    let injector = FaultInjector::with_parts(toggles, dice, Arc::new(TokioSleeper));
    let app = spawn(config(true), TODAY, Some(injector)).await;
    let first = app.get("/billing/invoices", Some(&student())).await;
    assert_problem(first, StatusCode::SERVICE_UNAVAILABLE, "injected_failure").await;
    let second = app.get("/billing/invoices", Some(&student())).await;
    assert_eq!(second.status(), StatusCode::OK);
}

#[tokio::test]
async fn latency_set_by_an_admin_delays_business_requests() {
    let sleeper = Arc::new(RecordingSleeper::default());
    let injector = FaultInjector::with_parts(
        Toggles::default(),
        Arc::new(shared::service_kit::toggles::ThreadRngDice),
        sleeper.clone(),
    );
    let app = spawn(config(true), TODAY, Some(injector)).await;
    let response = app
        .send_json(
            reqwest::Method::PUT,
            "/admin/toggles",
            &admin(),
            &json!({"latency_ms": 1200, "error_rate": 0.0}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    app.get_json("/billing/summary", &student()).await;
    app.get("/healthz", None).await;
    assert_eq!(
        *sleeper.0.lock().unwrap(),
        vec![Duration::from_millis(1200)]
    );
}

#[tokio::test]
async fn a_student_may_not_read_or_change_the_toggles() {
    let app = spawn_demo().await;
    let response = app.get("/admin/toggles", Some(&student())).await;
    assert_problem(response, StatusCode::FORBIDDEN, "role_required").await;
    let response = app
        .send_json(
            reqwest::Method::PUT,
            "/admin/toggles",
            &student(),
            &json!({"latency_ms": 0, "error_rate": 1.0}),
        )
        .await;
    assert_problem(response, StatusCode::FORBIDDEN, "role_required").await;
}
