//! Identity and forwarding headers a client must not choose (DESIGN.md "Identity and trust"):
//! the gateway removes every client-sent `X-User-*`, replaces forwarding headers from untrusted
//! peers, removes hop-by-hop headers and those `Connection` names, and does not let `Connection`
//! remove what it sets itself (RFC 9110 §7.6.1).

use crate::helpers::{TestGateway, bearer, parts, token};
use crate::paths::{send_raw, status_and_body};
use shared::{Role, demo};

#[tokio::test]
async fn spoofed_identity_and_forwarding_headers_never_reach_the_backend() {
    let gw = TestGateway::spawn().await;
    // (header, value a client sends, what the backend must see instead; None: absent)
    let cases: &[(&str, &str, Option<&str>, &str)] = &[
        (
            "x-user-id",
            "someone-else",
            Some(demo::student::ID),
            "identity spoofing (DESIGN: trust rules)",
        ),
        (
            "x-user-role",
            "ADMIN",
            Some("STUDENT"),
            "privilege escalation by header",
        ),
        (
            "x-user-name",
            "Mallory",
            Some(demo::student::NAME),
            "identity spoofing",
        ),
        (
            "x-user-email",
            "admin@example.edu",
            None,
            "a gateway-reserved prefix, not just the known names",
        ),
        (
            "X-USER-ID",
            "case-variant",
            Some(demo::student::ID),
            "RFC 9110 §5.1 (names are case-insensitive)",
        ),
        (
            "x-forwarded-for",
            "10.0.0.1",
            Some("127.0.0.1"),
            "RFC 7239 §8.3 (spoofed client address)",
        ),
        ("forwarded", "for=10.0.0.1;proto=https", None, "RFC 7239 §4"),
    ];
    for (name, value, expected, stands_for) in cases {
        let response = gw
            .oneshot(
                gw.get("/api/users/me")
                    .header("authorization", bearer(&token(Role::Student)))
                    .header(*name, *value),
            )
            .await;
        let (status, _, body) = parts(response).await;
        assert_eq!(status, 200, "{name} ({stands_for}): {body}");
        let seen = &body["headers"][name.to_ascii_lowercase()];
        match expected {
            Some(expected) => assert_eq!(
                seen,
                &serde_json::json!([expected]),
                "{name} ({stands_for})"
            ),
            None if *name == "forwarded" => {
                let values = seen.as_array().expect("the gateway sets Forwarded");
                assert!(
                    values
                        .iter()
                        .all(|v| !v.as_str().unwrap().contains("10.0.0.1")),
                    "{name} ({stands_for}): {seen}"
                );
            }
            None => assert!(seen.is_null(), "{name} ({stands_for}): {seen}"),
        }
    }
}

#[tokio::test]
async fn connection_cannot_remove_the_identity_the_gateway_sets() {
    let gw = TestGateway::spawn().await;
    // RFC 9110 §7.6.1: a proxy removes the headers `Connection` names. Listing the gateway's own
    // headers there must not strip them after the gateway has set them.
    let response = gw
        .oneshot(
            gw.get("/api/users/me")
                .header("authorization", bearer(&token(Role::Student)))
                .header(
                    "connection",
                    "x-user-id, x-user-role, x-request-id, x-custom",
                )
                .header("x-custom", "dropped"),
        )
        .await;
    let (status, _, body) = parts(response).await;
    assert_eq!(status, 200, "{body}");
    let headers = &body["headers"];
    assert_eq!(headers["x-user-id"][0], demo::student::ID);
    assert_eq!(headers["x-user-role"][0], "STUDENT");
    assert!(headers["x-request-id"][0].is_string(), "{headers}");
    // What `Connection` names of the client's own is removed, and so is `Connection` itself.
    assert!(headers.get("x-custom").is_none(), "{headers}");
    assert!(headers.get("connection").is_none(), "{headers}");
}

#[tokio::test]
async fn identity_headers_are_stripped_on_public_routes_too() {
    // No token, so the gateway sets no identity: a client's copies must still go, or a backend
    // trusting `X-User-Id` on a public route would believe them.
    let gw = TestGateway::spawn().await;
    let response = gw
        .oneshot(
            gw.get("/api/public/x")
                .header("x-user-id", demo::admin::ID)
                .header("X-USER-ROLE", "ADMIN"),
        )
        .await;
    let (status, _, body) = parts(response).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["headers"].get("x-user-id").is_none(), "{body}");
    assert!(body["headers"].get("x-user-role").is_none(), "{body}");
}

#[tokio::test]
async fn hop_by_hop_headers_and_those_connection_names_never_reach_the_backend() {
    // RFC 9110 §7.6.1: hop-by-hop fields are for one connection only. Over a raw socket, so
    // hyper's client does not tidy them up first. `Proxy-Authorization` would hand a proxy
    // credential to the backend (RFC 9110 §11.7.2).
    let gw = TestGateway::serve().await;
    let request = b"GET /api/public/x HTTP/1.1\r\nHost: gw\r\nConnection: close, X-Drop-Me\r\n\
X-Drop-Me: secret\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nUpgrade: websocket\r\n\
Proxy-Authorization: Basic dTpw\r\nProxy-Connection: keep-alive\r\nX-Keep-Me: 1\r\n\r\n";
    let (status, body) = status_and_body(&send_raw(&gw, request).await);
    assert_eq!(status, 200, "{body}");
    let headers = &body["headers"];
    for gone in [
        "x-drop-me",
        "keep-alive",
        "te",
        "upgrade",
        "proxy-authorization",
        "proxy-connection",
    ] {
        assert!(
            headers.get(gone).is_none(),
            "{gone} reached the backend: {headers}"
        );
    }
    assert_eq!(headers["x-keep-me"][0], "1");
}
