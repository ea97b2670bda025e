//! Device cookies: an attacker's wrong passwords lock an account for everyone *without* a device
//! cookie for it; the owner's browser, which logged in before, still gets in — and is throttled
//! on its own if it guesses. Times come from the manual clock.

use crate::helpers::*;
use reqwest::{Response, StatusCode};
use serde_json::json;
use std::time::Duration;

const EMAIL: &str = "ada@example.edu";
const PASSWORD: &str = "long enough pw";

/// The `device=…` pair of a response's `Set-Cookie`, as a browser would send it back.
fn device_cookie(response: &Response) -> String {
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap();
    let pair = set_cookie.split(';').next().unwrap();
    assert!(pair.starts_with("device="), "{set_cookie}");
    pair.to_owned()
}

async fn login_with_cookie(app: &TestApp, cookie: &str, email: &str, password: &str) -> Response {
    app.client
        .post(app.url("/auth/login"))
        .header("cookie", cookie)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

/// Five wrong passwords from an attacker (no cookie): the account is locked for 30 s.
async fn lock_the_account(app: &TestApp) {
    for _ in 0..5 {
        let response = app.post_login(EMAIL, "wrong password").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = app.post_login(EMAIL, PASSWORD).await;
    assert_problem(response, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
}

/// A login that already has a device cookie for `EMAIL`.
async fn app_with_a_known_device() -> (TestApp, String) {
    let app = spawn_app().await; // default throttle: 5 failures, then 30 s, doubling
    app.register(EMAIL, PASSWORD, "Ada").await;
    let response = app.post_login(EMAIL, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = device_cookie(&response);
    (app, cookie)
}

#[tokio::test]
async fn a_successful_login_sets_an_http_only_strict_device_cookie_for_the_login_api() {
    let app = spawn_app().await;
    app.register(EMAIL, PASSWORD, "Ada").await;
    let response = app.post_login(EMAIL, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(
        set_cookie.ends_with("; Max-Age=2592000; Path=/api/auth; HttpOnly; SameSite=Strict"),
        "{set_cookie}"
    );
    assert!(
        !set_cookie.contains("ada"),
        "the e-mail is not in the cookie"
    );
    // A failed login earns no cookie.
    let response = app.post_login(EMAIL, "wrong password").await;
    assert!(response.headers().get("set-cookie").is_none());
}

#[tokio::test]
async fn the_owner_with_a_device_cookie_gets_through_while_the_account_is_locked() {
    let (app, cookie) = app_with_a_known_device().await;
    lock_the_account(&app).await;

    // The owner's browser: the right password works, and a fresh cookie comes back.
    let response = login_with_cookie(&app, &cookie, EMAIL, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    let renewed = device_cookie(&response);
    tokens(response).await;

    // The owner's login did not unlock the account for the attacker.
    let response = app.post_login(EMAIL, PASSWORD).await;
    assert_problem(response, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
    // The renewed cookie works as well.
    let response = login_with_cookie(&app, &renewed, EMAIL, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn wrong_passwords_with_a_device_cookie_are_throttled_per_device() {
    let (app, cookie) = app_with_a_known_device().await;
    lock_the_account(&app).await;

    // A stolen cookie buys the same five guesses as anyone, then its own lock.
    for attempt in 1..=5 {
        let response = login_with_cookie(&app, &cookie, EMAIL, "guess").await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "guess {attempt}"
        );
    }
    let response = login_with_cookie(&app, &cookie, EMAIL, PASSWORD).await;
    assert_eq!(response.headers()["retry-after"], "30");
    assert_problem(response, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;

    // Another device of the owner is not locked by this one.
    let response = app.post_login(EMAIL, "wrong password").await;
    assert_eq!(
        response.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the account is still locked"
    );

    // Once the device's lock is over (and the account's, which started earlier, too):
    app.clock.advance(Duration::from_secs(30));
    let response = login_with_cookie(&app, &cookie, EMAIL, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn device_failures_do_not_lock_the_account_for_others() {
    let (app, cookie) = app_with_a_known_device().await;
    for _ in 0..5 {
        let response = login_with_cookie(&app, &cookie, EMAIL, "typo").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    // The device is locked; a login without it is judged by the account's record, still clean.
    let response = login_with_cookie(&app, &cookie, EMAIL, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    app.login(EMAIL, PASSWORD).await;
}

#[tokio::test]
async fn forged_expired_and_other_accounts_cookies_are_ignored() {
    let (app, cookie) = app_with_a_known_device().await;
    app.register("bob@example.edu", PASSWORD, "Bob").await;
    let response = app.post_login("bob@example.edu", PASSWORD).await;
    let bobs_cookie = device_cookie(&response);
    lock_the_account(&app).await;

    let (_, value) = cookie.split_once('=').unwrap();
    let parts: Vec<&str> = value.split('.').collect();
    let forged = [
        // Bob's valid cookie is not a device of Ada's.
        bobs_cookie,
        // A longer life under the old signature.
        format!("device=v1.99999999999.{}.{}", parts[2], parts[3]),
        // A signature made up.
        format!("device=v1.{}.{}.AAAA", parts[1], parts[2]),
        "device=garbage".to_owned(),
    ];
    for cookie in forged {
        let response = login_with_cookie(&app, &cookie, EMAIL, PASSWORD).await;
        assert_eq!(
            response.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "{cookie} got through the lock"
        );
    }

    // The real cookie, 30 days later, has expired: against a new lock it is no help.
    app.clock.advance(Duration::from_secs(30 * 24 * 60 * 60));
    lock_the_account(&app).await;
    let response = login_with_cookie(&app, &cookie, EMAIL, PASSWORD).await;
    assert_problem(response, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
}
