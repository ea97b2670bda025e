//! `[routes.cors]` through a served gateway: preflights answered without the backend, the
//! policy's headers on allowed origins' answers (refusals included), none for other origins,
//! `Vary: Origin` on every answer of the route.

use crate::helpers::{Echo, TestGateway, assert_problem, bearer, route, test_config, token};
use gateway::config::{AuthMode, CorsConfig, RouteConfig};
use reqwest::Method;
use shared::Role;

const SHOP: &str = "https://shop.example.edu";

async fn gateway() -> TestGateway {
    let echo = Echo::spawn().await;
    let mut config = test_config(echo.addr).await;
    config.routes.push(RouteConfig {
        cors: Some(CorsConfig {
            allow_origins: vec![SHOP.into(), "http://localhost:3000".into()],
            allow_methods: vec!["GET".into(), "PUT".into()],
            allow_headers: vec!["Authorization".into(), "Content-Type".into()],
            expose_headers: vec!["X-Request-Id".into()],
            allow_credentials: true,
            max_age_s: 600,
        }),
        methods: vec!["GET".into(), "PUT".into(), "POST".into()],
        ..route("shop", "/api/shop", "users", AuthMode::Required)
    });
    TestGateway::serve_with(echo, config).await
}

fn preflight(
    gw: &TestGateway,
    origin: &str,
    method: &str,
    headers: &str,
) -> reqwest::RequestBuilder {
    gw.http
        .request(Method::OPTIONS, gw.url("/api/shop/cart"))
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header("access-control-request-headers", headers)
}

fn cors_headers(headers: &reqwest::header::HeaderMap) -> Vec<String> {
    headers
        .keys()
        .filter(|n| n.as_str().starts_with("access-control-"))
        .map(|n| n.to_string())
        .collect()
}

#[tokio::test]
async fn an_allowed_preflight_is_answered_by_the_gateway_without_a_token_or_the_backend() {
    let gw = gateway().await;
    let response = preflight(&gw, SHOP, "PUT", "authorization, content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let h = response.headers();
    assert_eq!(h["access-control-allow-origin"], SHOP);
    assert_eq!(h["access-control-allow-methods"], "GET, PUT");
    assert_eq!(
        h["access-control-allow-headers"],
        "authorization, content-type"
    );
    assert_eq!(h["access-control-allow-credentials"], "true");
    assert_eq!(h["access-control-max-age"], "600");
    assert!(h["vary"].to_str().unwrap().contains("origin"));
    assert!(
        gw.echo.seen().is_empty(),
        "the backend saw {:?}",
        gw.echo.seen()
    );
}

#[tokio::test]
async fn a_disallowed_origins_preflight_is_refused_with_no_cors_header() {
    let gw = gateway().await;
    for (origin, method, headers, detail) in [
        (
            "https://evil.example",
            "GET",
            "authorization",
            "origin is not allowed",
        ),
        (
            "https://shop.example.edu.evil.example",
            "GET",
            "authorization",
            "origin is not allowed",
        ),
        ("null", "GET", "authorization", "origin is not allowed"),
        (SHOP, "POST", "authorization", "method is not allowed"),
        (
            SHOP,
            "PUT",
            "authorization, x-admin",
            "header is not allowed",
        ),
    ] {
        let response = preflight(&gw, origin, method, headers)
            .send()
            .await
            .unwrap();
        let h = response.headers().clone();
        assert!(cors_headers(&h).is_empty(), "{origin}: {h:?}");
        assert!(h.get("www-authenticate").is_none());
        let body = assert_problem(response, 403, "cors_refused").await;
        assert!(body["detail"].as_str().unwrap().contains(detail), "{body}");
    }
    // A method the route does not answer at all: 405, as for any request, and no CORS header.
    let response = preflight(&gw, SHOP, "DELETE", "authorization")
        .send()
        .await
        .unwrap();
    assert!(cors_headers(response.headers()).is_empty());
    assert_problem(response, 405, "method_not_allowed").await;
    assert!(
        gw.echo.seen().is_empty(),
        "the backend saw {:?}",
        gw.echo.seen()
    );
}

#[tokio::test]
async fn answers_carry_the_policy_for_allowed_origins_only_errors_included() {
    let gw = gateway().await;
    let student = bearer(&token(Role::Student));
    let allowed = gw
        .get("/api/shop/cart")
        .header("origin", SHOP)
        .header("authorization", &student)
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), 200);
    let h = allowed.headers();
    assert_eq!(h["access-control-allow-origin"], SHOP);
    assert_eq!(h["access-control-allow-credentials"], "true");
    assert_eq!(h["access-control-expose-headers"], "x-request-id");
    assert_eq!(h["vary"], "origin");

    // A refusal is readable by the page too: it says why.
    let refused = gw
        .get("/api/shop/cart")
        .header("origin", SHOP)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.headers()["access-control-allow-origin"], SHOP);
    assert_problem(refused, 401, "token_missing").await;

    // Another origin: the request runs (CORS guards the page's reader), with no CORS header.
    let other = gw
        .get("/api/shop/cart")
        .header("origin", "https://evil.example")
        .header("authorization", &student)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
    assert!(
        cors_headers(other.headers()).is_empty(),
        "{:?}",
        other.headers()
    );
    assert_eq!(other.headers()["vary"], "origin");
}

#[tokio::test]
async fn a_route_without_cors_is_unchanged_and_forwards_options() {
    let gw = gateway().await;
    let response = gw
        .http
        .request(Method::OPTIONS, gw.url("/api/public/x"))
        .header("origin", SHOP)
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "forwarded as any OPTIONS");
    assert!(cors_headers(response.headers()).is_empty());
    assert!(response.headers().get("vary").is_none());
    assert_eq!(gw.echo.seen(), ["OPTIONS /x"]);
}
