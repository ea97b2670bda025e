//! The login API through the gateway: registration limited per client address (`register-ip`:
//! a classroom of 40 behind one address registers at once, the 41st request in the burst is
//! refused), and the device cookie's way through (`Cookie` forwarded to the auth-service, its
//! `Set-Cookie` back to the client) without weakening the identity rules.

use crate::helpers::{Echo, TestGateway, assert_problem, parts, test_config};
use axum::{Router, response::IntoResponse};
use serde_json::json;
use shared::clock::ManualClock;

fn register(gw: &TestGateway, n: usize) -> reqwest::RequestBuilder {
    gw.http.post(gw.url("/api/auth/register")).json(
        &json!({"email": format!("s{n}@example.edu"), "password": "long enough pw", "name": "S"}),
    )
}

#[tokio::test]
async fn forty_registrations_from_one_address_pass_and_the_forty_first_is_429() {
    let echo = Echo::spawn().await;
    let config = test_config(echo.addr).await;
    // Time stands still: nothing refills during the burst.
    let clock = ManualClock::new();
    let gw = TestGateway::spawn_with_clock(echo, config, clock.shared()).await;
    for n in 1..=40 {
        let (status, _, body) = parts(gw.oneshot(register(&gw, n)).await).await;
        assert_eq!(status, 200, "registration {n}: {body}");
        assert_eq!(body["uri"], "/auth/register", "the auth-service got it");
    }
    let response = gw.oneshot(register(&gw, 41)).await;
    let retry_after = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = assert_problem(response, 429, "rate_limited").await;
    assert!(
        body["detail"].as_str().unwrap().contains("register-ip"),
        "{body}"
    );
    // 10 a minute afterwards: one every 6 s.
    assert_eq!(retry_after, "6");
    assert_eq!(
        gw.echo.seen().len(),
        40,
        "the refused one never reached the backend"
    );
    clock.advance(std::time::Duration::from_secs(6));
    let (status, _, _) = parts(gw.oneshot(register(&gw, 42)).await).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn logins_do_not_spend_the_registration_budget() {
    let echo = Echo::spawn().await;
    let config = test_config(echo.addr).await;
    let clock = ManualClock::new();
    let gw = TestGateway::spawn_with_clock(echo, config, clock.shared()).await;
    for n in 1..=40 {
        let (status, _, _) = parts(gw.oneshot(register(&gw, n)).await).await;
        assert_eq!(status, 200);
    }
    let login = gw
        .http
        .post(gw.url("/api/auth/login"))
        .json(&json!({"email": "s1@example.edu", "password": "long enough pw"}));
    let (status, _, _) = parts(gw.oneshot(login).await).await;
    assert_eq!(status, 200);
}

/// A stand-in auth-service: answers every request with the `Cookie` header it received and sets
/// a device cookie, as the real login does.
async fn cookie_backend() -> std::net::SocketAddr {
    let app = Router::new().fallback(|headers: http::HeaderMap| async move {
        let cookie = headers
            .get("cookie")
            .map(|v| v.to_str().unwrap().to_owned());
        let user = headers
            .get("x-user-id")
            .map(|v| v.to_str().unwrap().to_owned());
        (
            [(
                "set-cookie",
                "device=v1.1.abc.def; Max-Age=2592000; Path=/api/auth; HttpOnly; SameSite=Strict",
            )],
            axum::Json(json!({"cookie": cookie, "x-user-id": user})),
        )
            .into_response()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

#[tokio::test]
async fn the_device_cookie_travels_both_ways_over_a_socket_and_identity_stays_the_gateways() {
    let echo = Echo::spawn().await;
    let config = test_config(cookie_backend().await).await;
    let gw = TestGateway::serve_with(echo, config).await;
    let response = gw
        .http
        .post(gw.url("/api/auth/login"))
        .header("cookie", "device=v1.1.abc.def")
        .header("x-user-id", "someone-else")
        .json(&json!({"email": "ada@example.edu", "password": "long enough pw"}))
        .send()
        .await
        .unwrap();
    let (status, headers, body) = parts(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["cookie"], "device=v1.1.abc.def");
    assert_eq!(
        body["x-user-id"],
        serde_json::Value::Null,
        "a client's identity header is dropped"
    );
    assert_eq!(
        headers["set-cookie"],
        "device=v1.1.abc.def; Max-Age=2592000; Path=/api/auth; HttpOnly; SameSite=Strict"
    );
}
