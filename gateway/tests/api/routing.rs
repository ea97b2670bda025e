//! Routing: segment-boundary prefixes, exact routes, rewrites, 404 and 405.

use crate::helpers::*;
use shared::Role;

#[tokio::test]
async fn a_prefix_matches_whole_segments_and_is_rewritten() {
    let gw = TestGateway::spawn().await;
    let (status, _, body) = parts(
        gw.oneshot(
            gw.get("/api/users/7?expand=a&x=%2F")
                .header("authorization", bearer(&token(Role::Student))),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // The prefix is rewritten; the query string goes through byte for byte.
    assert_eq!(body["uri"], "/users/7?expand=a&x=%2F");

    let response = gw.oneshot(gw.get("/api/users-admin")).await;
    assert_problem(response, 404, "no_route").await;
}

#[tokio::test]
async fn strip_prefix_and_unrewritten_routes() {
    let gw = TestGateway::spawn().await;
    for (sent, forwarded) in [
        ("/api/public/a/b?q=1", "/a/b?q=1"),
        ("/api/public", "/"),
        ("/.well-known/jwks.json", "/.well-known/jwks.json"),
        // Unrewritten, the client's own path and query go up as they came …
        (
            "/.well-known/jwks.json?kid=a%2Fb&x",
            "/.well-known/jwks.json?kid=a%2Fb&x",
        ),
        // … unless the path was not canonical: then the canonical one, the query unchanged.
        (
            "//.well-known/./jwks.json?kid=a%2Fb",
            "/.well-known/jwks.json?kid=a%2Fb",
        ),
    ] {
        let (_, _, body) = parts(gw.oneshot(gw.get(sent)).await).await;
        assert_eq!(body["uri"], forwarded, "{sent}");
    }
    let (_, _, body) = parts(
        gw.oneshot(gw.http.post(gw.url("/api/auth/login")).body("{}"))
            .await,
    )
    .await;
    assert_eq!(body["uri"], "/auth/login");
    assert_eq!(body["method"], "POST");
}

#[tokio::test]
async fn unknown_paths_get_404_no_route() {
    let gw = TestGateway::spawn().await;
    for path in ["/", "/api", "/nope", "/api/userss", "/apiusers"] {
        let body = assert_problem(gw.oneshot(gw.get(path)).await, 404, "no_route").await;
        assert_eq!(body["type"], "urn:api-gateway-pattern:problem:no_route");
    }
    assert!(gw.echo.seen().is_empty());
}

#[tokio::test]
async fn a_method_the_route_does_not_answer_gets_405_with_allow() {
    let gw = TestGateway::spawn().await;
    let response = gw.oneshot(gw.http.delete(gw.url("/api/readonly/x"))).await;
    let allow = response.headers()["allow"].to_str().unwrap().to_owned();
    assert_problem(response, 405, "method_not_allowed").await;
    assert_eq!(allow, "GET, HEAD");
    assert!(gw.echo.seen().is_empty());
}

#[tokio::test]
async fn health_endpoints_answer() {
    let gw = TestGateway::spawn().await;
    let (status, _, body) = parts(gw.oneshot(gw.get("/healthz")).await).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    // One upstream (`down`) has nothing listening: not ready, and it says which.
    let body = assert_problem(
        gw.oneshot(gw.get("/readyz")).await,
        503,
        "upstream_unavailable",
    )
    .await;
    let detail = body["detail"].as_str().unwrap();
    // By number, not address: the addresses are for the admin listener.
    assert_eq!(
        detail, "no usable target: down (target 1: healthy=false circuit=closed)",
        "{detail}"
    );
    assert!(
        !detail.contains("users"),
        "only the failing upstream is named: {detail}"
    );
}

/// Demo mode names who wrote each answer and what the service was asked for — the gateway's
/// own values, whatever the service claims — and a production gateway adds neither.
#[tokio::test]
async fn demo_mode_names_who_answered_and_the_forwarded_path() {
    let gw = TestGateway::spawn().await;
    let student = bearer(&token(Role::Student));
    for sent in ["/api/users/7?expand=a&x=%2F", "/api/users/spoof?q=1"] {
        let (status, headers, body) = parts(
            gw.oneshot(gw.get(sent).header("authorization", &student))
                .await,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(headers["x-answered-by"], "users", "{sent}");
        // Exactly what the backend received.
        assert_eq!(
            headers["x-upstream-path"],
            body["uri"].as_str().unwrap(),
            "{sent}"
        );
        assert_eq!(headers.get_all("x-answered-by").iter().count(), 1);
    }
    // A refusal is the gateway's own, and nothing was forwarded.
    for sent in ["/api/nowhere", "/api/users/7"] {
        let response = gw.oneshot(gw.get(sent)).await;
        assert_eq!(response.headers()["x-answered-by"], "gateway", "{sent}");
        assert!(
            response.headers().get("x-upstream-path").is_none(),
            "{sent}"
        );
    }

    let echo = Echo::spawn().await;
    let mut config = test_config(echo.addr).await;
    config.demo = false;
    config.auth.hs256_secret = Some("a-test-secret-that-is-long-enough-for-hs256".into());
    let gw = TestGateway::spawn_with(echo, config).await;
    let response = gw.oneshot(gw.get("/api/public/a")).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("x-answered-by").is_none());
    assert!(response.headers().get("x-upstream-path").is_none());
    let response = gw.oneshot(gw.get("/api/nowhere")).await;
    assert!(response.headers().get("x-answered-by").is_none());
}
