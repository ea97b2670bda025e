//! `POST /billing/invoices`: ADMIN only, validated, 201 with a Location that resolves.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn order() -> Value {
    json!({
        "user_id": "1905551042",
        "currency": "USD",
        "lines": [
            {"description": "Laptop stand, aluminium", "quantity": 1, "unit_price_cents": 3999},
            {"description": "HDMI cable, 1 m", "quantity": 2, "unit_price_cents": 650}
        ]
    })
}

#[tokio::test]
async fn an_admin_issues_an_invoice_and_the_customer_sees_it() {
    let app = spawn_demo().await;
    let response = app.post_json("/billing/invoices", &admin(), &order()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let invoice: Value = response.json().await.unwrap();
    let id = invoice["id"].as_str().unwrap();
    assert_eq!(location, format!("invoices/{id}"));
    assert_eq!(invoice["total_cents"], 5299);
    assert_eq!(invoice["status"], "open");
    assert_eq!(invoice["issued_at"], "2026-03-15", "today, from the clock");
    assert_eq!(invoice["due_at"], "2026-04-14", "30 days later by default");
    assert_eq!(
        invoice["number"], "INV-2026-00008",
        "after the 7 seeded ones"
    );

    // The relative Location resolves against the URL we posted to.
    let url = reqwest::Url::parse(&app.url("/billing/invoices"))
        .unwrap()
        .join(&location)
        .unwrap();
    assert_eq!(url.path(), format!("/billing/invoices/{id}"));
    let fetched: Value = app
        .client
        .get(url)
        .bearer_auth(student())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fetched, invoice);
    let list = app.get_json("/billing/invoices", &student()).await;
    assert_eq!(list.as_array().unwrap().len(), 6);
}

#[tokio::test]
async fn dates_and_paid_status_can_be_given() {
    let app = spawn_empty().await;
    let mut body = order();
    body["issued_at"] = json!("2026-01-10");
    body["due_at"] = json!("2026-01-24");
    let response = app.post_json("/billing/invoices", &admin(), &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let invoice: Value = response.json().await.unwrap();
    assert_eq!(
        invoice["status"], "overdue",
        "unpaid and past due on 2026-03-15"
    );

    body["status"] = json!("paid");
    let invoice: Value = app
        .post_json("/billing/invoices", &admin(), &body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(invoice["status"], "paid");
}

#[tokio::test]
async fn a_student_may_not_issue_invoices() {
    let app = spawn_demo().await;
    let response = app
        .post_json("/billing/invoices", &student(), &order())
        .await;
    assert_problem(response, StatusCode::FORBIDDEN, "role_required").await;
    let list = app.get_json("/billing/invoices", &student()).await;
    assert_eq!(list.as_array().unwrap().len(), 5, "nothing was created");
}

#[tokio::test]
async fn every_broken_rule_is_listed_in_one_422() {
    let app = spawn_empty().await;
    let body = json!({
        "user_id": "",
        "currency": "dollars",
        "lines": [
            {"description": "  ", "quantity": 0, "unit_price_cents": -5}
        ],
        "issued_at": "2026-02-10",
        "due_at": "2026-02-01",
        "status": "overdue"
    });
    let response = app.post_json("/billing/invoices", &admin(), &body).await;
    let problem = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let detail = problem["detail"].as_str().unwrap();
    for field in [
        "`user_id`",
        "`currency`",
        "`lines[0].description`",
        "`lines[0].quantity`",
        "`lines[0].unit_price_cents`",
        "`due_at`",
        "`status`",
    ] {
        assert!(detail.contains(field), "{field} missing from: {detail}");
    }
}

#[tokio::test]
async fn an_invoice_needs_at_least_one_line() {
    let app = spawn_empty().await;
    let mut body = order();
    body["lines"] = json!([]);
    let response = app.post_json("/billing/invoices", &admin(), &body).await;
    let problem = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert!(problem["detail"].as_str().unwrap().contains("`lines`"));
}

#[tokio::test]
async fn a_fractional_price_or_unknown_field_is_422_invalid_body() {
    let app = spawn_empty().await;
    let mut body = order();
    body["lines"][0]["unit_price_cents"] = json!(39.99);
    let response = app.post_json("/billing/invoices", &admin(), &body).await;
    assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;

    let mut body = order();
    body["total_cents"] = json!(1);
    let response = app.post_json("/billing/invoices", &admin(), &body).await;
    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    assert!(problem["detail"].as_str().unwrap().contains("total_cents"));
}

#[tokio::test]
async fn malformed_json_is_400_and_an_oversized_body_413() {
    let app = spawn_empty().await;
    let response = app
        .client
        .post(app.url("/billing/invoices"))
        .bearer_auth(admin())
        .header("content-type", "application/json")
        .body("{\"user_id\":")
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::BAD_REQUEST, "malformed_json").await;

    let mut body = order();
    body["lines"][0]["description"] = json!("x".repeat(70 * 1024));
    let response = app.post_json("/billing/invoices", &admin(), &body).await;
    assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large").await;
}
