//! `GET /billing/summary`: the caller's totals, consistent with their invoice list.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn the_demo_students_summary() {
    let app = spawn_demo().await;
    let summary = app.get_json("/billing/summary", &student()).await;
    assert_eq!(
        summary,
        json!({
            "user_id": "1905551042",
            "currency": "USD",
            "invoice_count": 5,
            "total_cents": 65742,
            "paid_cents": 27997,
            "outstanding_cents": 37745,
            "overdue_count": 1
        })
    );
}

#[tokio::test]
async fn an_unpaid_invoice_becomes_overdue_the_day_after_it_is_due() {
    let clock = clock_on(TODAY);
    let app = spawn_with_clock(config(false), clock.shared(), None).await;
    let body = json!({
        "user_id": "1905551042",
        "currency": "USD",
        "lines": [{"description": "Webcam", "quantity": 1, "unit_price_cents": 5900}],
        "issued_at": "2026-03-01",
        "due_at": "2026-03-15"
    });
    let response = app.post_json("/billing/invoices", &admin(), &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);

    // On the due date itself it is still open.
    let list = app.get_json("/billing/invoices", &student()).await;
    assert_eq!(list[0]["status"], "open");
    let summary = app.get_json("/billing/summary", &student()).await;
    assert_eq!(summary["overdue_count"], 0);

    // One day later, without anything being written, it is overdue.
    clock.advance(Duration::from_secs(24 * 60 * 60)); // 2026-03-16
    let list = app.get_json("/billing/invoices", &student()).await;
    assert_eq!(list[0]["status"], "overdue");
    let summary = app.get_json("/billing/summary", &student()).await;
    assert_eq!(summary["overdue_count"], 1);
    assert_eq!(summary["outstanding_cents"], 5900);
}

#[tokio::test]
async fn another_currency_has_its_own_totals() {
    let app = spawn_demo().await;
    let summary = app
        .get_json("/billing/summary?currency=EUR", &student())
        .await;
    assert_eq!(summary["currency"], "EUR");
    assert_eq!(summary["invoice_count"], 0);
    assert_eq!(summary["total_cents"], 0);

    let body = json!({
        "user_id": "1905551042",
        "currency": "EUR",
        "lines": [{"description": "Train ticket", "quantity": 1, "unit_price_cents": 4590}]
    });
    let response = app.post_json("/billing/invoices", &admin(), &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let summary = app
        .get_json("/billing/summary?currency=EUR", &student())
        .await;
    assert_eq!(summary["invoice_count"], 1);
    assert_eq!(summary["outstanding_cents"], 4590);
    // The USD totals did not move.
    let usd = app.get_json("/billing/summary", &student()).await;
    assert_eq!(usd["total_cents"], 65742);
}

#[tokio::test]
async fn a_malformed_currency_is_400() {
    let app = spawn_demo().await;
    let response = app
        .get("/billing/summary?currency=usd", Some(&student()))
        .await;
    assert_problem(response, StatusCode::BAD_REQUEST, "invalid_query").await;
}

#[tokio::test]
async fn a_user_without_invoices_gets_zeros() {
    let app = spawn_empty().await;
    let summary = app.get_json("/billing/summary", &student()).await;
    assert_eq!(summary["invoice_count"], 0);
    assert_eq!(summary["outstanding_cents"], 0);
}
