//! Reading invoices: your own, or any for an ADMIN.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const STUDENT_OVERDUE: &str = "0b8f6c1e-4d2a-4f7b-9c11-5e0a7d3b2003";
const ADMIN_INVOICE: &str = "0b8f6c1e-4d2a-4f7b-9c11-5e0a7d3b1001";

#[tokio::test]
async fn a_student_lists_their_invoices_newest_first_with_every_status() {
    let app = spawn_demo().await;
    let invoices = app.get_json("/billing/invoices", &student()).await;
    let invoices = invoices.as_array().unwrap();
    assert_eq!(invoices.len(), 5);
    assert!(invoices.iter().all(|i| i["user_id"] == "1905551042"));

    let statuses: Vec<&str> = invoices
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["open", "open", "overdue", "paid", "paid"]);
    let issued: Vec<&str> = invoices
        .iter()
        .map(|i| i["issued_at"].as_str().unwrap())
        .collect();
    assert_eq!(
        issued,
        [
            "2026-03-13",
            "2026-03-05",
            "2026-01-29",
            "2025-12-30",
            "2025-11-15"
        ]
    );
}

#[tokio::test]
async fn an_invoice_has_the_documented_shape_and_its_total_adds_up() {
    let app = spawn_demo().await;
    let invoice = app
        .get_json(&format!("/billing/invoices/{STUDENT_OVERDUE}"), &student())
        .await;
    assert_eq!(
        invoice,
        json!({
            "id": STUDENT_OVERDUE,
            "user_id": "1905551042",
            "number": "INV-2026-00003",
            "issued_at": "2026-01-29",
            "due_at": "2026-02-28",
            "status": "overdue",
            "currency": "USD",
            "lines": [
                {"description": "Paperback: Designing Data-Intensive Applications", "quantity": 1, "unit_price_cents": 3450},
                {"description": "Dotted notebook, A5", "quantity": 3, "unit_price_cents": 499}
            ],
            "total_cents": 4947
        })
    );
}

#[tokio::test]
async fn another_users_invoice_is_404_like_a_missing_one() {
    let app = spawn_demo().await;
    let theirs = app
        .get(
            &format!("/billing/invoices/{ADMIN_INVOICE}"),
            Some(&student()),
        )
        .await;
    let theirs = assert_problem(theirs, StatusCode::NOT_FOUND, "invoice_not_found").await;
    assert!(!theirs.to_string().contains("chair"), "nothing of it leaks");
    let missing = app
        .get("/billing/invoices/no-such-invoice", Some(&student()))
        .await;
    let missing = assert_problem(missing, StatusCode::NOT_FOUND, "invoice_not_found").await;
    assert_eq!(theirs["detail"], missing["detail"]);
}

#[tokio::test]
async fn an_admin_reads_anyones_invoice_but_lists_only_their_own() {
    let app = spawn_demo().await;
    let invoice: Value = app
        .get_json(&format!("/billing/invoices/{STUDENT_OVERDUE}"), &admin())
        .await;
    assert_eq!(invoice["user_id"], "1905551042");
    let own = app.get_json("/billing/invoices", &admin()).await;
    assert_eq!(own.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_user_without_invoices_gets_an_empty_list() {
    let app = spawn_empty().await;
    let invoices = app.get_json("/billing/invoices", &student()).await;
    assert_eq!(invoices, json!([]));
}
