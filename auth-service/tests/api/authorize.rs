//! The authorization code flow with PKCE, as a browser and a client app see it: the login form at
//! `GET /oauth/authorize`, its `POST`, the 303 back to the app, and the code's exchange at
//! `/oauth/token` — and each refusal with the error RFC 6749 / 7636 give it.

use crate::helpers::*;
use crate::oauth::{confidential, public_client};
use auth_service::config::ClientConfig;
use reqwest::{Response, StatusCode, header};
use serde_json::Value;
use std::{collections::HashMap, time::Duration};

/// RFC 7636 Appendix B's verifier and its S256 challenge.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// A loopback redirect URI on a port the client picked (registered without one).
const REDIRECT: &str = "http://127.0.0.1:49152/callback";
const PASSWORD: &str = "long enough pw";
const RS_SECRET: &str = "resource-server-secret";

/// Clients: `native` (public, code + refresh, loopback and https redirect URIs, state
/// required), `legacy` (public, password grant only), `other` (public, code), `rs` (confidential,
/// may introspect). One user, ada.
async fn app() -> TestApp {
    let hash = auth_service::passwords::hash(RS_SECRET.into())
        .await
        .unwrap();
    let mut config = test_config();
    config.clients = vec![
        ClientConfig {
            redirect_uris: vec![
                "http://127.0.0.1/callback".into(),
                "https://app.example/cb".into(),
            ],
            require_state: true,
            ..public_client("native", &["authorization_code", "refresh_token"])
        },
        ClientConfig {
            redirect_uris: vec!["https://legacy.example/cb".into()],
            ..public_client("legacy", &["password"])
        },
        ClientConfig {
            redirect_uris: vec!["https://other.example/cb".into()],
            ..public_client("other", &["authorization_code"])
        },
        ClientConfig {
            introspect: true,
            ..confidential("rs", &hash)
        },
    ];
    let app = spawn_app_with(config).await;
    app.register("ada@example.edu", PASSWORD, "Ada").await;
    app
}

/// A browser: never follows redirects (the test reads them).
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// The authorization request a client sends, with `changes` applied (`None` removes one).
fn request(changes: &[(&'static str, Option<&'static str>)]) -> Vec<(&'static str, &'static str)> {
    let mut query = vec![
        ("response_type", "code"),
        ("client_id", "native"),
        ("redirect_uri", REDIRECT),
        ("state", "xyz-state"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    for (name, value) in changes {
        query.retain(|(n, _)| n != name);
        if let Some(value) = value {
            query.push((name, value));
        }
    }
    query
}

async fn get_authorize(app: &TestApp, query: &[(&str, &str)]) -> Response {
    browser()
        .get(app.url("/oauth/authorize"))
        .query(query)
        .send()
        .await
        .unwrap()
}

/// The login form as the browser holds it: its cookie and its hidden fields.
struct FormPage {
    cookie: String,
    fields: Vec<(String, String)>,
}

/// Reads the hidden fields of the page (the page escapes `&`, `<`, `>`, `"` and `'`).
fn hidden_fields(html: &str) -> Vec<(String, String)> {
    let unescape = |s: &str| {
        s.replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    };
    html.lines()
        .filter_map(|line| line.strip_prefix("<input type=\"hidden\" name=\""))
        .map(|rest| {
            let (name, rest) = rest.split_once("\" value=\"").unwrap();
            let value = rest.strip_suffix("\">").unwrap();
            (name.to_owned(), unescape(value))
        })
        .collect()
}

/// GETs the form and asserts it is one.
async fn open_form(app: &TestApp, query: &[(&str, &str)]) -> FormPage {
    let response = get_authorize(app, query).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let html = response.text().await.unwrap();
    FormPage {
        cookie,
        fields: hidden_fields(&html),
    }
}

/// POSTs the form as a browser would, with `extra` fields (credentials, the button).
async fn post_form(app: &TestApp, cookie: Option<&str>, fields: &[(String, String)]) -> Response {
    let mut post = browser().post(app.url("/oauth/authorize")).form(fields);
    if let Some(cookie) = cookie {
        post = post.header(header::COOKIE, cookie);
    }
    post.send().await.unwrap()
}

async fn sign_in(app: &TestApp, form: &FormPage, email: &str, password: &str) -> Response {
    let mut fields = form.fields.clone();
    fields.push(("email".into(), email.into()));
    fields.push(("password".into(), password.into()));
    post_form(app, Some(&form.cookie), &fields).await
}

/// The `Location` of a 303, split into the URI before `?` and its parameters.
fn redirected(response: &Response) -> (String, HashMap<String, String>) {
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()[header::LOCATION].to_str().unwrap();
    let (base, query) = location.split_once('?').unwrap();
    let params = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    (base.to_owned(), params)
}

/// The whole browser part: form, sign-in, and the code from the redirect.
async fn code_for(app: &TestApp, query: &[(&str, &str)]) -> String {
    let form = open_form(app, query).await;
    let response = sign_in(app, &form, "ada@example.edu", PASSWORD).await;
    let (_, params) = redirected(&response);
    params["code"].clone()
}

async fn exchange(app: &TestApp, code: &str, verifier: &str, redirect_uri: &str) -> Response {
    app.post_token(&[
        ("grant_type", "authorization_code"),
        ("client_id", "native"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier),
    ])
    .await
}

async fn introspect(app: &TestApp, token: &str) -> Value {
    let response = app
        .client
        .post(app.url("/oauth/introspect"))
        .basic_auth("rs", Some(RS_SECRET))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// A refusal shown to the person: never a redirect.
async fn assert_error_page(response: Response, status: StatusCode, reason: &str) {
    assert!(response.headers().get(header::LOCATION).is_none());
    assert_problem(response, status, reason).await;
}

/// A refusal sent back to the client (RFC 6749 §4.1.2.1).
fn assert_error_redirect(response: &Response, error: &str, state: Option<&str>) {
    let (base, params) = redirected(response);
    assert_eq!(base, REDIRECT);
    assert_eq!(params["error"], error, "{params:?}");
    assert!(params.contains_key("error_description"));
    assert_eq!(params.get("state").map(String::as_str), state);
    assert!(!params.contains_key("code"));
}

#[tokio::test]
async fn the_full_flow_gives_tokens_that_verify() {
    let app = app().await;
    // 1. The form, with the headers that protect it.
    let response = get_authorize(&app, &request(&[])).await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    let cookie = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("oauth_csrf="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let html = response.text().await.unwrap();
    assert!(html.contains("<form method=\"post\" action=\"authorize\">"));
    assert!(!html.contains("<script"), "works without JavaScript");
    let fields: HashMap<_, _> = hidden_fields(&html).into_iter().collect();
    assert_eq!(fields["client_id"], "native");
    assert_eq!(fields["redirect_uri"], REDIRECT);
    assert_eq!(fields["state"], "xyz-state");
    assert!(!fields["csrf_token"].is_empty());

    // 2. Sign in: 303 back to the app with code, state and iss.
    let form = FormPage {
        cookie: cookie.split(';').next().unwrap().to_owned(),
        fields: fields.into_iter().collect(),
    };
    let response = sign_in(&app, &form, "Ada@Example.edu", PASSWORD).await;
    let (base, params) = redirected(&response);
    assert_eq!(base, REDIRECT);
    assert_eq!(params["state"], "xyz-state");
    assert_eq!(params["iss"], shared::demo::ISSUER);
    let code = &params["code"];
    assert!(code.len() >= 43);

    // 3. The exchange.
    let response = exchange(&app, code, VERIFIER, REDIRECT).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    let claims = hs256_verifier()
        .verify(body["access_token"].as_str().unwrap())
        .expect("the access token verifies");
    assert_eq!(claims.email.as_deref(), Some("ada@example.edu"));
    // The refresh token is the client's: it rotates at the token endpoint.
    let response = app
        .post_token(&[
            ("grant_type", "refresh_token"),
            ("client_id", "native"),
            ("refresh_token", body["refresh_token"].as_str().unwrap()),
        ])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_code_is_stored_only_as_its_hash() {
    let app = app().await;
    let code = code_for(&app, &request(&[])).await;
    let hash = auth_service::refresh::hash_token(&code);
    let record = app.state.store.code_by_hash(&hash).await.unwrap().unwrap();
    assert_eq!(record.client_id, "native");
    assert_eq!(record.redirect_uri.as_deref(), Some(REDIRECT));
    assert_eq!(record.code_challenge, CHALLENGE);
    assert!(app.state.store.code_by_hash(&code).await.unwrap().is_none());
}

#[tokio::test]
async fn a_wrong_code_is_invalid_grant() {
    let app = app().await;
    let response = exchange(&app, "not-a-code", VERIFIER, REDIRECT).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

#[tokio::test]
async fn a_code_expires_after_60_seconds() {
    let app = app().await;
    let code = code_for(&app, &request(&[])).await;
    app.clock.advance(Duration::from_secs(61));
    let response = exchange(&app, &code, VERIFIER, REDIRECT).await;
    let body = assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
}

#[tokio::test]
async fn a_reused_code_is_refused_and_revokes_what_the_first_use_gave() {
    let app = app().await;
    let code = code_for(&app, &request(&[])).await;
    let first: Value = exchange(&app, &code, VERIFIER, REDIRECT)
        .await
        .json()
        .await
        .unwrap();
    let access = first["access_token"].as_str().unwrap();
    let refresh = first["refresh_token"].as_str().unwrap();
    assert_eq!(introspect(&app, access).await["active"], true);

    let response = exchange(&app, &code, VERIFIER, REDIRECT).await;
    let body = assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("already used")
    );
    // The first exchange's tokens are revoked: the refresh token no longer refreshes, and
    // introspection calls both inactive.
    let response = app
        .post_token(&[
            ("grant_type", "refresh_token"),
            ("client_id", "native"),
            ("refresh_token", refresh),
        ])
        .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    assert_eq!(introspect(&app, access).await["active"], false);
    assert_eq!(introspect(&app, refresh).await["active"], false);
}

#[tokio::test]
async fn a_wrong_verifier_is_invalid_grant_and_leaves_the_code_to_its_holder() {
    let app = app().await;
    let code = code_for(&app, &request(&[])).await;
    let wrong = "x".repeat(43);
    let response = exchange(&app, &code, &wrong, REDIRECT).await;
    let body = assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("code_verifier")
    );
    // Sending the challenge itself (what `plain` would accept) fails too.
    let response = exchange(&app, &code, CHALLENGE, REDIRECT).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    let response = exchange(&app, &code, VERIFIER, REDIRECT).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_exchange_needs_the_same_redirect_uri_and_client() {
    let app = app().await;
    let code = code_for(&app, &request(&[])).await;
    let response = exchange(&app, &code, VERIFIER, "http://127.0.0.1:49153/callback").await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    let response = app
        .post_token(&[
            ("grant_type", "authorization_code"),
            ("client_id", "other"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    let response = app
        .post_token(&[
            ("grant_type", "authorization_code"),
            ("client_id", "native"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ])
        .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    // A client without the grant may not redeem at all.
    let response = app
        .post_token(&[
            ("grant_type", "authorization_code"),
            ("client_id", "legacy"),
            ("code", &code),
            ("code_verifier", VERIFIER),
        ])
        .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "unauthorized_client").await;
}

#[tokio::test]
async fn an_unregistered_redirect_uri_is_an_error_page_never_a_redirect() {
    let app = app().await;
    for redirect in [
        "https://evil.example/cb",
        "https://app.example/cb/extra",
        "http://127.0.0.1:49152/other",
        "http://127.0.0.1.evil.example/callback",
    ] {
        let response = get_authorize(&app, &request(&[("redirect_uri", Some(redirect))])).await;
        assert_error_page(response, StatusCode::BAD_REQUEST, "invalid_redirect_uri").await;
    }
    // A browser gets the same refusal as a page.
    let response = browser()
        .get(app.url("/oauth/authorize"))
        .query(&request(&[(
            "redirect_uri",
            Some("https://evil.example/cb"),
        )]))
        .header(header::ACCEPT, "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get(header::LOCATION).is_none());
    assert_eq!(response.headers()[header::X_FRAME_OPTIONS], "DENY");
    let html = response.text().await.unwrap();
    assert!(
        html.contains("data-reason=\"invalid_redirect_uri\""),
        "{html}"
    );
}

#[tokio::test]
async fn an_unknown_client_is_an_error_page() {
    let app = app().await;
    let response = get_authorize(&app, &request(&[("client_id", Some("nobody"))])).await;
    assert_error_page(response, StatusCode::BAD_REQUEST, "unknown_client").await;
    let response = get_authorize(&app, &request(&[("client_id", None)])).await;
    assert_error_page(response, StatusCode::BAD_REQUEST, "invalid_request").await;
}

#[tokio::test]
async fn a_loopback_redirect_uri_may_use_any_port() {
    let app = app().await;
    for redirect in [
        "http://127.0.0.1:1/callback",
        "http://127.0.0.1:65535/callback",
    ] {
        let query = request(&[("redirect_uri", Some(redirect))]);
        let form = open_form(&app, &query).await;
        let response = sign_in(&app, &form, "ada@example.edu", PASSWORD).await;
        let (base, params) = redirected(&response);
        assert_eq!(base, redirect);
        let response = exchange(&app, &params["code"], VERIFIER, redirect).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    // Non-loopback URIs keep their exact port.
    let response = get_authorize(
        &app,
        &request(&[("redirect_uri", Some("https://app.example:8443/cb"))]),
    )
    .await;
    assert_error_page(response, StatusCode::BAD_REQUEST, "invalid_redirect_uri").await;
}

#[tokio::test]
async fn plain_or_missing_pkce_is_invalid_request_at_the_redirect_uri() {
    let app = app().await;
    for changes in [
        vec![("code_challenge_method", Some("plain"))],
        vec![("code_challenge_method", None)],
        vec![("code_challenge", None)],
        vec![("code_challenge", Some("too-short"))],
    ] {
        let response = get_authorize(&app, &request(&changes)).await;
        assert_error_redirect(&response, "invalid_request", Some("xyz-state"));
    }
}

#[tokio::test]
async fn a_missing_required_state_is_invalid_request() {
    let app = app().await;
    let response = get_authorize(&app, &request(&[("state", None)])).await;
    assert_error_redirect(&response, "invalid_request", None);
}

#[tokio::test]
async fn other_request_errors_go_back_to_the_client_with_state() {
    let app = app().await;
    let response = get_authorize(&app, &request(&[("response_type", Some("token"))])).await;
    assert_error_redirect(&response, "unsupported_response_type", Some("xyz-state"));
    let response = get_authorize(&app, &request(&[("response_type", None)])).await;
    assert_error_redirect(&response, "invalid_request", Some("xyz-state"));
    let response = get_authorize(&app, &request(&[("scope", Some("profile admin"))])).await;
    assert_error_redirect(&response, "invalid_scope", Some("xyz-state"));
    // A repeated parameter (§3.1).
    let mut query = request(&[]);
    query.push(("code_challenge", CHALLENGE));
    let response = get_authorize(&app, &query).await;
    assert_error_redirect(&response, "invalid_request", Some("xyz-state"));
    // A repeated client_id cannot be trusted to pick a redirect URI: a page.
    let mut query = request(&[]);
    query.push(("client_id", "other"));
    let response = get_authorize(&app, &query).await;
    assert_error_page(response, StatusCode::BAD_REQUEST, "invalid_request").await;
}

#[tokio::test]
async fn a_client_without_the_grant_gets_unauthorized_client() {
    let app = app().await;
    let response = get_authorize(
        &app,
        &[
            ("response_type", "code"),
            ("client_id", "legacy"),
            ("state", "s1"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    let (base, params) = redirected(&response);
    assert_eq!(base, "https://legacy.example/cb", "its only registered URI");
    assert_eq!(params["error"], "unauthorized_client");
    assert_eq!(params["state"], "s1");
}

#[tokio::test]
async fn the_form_is_refused_without_its_csrf_token_or_cookie() {
    let app = app().await;
    let form = open_form(&app, &request(&[])).await;
    let credentials = |fields: &mut Vec<(String, String)>| {
        fields.push(("email".into(), "ada@example.edu".into()));
        fields.push(("password".into(), PASSWORD.into()));
    };
    // No token.
    let mut fields: Vec<_> = form
        .fields
        .iter()
        .filter(|(n, _)| n != "csrf_token")
        .cloned()
        .collect();
    credentials(&mut fields);
    let response = post_form(&app, Some(&form.cookie), &fields).await;
    assert_error_page(response, StatusCode::FORBIDDEN, "csrf_check_failed").await;
    // The token without the cookie (another site's page posting it).
    let mut fields = form.fields.clone();
    credentials(&mut fields);
    let response = post_form(&app, None, &fields).await;
    assert_error_page(response, StatusCode::FORBIDDEN, "csrf_check_failed").await;
    // A hidden field edited: the token sealed the original.
    let mut fields: Vec<_> = form
        .fields
        .iter()
        .map(|(n, v)| match n.as_str() {
            "redirect_uri" => (n.clone(), "http://127.0.0.1:4444/callback".to_owned()),
            _ => (n.clone(), v.clone()),
        })
        .collect();
    credentials(&mut fields);
    let response = post_form(&app, Some(&form.cookie), &fields).await;
    assert_error_page(response, StatusCode::FORBIDDEN, "csrf_check_failed").await;
    // An old form.
    app.clock.advance(Duration::from_secs(601));
    let response = sign_in(&app, &form, "ada@example.edu", PASSWORD).await;
    assert_error_page(response, StatusCode::FORBIDDEN, "csrf_check_failed").await;
}

#[tokio::test]
async fn a_wrong_password_shows_the_form_again_and_shares_the_login_throttle() {
    let app = app().await;
    let form = open_form(&app, &request(&[])).await;
    for email in ["ada@example.edu", "nobody@example.edu"] {
        let response = sign_in(&app, &form, email, "wrong password").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers().get(header::LOCATION).is_none());
        let html = response.text().await.unwrap();
        assert!(
            html.contains("data-reason=\"invalid_credentials\""),
            "{html}"
        );
        assert!(html.contains("The e-mail or the password is wrong."));
        assert!(
            !html.contains("wrong password"),
            "the password is never echoed"
        );
    }
    // Four more failures lock the account: at the form, and at /auth/login (one throttle).
    for _ in 0..4 {
        sign_in(&app, &form, "ada@example.edu", "wrong password").await;
    }
    let response = sign_in(&app, &form, "ada@example.edu", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key(header::RETRY_AFTER));
    let html = response.text().await.unwrap();
    assert!(html.contains("data-reason=\"too_many_attempts\""), "{html}");
    let response = app.post_login("ada@example.edu", PASSWORD).await;
    assert_problem(response, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
}

#[tokio::test]
async fn cancel_sends_access_denied_with_state() {
    let app = app().await;
    let form = open_form(&app, &request(&[])).await;
    let mut fields = form.fields.clone();
    fields.push(("action".into(), "deny".into()));
    let response = post_form(&app, Some(&form.cookie), &fields).await;
    assert_error_redirect(&response, "access_denied", Some("xyz-state"));
}

#[tokio::test]
async fn an_oversized_or_undecodable_form_is_refused_not_a_500() {
    let app = app().await;
    let form = open_form(&app, &request(&[])).await;
    let mut fields = form.fields.clone();
    fields.push(("email".into(), "a".repeat(20_000)));
    let response = post_form(&app, Some(&form.cookie), &fields).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(response.headers().get(header::LOCATION).is_none());
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );

    let response = browser()
        .post(app.url("/oauth/authorize"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, &form.cookie)
        .body("client_id=native&email=%FF%FE")
        .send()
        .await
        .unwrap();
    assert_error_page(response, StatusCode::BAD_REQUEST, "invalid_request").await;

    let response = get_authorize(&app, &[("client_id", "native\u{FFFD}")]).await;
    assert_error_page(response, StatusCode::BAD_REQUEST, "unknown_client").await;
    let response = browser()
        .get(format!("{}?client_id=%C3", app.url("/oauth/authorize")))
        .send()
        .await
        .unwrap();
    assert_error_page(response, StatusCode::BAD_REQUEST, "invalid_request").await;
}

#[tokio::test]
async fn what_the_client_sent_is_escaped_in_the_page() {
    let app = app().await;
    let state = "\"><script>alert(1)</script>";
    let response = get_authorize(&app, &request(&[("state", Some(state))])).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("value=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\""));
    // And the state comes back to the client unchanged.
    let fields: HashMap<_, _> = hidden_fields(&html).into_iter().collect();
    assert_eq!(fields["state"], state);
}
