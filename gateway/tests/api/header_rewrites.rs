//! `[routes.headers]` through a served gateway: what the backend receives and what the client
//! reads, with the gateway's own headers out of reach.

use crate::helpers::{Echo, TestGateway, bearer, parts, route, test_config, token};
use gateway::config::{AuthMode, HeaderRewrites, HeadersConfig, RouteConfig};
use shared::{Role, demo};

#[tokio::test]
async fn request_and_response_headers_are_removed_set_and_added() {
    let echo = Echo::spawn().await;
    let mut config = test_config(echo.addr).await;
    config.routes.push(RouteConfig {
        headers: Some(HeadersConfig {
            request: HeaderRewrites {
                remove: vec!["Cookie".into()],
                set: [("X-Api-Version".into(), "2".into())].into(),
                add: [("X-Tag".into(), "gateway".into())].into(),
            },
            response: HeaderRewrites {
                remove: vec!["X-Echo".into()],
                set: [("X-Frame-Options".into(), "DENY".into())].into(),
                add: Default::default(),
            },
        }),
        ..route("rewritten", "/api/rewritten", "users", AuthMode::Required)
    });
    let gw = TestGateway::serve_with(echo, config).await;
    let response = gw
        .get("/api/rewritten/x")
        .header("authorization", bearer(&token(Role::Student)))
        .header("cookie", "session=secret")
        .header("x-api-version", "1")
        .header("x-tag", "client")
        // A client's identity headers are still replaced by the verified ones.
        .header("x-user-id", "forged")
        .send()
        .await
        .unwrap();
    let (status, headers, body) = parts(response).await;
    assert_eq!(status, 200, "{body}");
    let got = &body["headers"];
    assert!(got.get("cookie").is_none(), "{got}");
    assert_eq!(got["x-api-version"], serde_json::json!(["2"]));
    assert_eq!(got["x-tag"], serde_json::json!(["client", "gateway"]));
    assert_eq!(got["x-user-id"], serde_json::json!([demo::student::ID]));
    assert!(got.get("x-request-id").is_some());
    assert!(headers.get("x-echo").is_none(), "{headers:?}");
    assert_eq!(headers["x-frame-options"], "DENY");
}

#[tokio::test]
async fn a_rewrite_of_an_owned_header_keeps_the_gateway_from_starting() {
    let echo = Echo::spawn().await;
    let mut config = test_config(echo.addr).await;
    config.routes.push(RouteConfig {
        headers: Some(HeadersConfig {
            request: HeaderRewrites {
                set: [("X-User-Role".into(), "ADMIN".into())].into(),
                ..Default::default()
            },
            response: HeaderRewrites::default(),
        }),
        ..route("escalate", "/api/escalate", "users", AuthMode::Required)
    });
    let error = gateway::build(config).await.err().expect("refused");
    let message = format!("{error:#}");
    assert!(
        message.contains("`X-User-Role` is set by the gateway itself on the request"),
        "{message}"
    );
}
