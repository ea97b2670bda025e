//! What the backend receives: identity, forwarding and request-id headers, and what it never
//! receives: forged identity, a client-chosen address, hop-by-hop headers.

use crate::helpers::*;
use shared::{Role, demo};

#[tokio::test]
async fn forged_identity_headers_never_reach_the_backend() {
    let gw = TestGateway::spawn().await;
    // With a valid STUDENT token, claiming to be the admin.
    let (status, _, body) = parts(
        gw.oneshot(
            gw.get("/api/users/me")
                .header("authorization", bearer(&token(Role::Student)))
                .header("X-User-Id", demo::admin::ID)
                .header("X-User-Role", "ADMIN")
                .header("x-user-email", "admin@example.edu"),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    let h = &body["headers"];
    assert_eq!(h["x-user-id"], serde_json::json!([demo::student::ID]));
    assert_eq!(h["x-user-role"], serde_json::json!(["STUDENT"]));
    assert_eq!(h["x-user-name"], serde_json::json!([demo::student::NAME]));
    assert!(h.get("x-user-email").is_none());
    // The token itself goes along so the backend can verify it again.
    assert!(
        h["authorization"][0]
            .as_str()
            .unwrap()
            .starts_with("Bearer ")
    );

    // Without a token, on a public route: stripped all the same.
    let (_, _, body) = parts(
        gw.oneshot(
            gw.get("/api/public/x")
                .header("X-User-Id", demo::admin::ID)
                .header("X-USER-ROLE", "ADMIN"),
        )
        .await,
    )
    .await;
    assert!(body["headers"].get("x-user-id").is_none(), "{body}");
    assert!(body["headers"].get("x-user-role").is_none(), "{body}");
}

#[tokio::test]
async fn a_client_cannot_make_the_gateway_drop_the_identity_it_sets() {
    let gw = TestGateway::spawn().await;
    // `Connection` names hop-by-hop headers a proxy must remove; naming the identity headers
    // there must remove only the client's copies, never the verified ones.
    let (status, _, body) = parts(
        gw.oneshot(
            gw.get("/api/users/me")
                .header("authorization", bearer(&token(Role::Student)))
                .header("connection", "x-user-id, x-user-role, x-custom")
                .header("x-custom", "dropped"),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    let h = &body["headers"];
    assert_eq!(h["x-user-id"], serde_json::json!([demo::student::ID]));
    assert_eq!(h["x-user-role"], serde_json::json!(["STUDENT"]));
    assert!(h.get("x-custom").is_none(), "{body}");
    assert!(h.get("connection").is_none(), "{body}");
}

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
