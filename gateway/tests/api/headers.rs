//! What the backend receives: the forwarding and request-id headers, written exactly. (What it
//! never receives — forged identity, a client-chosen address, hop-by-hop headers — is the
//! adversarial suite's, `tests/adversarial/identity.rs`.)

use crate::helpers::*;

#[tokio::test]
async fn forwarding_headers_are_set_and_a_client_chain_is_replaced() {
    let gw = TestGateway::spawn().await;
    let (_, _, body) = parts(
        gw.oneshot(
            gw.get("/api/public/x")
                .header("x-forwarded-for", "6.6.6.6")
                .header("forwarded", "for=6.6.6.6")
                .header("x-real-ip", "6.6.6.6")
                .header("x-forwarded-proto", "https"),
        )
        .await,
    )
    .await;
    let h = &body["headers"];
    let gw_host = gw.authority();
    assert_eq!(h["x-forwarded-for"], serde_json::json!(["127.0.0.1"]));
    assert_eq!(
        h["forwarded"],
        serde_json::json!([format!("for=127.0.0.1;proto=http;host=\"{gw_host}\"")])
    );
    assert_eq!(h["x-forwarded-proto"], serde_json::json!(["http"]));
    assert_eq!(h["x-forwarded-host"], serde_json::json!([gw_host]));
    assert!(h.get("x-real-ip").is_none());
    // The upstream sees its own authority as Host.
    assert_eq!(h["host"], serde_json::json!([gw.echo.addr.to_string()]));
}

#[tokio::test]
async fn a_trusted_proxys_chain_is_extended() {
    let echo = Echo::spawn().await;
    let mut config = test_config(echo.addr).await;
    config.trusted_proxies = vec!["127.0.0.0/8".into()];
    let gw = TestGateway::spawn_with(echo, config).await;
    let (_, _, body) = parts(
        gw.oneshot(
            gw.get("/api/public/x")
                .header("x-forwarded-for", "203.0.113.9")
                .header("x-forwarded-proto", "https"),
        )
        .await,
    )
    .await;
    let h = &body["headers"];
    assert_eq!(
        h["x-forwarded-for"],
        serde_json::json!(["203.0.113.9, 127.0.0.1"])
    );
    assert_eq!(h["x-forwarded-proto"], serde_json::json!(["https"]));
}

#[tokio::test]
async fn a_request_id_is_generated_forwarded_and_returned() {
    let gw = TestGateway::spawn().await;
    let response = gw.oneshot(gw.get("/api/public/x")).await;
    let returned = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let (_, _, body) = parts(response).await;
    assert!(!returned.is_empty());
    assert_eq!(
        body["headers"]["x-request-id"],
        serde_json::json!([returned])
    );
}

#[tokio::test]
async fn a_well_formed_client_request_id_is_kept_and_a_bad_one_replaced() {
    let gw = TestGateway::spawn().await;
    let response = gw
        .oneshot(
            gw.get("/api/public/x")
                .header("x-request-id", "client-id-123"),
        )
        .await;
    assert_eq!(response.headers()["x-request-id"], "client-id-123");
    let (_, _, body) = parts(response).await;
    assert_eq!(
        body["headers"]["x-request-id"],
        serde_json::json!(["client-id-123"])
    );

    let response = gw
        .oneshot(
            gw.get("/api/public/x")
                .header("x-request-id", "bad id with spaces"),
        )
        .await;
    assert_ne!(response.headers()["x-request-id"], "bad id with spaces");
}

#[tokio::test]
async fn hop_by_hop_response_headers_are_dropped() {
    let gw = TestGateway::spawn().await;
    let response = gw.oneshot(gw.get("/api/public/x")).await;
    assert_eq!(response.headers()["x-echo"], "yes");
    assert!(response.headers().get("keep-alive").is_none());
    assert!(response.headers().get("proxy-authenticate").is_none());
}
