//! On routes with `oauth_errors = true` (the demo's `/api/oauth/*`), the errors the gateway
//! itself makes carry RFC 6749's `error` and `error_description` besides the problem+json
//! members, so an OAuth client library does not take them for a token.

use crate::{helpers::*, ratelimit::limited_route};
use gateway::config::{AuthMode, RouteConfig};
use serde_json::Value;

/// The test configuration plus OAuth-style routes to the absent upstream and a rate-limited
/// one, and the same absent upstream without the option.
async fn oauth_gateway(serve: bool) -> TestGateway {
    let echo = Echo::spawn().await;
    let mut config = test_config(echo.addr).await;
    let oauth = |route: RouteConfig| RouteConfig {
        oauth_errors: true,
        ..route
    };
    config.routes.extend([
        oauth(route(
            "oauth-down",
            "/api/oauth-down",
            "down",
            AuthMode::Public,
        )),
        oauth(limited_route(
            "oauth-limited",
            "/api/oauth-limited",
            AuthMode::Public,
            &["one"],
        )),
        oauth(route(
            "oauth-echo",
            "/api/oauth-echo",
            "users",
            AuthMode::Public,
        )),
    ]);
    config.rate_limits.push(gateway::config::RateLimitConfig {
        name: "one".into(),
        rate: 1,
        burst: Some(1),
        per: Some(gateway::config::Per::Hour),
        key: vec![gateway::config::KeyPart::Ip],
        ..config.rate_limits[0].clone()
    });
    if serve {
        TestGateway::serve_with(echo, config).await
    } else {
        TestGateway::spawn_with(echo, config).await
    }
}

/// The problem's members are all there, and RFC 6749's two beside them.
async fn assert_oauth_problem(
    response: reqwest::Response,
    status: u16,
    reason: &str,
    error: &str,
) -> Value {
    let body = assert_problem(response, status, reason).await;
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["error_description"], body["detail"], "{body}");
    assert!(
        body["type"].is_string() && body["title"].is_string(),
        "{body}"
    );
    body
}

#[tokio::test]
async fn an_unreachable_auth_service_is_a_server_error_to_an_oauth_client() {
    // Over a socket, with a real HTTP client, as Authlib would send it.
    let gw = oauth_gateway(true).await;
    let response = gw
        .http
        .post(gw.url("/api/oauth-down/token"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_oauth_problem(response, 502, "upstream_unavailable", "server_error").await;

    // The same failure on a route without the option: problem+json alone.
    let response = gw.http.get(gw.url("/api/down/x")).send().await.unwrap();
    let body = assert_problem(response, 502, "upstream_unavailable").await;
    assert!(body.get("error").is_none(), "{body}");
    assert!(body.get("error_description").is_none(), "{body}");
}

#[tokio::test]
async fn a_rate_limited_token_request_is_temporarily_unavailable_with_retry_after() {
    let gw = oauth_gateway(false).await;
    let first = gw.oneshot(gw.get("/api/oauth-limited/token")).await;
    assert_eq!(first.status(), 200);
    let response = gw.oneshot(gw.get("/api/oauth-limited/token")).await;
    assert!(response.headers().contains_key("retry-after"));
    assert_oauth_problem(response, 429, "rate_limited", "temporarily_unavailable").await;
}

#[tokio::test]
async fn a_body_too_large_or_a_wrong_method_is_an_invalid_request() {
    let gw = oauth_gateway(false).await;
    let response = gw
        .oneshot(
            gw.http
                .post(gw.url("/api/oauth-echo/token"))
                .body(vec![b'a'; MAX_BODY as usize + 1]),
        )
        .await;
    assert_oauth_problem(response, 413, "body_too_large", "invalid_request").await;
    assert!(gw.echo.seen().is_empty());
}

#[tokio::test]
async fn the_demo_marks_its_oauth_routes_and_no_other() {
    let config = gateway::Config::demo();
    let marked: Vec<&str> = config
        .routes
        .iter()
        .filter(|r| r.oauth_errors)
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(
        marked,
        ["oauth", "oauth-token", "oauth-revoke", "oauth-introspect"]
    );
    // And the gateway answers a demo OAuth route's own failure in OAuth's words: here the
    // auth-service is not running at all.
    let echo = Echo::spawn().await;
    let mut config = test_config(echo.addr).await;
    let absent = absent_addr().await;
    for upstream in &mut config.upstreams {
        if upstream.name == "auth" {
            upstream.targets = vec![format!("http://{absent}")];
        }
    }
    let gw = TestGateway::spawn_with(echo, config).await;
    let response = gw
        .oneshot(
            gw.http
                .post(gw.url("/api/oauth/token"))
                .form(&[("grant_type", "password")]),
        )
        .await;
    assert_oauth_problem(response, 502, "upstream_unavailable", "server_error").await;
}
