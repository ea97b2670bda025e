//! The JWT console's server side (`/console`): the page and its security headers, when it is
//! served at all, the caller's own decision records it reads, and the live feed — bounded, free
//! of secrets, and closed on shutdown so it never holds up a drain. The page itself is driven in
//! a real browser by `tests/console/browser_e2e.py`.

use crate::helpers::{Echo, TestGateway, assert_problem, bearer, parts, route, test_config, token};
use gateway::config::AuthMode;
use shared::Role;
use std::time::Duration;
use test_support::tokens::tamper_role_to_admin;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The test hooks DESIGN.md promises ("Console test hooks").
const TEST_IDS: [&str; 12] = [
    "login-email",
    "login-password",
    "login-submit",
    "token-header",
    "token-payload",
    "token-signature",
    "payload-editor",
    "send-request",
    "response-status",
    "response-reason",
    "decision-record",
    "dashboard-timeline",
];

/// A configuration outside demo mode (its own secret), with a catch-all public route so that a
/// path the gateway does not answer itself visibly goes to the backend instead.
async fn not_demo(echo: &Echo, console: Option<bool>) -> gateway::Config {
    let mut config = test_config(echo.addr).await;
    config.demo = false;
    config.console.enabled = console;
    config.auth.hs256_secret = Some("a-test-secret-that-is-long-enough-for-hs256".into());
    config
        .routes
        .push(route("catch-all", "/", "users", AuthMode::Public));
    config
}

#[tokio::test]
async fn the_page_is_served_with_a_strict_policy_and_every_test_hook() {
    let gw = TestGateway::spawn().await;
    for path in ["/console", "/console/", "/console/callback"] {
        let response = gw
            .oneshot(gw.get(&format!("{path}?code=abc&state=xyz")))
            .await;
        assert_eq!(response.status(), 200, "{path}");
        let h = response.headers().clone();
        assert_eq!(h["content-type"], "text/html; charset=utf-8");
        assert_eq!(h["content-security-policy"], CSP);
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(
            h["cache-control"], "no-store",
            "the callback URL holds a code"
        );
        assert_eq!(h["referrer-policy"], "no-referrer");
        let html = response.text().await.unwrap();
        for id in TEST_IDS {
            assert!(
                html.contains(&format!("data-testid=\"{id}\"")),
                "missing data-testid {id}"
            );
        }
        // Nothing the policy would block, and nothing from another site.
        assert_eq!(
            html.matches("<script").count(),
            html.matches("<script src=\"/console/").count(),
            "only the console's own script files"
        );
        assert!(!html.contains("style="), "no inline style");
        assert!(!html.contains("http://") && !html.contains("https://"));
    }
}

#[tokio::test]
async fn the_assets_are_the_consoles_own_and_keep_tokens_out_of_storage() {
    let gw = TestGateway::spawn().await;
    for (path, content_type) in [
        ("/console/console.js", "text/javascript; charset=utf-8"),
        ("/console/sha256.js", "text/javascript; charset=utf-8"),
        ("/console/console.css", "text/css; charset=utf-8"),
    ] {
        let response = gw.oneshot(gw.get(path)).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["content-type"], content_type);
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        assert_eq!(response.headers()["cache-control"], "no-cache");
        let text = response.text().await.unwrap();
        assert!(
            !text.contains("https://") && !text.contains("http://"),
            "{path}"
        );
    }
    let script = gw
        .oneshot(gw.get("/console/console.js"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !script.contains("localStorage."),
        "tokens never in localStorage"
    );
    assert!(!script.contains("document.cookie"));
    assert!(!script.contains("eval(") && !script.contains("new Function"));
    assert!(
        !script.contains(".innerHTML"),
        "outside text only as textContent"
    );
}

#[tokio::test]
async fn a_console_path_that_does_not_exist_or_a_wrong_method_is_problem_json() {
    let gw = TestGateway::spawn().await;
    assert_problem(gw.oneshot(gw.get("/console/nope")).await, 404, "no_route").await;
    let post = gw.oneshot(gw.http.post(gw.url("/console"))).await;
    assert_eq!(post.headers()["allow"], "GET, HEAD");
    assert_problem(post, 405, "method_not_allowed").await;
    // `/consoles` is not the console's: it goes through the routes (none matches here).
    assert_problem(gw.oneshot(gw.get("/consoles")).await, 404, "no_route").await;
}

#[tokio::test]
async fn outside_demo_mode_the_console_is_off_unless_enabled() {
    let echo = Echo::spawn().await;
    let config = not_demo(&echo, None).await;
    let gw = TestGateway::spawn_with(echo, config).await;
    // Not the gateway's own: forwarded like any path, here to the catch-all's echo backend.
    let (status, headers, body) = parts(gw.oneshot(gw.get("/console")).await).await;
    assert_eq!(status, 200);
    assert_eq!(body["uri"], "/console", "reached the backend: {body}");
    assert!(headers.get("content-security-policy").is_none());
    let events = gw.oneshot(gw.get("/console/events")).await;
    assert_eq!(parts(events).await.2["uri"], "/console/events");

    let echo = Echo::spawn().await;
    let config = not_demo(&echo, Some(true)).await;
    let gw = TestGateway::spawn_with(echo, config).await;
    let page = gw.oneshot(gw.get("/console")).await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-security-policy"], CSP);

    let echo = Echo::spawn().await;
    let mut config = test_config(echo.addr).await;
    config.console.enabled = Some(false);
    let gw = TestGateway::spawn_with(echo, config).await;
    assert_problem(gw.oneshot(gw.get("/console")).await, 404, "no_route").await;
}

#[tokio::test]
async fn outside_demo_mode_the_reset_is_not_the_gateways_even_with_the_console_on() {
    // Demo mode's `POST /gateway/reset` refills every rate-limit allowance: a production
    // gateway must not answer it, console or not. Here it is forwarded like any path.
    let echo = Echo::spawn().await;
    let config = not_demo(&echo, Some(true)).await;
    let gw = TestGateway::spawn_with(echo, config).await;
    let request = gw.http.post(gw.url("/gateway/reset"));
    let (status, _, body) = parts(gw.oneshot(request).await).await;
    assert_eq!(status, 200);
    assert_eq!(body["uri"], "/gateway/reset", "reached the backend: {body}");
}

#[tokio::test]
async fn the_console_reads_the_decision_of_a_tampered_token_with_the_same_credentials() {
    // With the console enabled outside demo mode too: that is what the page needs.
    let echo = Echo::spawn().await;
    let config = not_demo(&echo, Some(true)).await;
    let secret = "a-test-secret-that-is-long-enough-for-hs256";
    let gw = TestGateway::spawn_with(echo, config).await;
    let student = test_support::tokens::sign_hs256(
        &test_support::tokens::claims_for("1905551042", "Sam", Role::Student, None),
        secret,
    );
    let tampered = tamper_role_to_admin(&student);
    let response = gw
        .oneshot(
            gw.get("/api/users")
                .header("authorization", bearer(&tampered)),
        )
        .await;
    let id = response.headers()["x-gateway-decision"]
        .to_str()
        .unwrap()
        .to_owned();
    let problem = assert_problem(response, 401, "bad_signature").await;
    assert!(!problem.to_string().contains(&tampered));

    let path = format!("/gateway/decisions/{id}");
    let (status, _, record) = parts(
        gw.oneshot(gw.get(&path).header("authorization", bearer(&tampered)))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{record}");
    let failed: Vec<&str> = record["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["outcome"] == "fail")
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["signature"], "{record}");
    assert!(
        !record.to_string().contains(&tampered),
        "no token in a record"
    );
    // The untampered token is another caller's credentials: not theirs to read.
    let other = gw
        .oneshot(gw.get(&path).header("authorization", bearer(&student)))
        .await;
    assert_problem(other, 404, "decision_not_found").await;
}

/// Reads the event stream until `want` appears in it (or fails after a few seconds).
async fn read_until(response: &mut reqwest::Response, want: &str) -> String {
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !seen.contains(want) {
        let chunk = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .unwrap_or_else(|_| panic!("no {want:?} in the stream; saw: {seen}"))
            .unwrap()
            .unwrap_or_else(|| panic!("the stream ended before {want:?}; saw: {seen}"));
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    seen
}

#[tokio::test]
async fn the_live_feed_shows_each_finished_request_without_tokens_or_queries() {
    let gw = TestGateway::serve().await;
    let mut events = gw.http.get(gw.url("/console/events")).send().await.unwrap();
    assert_eq!(events.status(), 200);
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    assert_eq!(events.headers()["cache-control"], "no-store");

    let student = token(Role::Student);
    let refused = gw
        .http
        .get(gw.url("/api/users?password=hunter2&access_token=secret"))
        .header("authorization", bearer(&student))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);

    let seen = read_until(&mut events, "role_required").await;
    let line = seen
        .lines()
        .find(|l| l.starts_with("data:") && l.contains("role_required"))
        .unwrap();
    let event: serde_json::Value = serde_json::from_str(line.trim_start_matches("data:")).unwrap();
    assert_eq!(event["method"], "GET");
    assert_eq!(event["path"], "/api/users");
    assert_eq!(event["route"], "users-list");
    assert_eq!(event["status"], 403);
    assert!(event["latency_ms"].as_f64().unwrap() >= 0.0);
    assert!(seen.contains("event: request"));
    for secret in ["hunter2", "secret", &student[..20], "password"] {
        assert!(!seen.contains(secret), "{secret} leaked: {seen}");
    }
}

#[tokio::test]
async fn open_feeds_are_bounded() {
    let gw = TestGateway::spawn().await;
    // In-process: each answer's body is the open stream, kept alive by holding the response.
    let mut open = Vec::new();
    for _ in 0..gateway::console::feed::MAX_STREAMS {
        let response = gw.oneshot_streaming(gw.get("/console/events")).await;
        assert_eq!(response.status(), 200);
        open.push(response);
    }
    let refused = gw.oneshot(gw.get("/console/events")).await;
    assert_problem(refused, 503, "too_many_streams").await;
    open.pop();
    let again = gw.oneshot_streaming(gw.get("/console/events")).await;
    assert_eq!(again.status(), 200, "a closed feed gives its place back");
}

#[tokio::test]
async fn shutdown_ends_the_live_feeds_instead_of_waiting_for_them() {
    let echo = Echo::spawn().await;
    let mut config = test_config(echo.addr).await;
    // A drain that would wait this long for a stream that never ends by itself.
    config.server.limits.drain_timeout_ms = 20_000;
    let app = gateway::build(config).await.unwrap();
    let url = format!("http://{}/console/events", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let mut events = reqwest::get(&url).await.unwrap();
    assert_eq!(events.status(), 200);

    let started = tokio::time::Instant::now();
    stop.send(()).unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(5), events.chunk()).await;
    assert!(
        matches!(ended, Ok(Ok(None))),
        "the stream ends cleanly: {ended:?}"
    );
    tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .expect("the gateway stops without waiting out the drain timeout")
        .unwrap()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn the_latency_switch_reaches_each_backends_toggles_for_an_admin_only() {
    let gw = TestGateway::spawn().await;
    let body = serde_json::json!({"latency_ms": 300, "error_rate": 0.0});
    let student = bearer(&token(Role::Student));
    let refused = gw
        .oneshot(
            gw.http
                .put(gw.url("/api/demo/toggles/users"))
                .header("authorization", &student)
                .json(&body),
        )
        .await;
    assert_problem(refused, 403, "role_required").await;
    assert!(gw.echo.seen().is_empty(), "a STUDENT's request never left");

    let admin = bearer(&token(Role::Admin));
    for backend in ["users", "billing"] {
        let (status, _, echoed) = parts(
            gw.oneshot(
                gw.http
                    .put(gw.url(&format!("/api/demo/toggles/{backend}")))
                    .header("authorization", &admin)
                    .json(&body),
            )
            .await,
        )
        .await;
        assert_eq!(status, 200, "{echoed}");
        assert_eq!(echoed["method"], "PUT");
        assert_eq!(
            echoed["uri"], "/admin/toggles",
            "the backend's own endpoint"
        );
        assert_eq!(
            echoed["headers"]["authorization"][0],
            admin.as_str(),
            "the token goes on: the backend checks the role again"
        );
    }
    // Nothing under it: exact routes.
    let deeper = gw
        .oneshot(
            gw.http
                .put(gw.url("/api/demo/toggles/users/extra"))
                .header("authorization", &admin),
        )
        .await;
    assert_problem(deeper, 404, "no_route").await;
}
