//! Security headers: `nosniff` and `Referrer-Policy` on every answer, `Cache-Control: no-store`
//! on personal answers (routes and aggregates that look at a token, by default) and on every
//! error the gateway makes, a public route's backend keeping its own `Cache-Control`, and the
//! per-route `cache` option overriding the default both ways.

use crate::helpers::{Echo, TestGateway, bearer, parts, test_config, token};
use axum::{Router, response::IntoResponse};
use gateway::{
    Config,
    config::{AuthMode, CacheMode},
};
use serde_json::json;
use shared::Role;
use std::net::SocketAddr;

/// A backend that says its answers may be cached for ten minutes (the mistake a backend makes
/// with personal data), and sets its own `Referrer-Policy` under `/policy`.
async fn cacheable_backend() -> SocketAddr {
    let app = Router::new().fallback(|uri: http::Uri| async move {
        let mut response = (
            [("cache-control", "public, max-age=600")],
            axum::Json(json!({"id": "u1", "path": uri.path()})),
        )
            .into_response();
        if uri.path().contains("/policy") {
            response
                .headers_mut()
                .insert("referrer-policy", "same-origin".parse().unwrap());
        }
        response
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// The test configuration with every upstream at the cacheable backend, adjusted by `adjust`.
async fn config(adjust: impl FnOnce(&mut Config)) -> (Echo, Config) {
    let echo = Echo::spawn().await;
    let mut config = test_config(cacheable_backend().await).await;
    adjust(&mut config);
    (echo, config)
}

fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn a_personal_answer_is_no_store_over_a_socket_whatever_the_backend_said() {
    let (echo, config) = config(|_| {}).await;
    let gw = TestGateway::serve_with(echo, config).await;
    let response = gw
        .get("/api/users/me")
        .header("authorization", bearer(&token(Role::Student)))
        .send()
        .await
        .unwrap();
    let (status, headers, body) = parts(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["path"], "/users/me", "the backend answered");
    assert_eq!(header(&headers, "cache-control"), Some("no-store"));
    assert_eq!(headers.get_all("cache-control").iter().count(), 1);
    assert_eq!(header(&headers, "x-content-type-options"), Some("nosniff"));
    assert_eq!(header(&headers, "referrer-policy"), Some("no-referrer"));
}

#[tokio::test]
async fn invoices_summary_and_the_dashboard_are_no_store() {
    let (echo, config) = config(|_| {}).await;
    let gw = TestGateway::spawn_with(echo, config).await;
    for path in [
        "/api/billing/invoices",
        "/api/billing/summary",
        "/api/dashboard",
        "/api/optional/x",
    ] {
        let response = gw
            .oneshot(
                gw.get(path)
                    .header("authorization", bearer(&token(Role::Student))),
            )
            .await;
        let (status, headers, body) = parts(response).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(
            header(&headers, "cache-control"),
            Some("no-store"),
            "{path}"
        );
        assert_eq!(
            header(&headers, "x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_public_route_keeps_the_backends_cache_control_and_referrer_policy() {
    let (echo, config) = config(|_| {}).await;
    let gw = TestGateway::spawn_with(echo, config).await;
    let (status, headers, _) = parts(gw.oneshot(gw.get("/.well-known/jwks.json")).await).await;
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "cache-control"),
        Some("public, max-age=600")
    );
    assert_eq!(header(&headers, "x-content-type-options"), Some("nosniff"));
    let (_, headers, _) = parts(gw.oneshot(gw.get("/api/public/policy")).await).await;
    assert_eq!(header(&headers, "referrer-policy"), Some("same-origin"));
}

#[tokio::test]
async fn the_gateways_own_errors_are_no_store_and_nosniff() {
    let (echo, config) = config(|_| {}).await;
    let gw = TestGateway::spawn_with(echo, config).await;
    let cases = [
        (gw.get("/api/users/me"), 401),
        (gw.get("/api/nowhere"), 404),
        (gw.get("/api/users/%2e%2e%2fadmin"), 400),
        (
            gw.get("/api/users")
                .header("authorization", bearer(&token(Role::Student))),
            403,
        ),
        // A public route's refusal too: an error is about one request.
        (gw.get("/api/down/x"), 502),
    ];
    for (request, expected) in cases {
        let (status, headers, body) = parts(gw.oneshot(request).await).await;
        assert_eq!(status, expected, "{body}");
        assert_eq!(
            header(&headers, "content-type"),
            Some("application/problem+json")
        );
        assert_eq!(
            header(&headers, "cache-control"),
            Some("no-store"),
            "{body}"
        );
        assert_eq!(header(&headers, "x-content-type-options"), Some("nosniff"));
    }
}

#[tokio::test]
async fn the_gateways_own_endpoints_are_nosniff() {
    let (echo, config) = config(|_| {}).await;
    let gw = TestGateway::spawn_with(echo, config).await;
    let (status, headers, _) = parts(gw.oneshot(gw.get("/healthz")).await).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "x-content-type-options"), Some("nosniff"));
}

#[tokio::test]
async fn the_cache_option_overrides_the_default_both_ways() {
    let (echo, config) = config(|config| {
        for route in &mut config.routes {
            match route.name.as_str() {
                // A signed-in route whose backend knows its answers are the same for everyone.
                "billing" => route.cache = Some(CacheMode::Backend),
                // A public route whose answers must never be kept.
                "well-known" => route.cache = Some(CacheMode::NoStore),
                _ => {}
            }
        }
        config.aggregates[0].cache = Some(CacheMode::Backend);
        assert_eq!(config.aggregates[0].auth, AuthMode::Required);
    })
    .await;
    let gw = TestGateway::spawn_with(echo, config).await;
    let student = bearer(&token(Role::Student));
    let (status, headers, _) = parts(
        gw.oneshot(
            gw.get("/api/billing/invoices")
                .header("authorization", &student),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "cache-control"),
        Some("public, max-age=600")
    );
    let (_, headers, _) = parts(gw.oneshot(gw.get("/.well-known/jwks.json")).await).await;
    assert_eq!(header(&headers, "cache-control"), Some("no-store"));
    // An aggregate's answer is the gateway's: `backend` leaves the aggregate's own choice, which
    // lets a browser keep it (revalidating) — what `no-store`, the default, forbids.
    let (status, headers, body) = parts(
        gw.oneshot(gw.get("/api/dashboard").header("authorization", &student))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(header(&headers, "cache-control"), Some("private, no-cache"));
    assert_eq!(header(&headers, "x-content-type-options"), Some("nosniff"));
}

#[test]
fn explain_route_names_the_cache_mode() {
    let config = Config::demo();
    let (me, _) = gateway::explain::explain(&config, "GET", "/api/users/me");
    assert!(
        me.contains("cache        no-store: Cache-Control: no-store on every answer"),
        "{me}"
    );
    let (dashboard, _) = gateway::explain::explain(&config, "GET", "/api/dashboard");
    assert!(dashboard.contains("cache        no-store"), "{dashboard}");
    let (jwks, _) = gateway::explain::explain(&config, "GET", "/.well-known/jwks.json");
    assert!(
        jwks.contains("cache        backend: the backend's Cache-Control passes"),
        "{jwks}"
    );
}

#[test]
fn the_admin_route_report_shows_each_cache_mode() {
    let loaded = gateway::admin::report::loaded(&Config::demo());
    let route = |name: &str| {
        loaded["routes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap()["cache"]
            .clone()
    };
    assert_eq!(route("users"), "no-store");
    assert_eq!(route("register"), "backend");
    assert_eq!(loaded["aggregates"][0]["cache"], "no-store");
}

#[tokio::test]
async fn a_named_replica_says_so_on_every_answer_over_a_socket() {
    let (echo, config) = config(|c| c.server.served_by = Some("gateway-a".into())).await;
    let gw = TestGateway::serve_with(echo, config).await;
    let cases = [
        // Proxied, the gateway's own refusal, its own endpoint.
        (
            gw.get("/api/users/me")
                .header("authorization", bearer(&token(Role::Student))),
            200,
        ),
        (gw.get("/api/users/me"), 401),
        (gw.get("/healthz"), 200),
    ];
    for (request, want) in cases {
        let (status, headers, body) = parts(request.send().await.unwrap()).await;
        assert_eq!(status, want, "{body}");
        assert_eq!(header(&headers, "x-served-by"), Some("gateway-a"), "{body}");
    }
}

#[tokio::test]
async fn an_unnamed_gateway_sends_no_x_served_by() {
    let (echo, config) = config(|_| {}).await;
    let gw = TestGateway::spawn_with(echo, config).await;
    let response = gw
        .oneshot(
            gw.get("/api/users/me")
                .header("authorization", bearer(&token(Role::Student))),
        )
        .await;
    let (status, headers, _) = parts(response).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "x-served-by"), None);
}

#[tokio::test]
async fn a_replica_name_that_is_no_header_value_is_refused_at_start() {
    let (_echo, config) = config(|c| c.server.served_by = Some("gateway\na".into())).await;
    let Err(error) = gateway::Gateway::new(&config) else {
        panic!("a replica name with a newline was accepted");
    };
    assert!(
        format!("{error:#}").contains("served_by"),
        "the message names the key: {error:#}"
    );
}
