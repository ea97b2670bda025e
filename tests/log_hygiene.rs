//! No secret in the logs: a whole demo session at `debug` level — logins, a refresh, a reused
//! refresh token, the OAuth token endpoint, introspection, revocation, every route, a few
//! failures — with every log line the four services write captured, then searched for the
//! passwords, the tokens, the refresh tokens, the client secret and the signing secret.
//!
//! The capture must be able to fail: the test also checks that it holds the request ids of the
//! requests it made, and that one trace id appears in the lines of the gateway and of the
//! backend it called (the trace context at work in the logs).
//!
//! Its own test binary: it installs the process's global subscriber (the services' own
//! [`shared::telemetry::subscriber`], in JSON, writing to a buffer), which must not catch — or
//! be missed by — the other end-to-end tests.

#[allow(dead_code)]
#[path = "e2e/helpers.rs"]
mod helpers;

use base64::{Engine, engine::general_purpose::STANDARD};
use helpers::TestDemo;
use serde_json::{Value, json};
use shared::{
    demo,
    telemetry::{self, LogFormat},
};
use test_support::logs::CapturedLogs;
use tracing_subscriber::EnvFilter;

/// The log output, kept for the test to read ([`CapturedLogs`]).
type Captured = CapturedLogs;

const TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";
const WRONG_PASSWORD: &str = "not-the-password-5521";

/// The requests of the session, each with its own `X-Request-Id` (`hygiene-N`), in order.
struct Session<'a> {
    demo: &'a TestDemo,
    next: usize,
    ids: Vec<String>,
}

impl Session<'_> {
    fn id(&mut self) -> String {
        self.next += 1;
        let id = format!("hygiene-{}", self.next);
        self.ids.push(id.clone());
        id
    }

    fn request(&mut self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let id = self.id();
        self.demo
            .client
            .request(method, self.demo.gateway(path))
            .header("x-request-id", id)
    }
}

/// Sends `request`, asserts its status, returns its JSON body (`null` when there is none).
async fn expect(request: reqwest::RequestBuilder, status: u16) -> Value {
    let response = request.send().await.unwrap();
    let got = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_debug_level_demo_session_logs_no_secret() {
    let captured = Captured::default();
    let subscriber =
        telemetry::subscriber(EnvFilter::new("debug"), LogFormat::Json, captured.clone());
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let demo = TestDemo::start().await;
    let mut s = Session {
        demo: &demo,
        next: 0,
        ids: Vec::new(),
    };
    use reqwest::Method as M;

    // Log in, both accounts; refresh; present the spent refresh token again (reuse: 401).
    let login = |email: &str, password: &str| json!({ "email": email, "password": password });
    let student = expect(
        s.request(M::POST, "/api/auth/login")
            .json(&login(demo::student::EMAIL, demo::student::PASSWORD)),
        200,
    )
    .await;
    let admin = expect(
        s.request(M::POST, "/api/auth/login")
            .json(&login(demo::admin::EMAIL, demo::admin::PASSWORD)),
        200,
    )
    .await;
    let refreshed = expect(
        s.request(M::POST, "/api/auth/refresh")
            .json(&json!({ "refresh_token": student["refresh_token"] })),
        200,
    )
    .await;
    expect(
        s.request(M::POST, "/api/auth/refresh")
            .json(&json!({ "refresh_token": student["refresh_token"] })),
        401,
    )
    .await;
    let token = refreshed["access_token"].as_str().unwrap().to_owned();
    let admin_token = admin["access_token"].as_str().unwrap().to_owned();

    // The OAuth token endpoint (a confidential client's secret in Basic), introspection,
    // revocation.
    let basic = format!(
        "Basic {}",
        STANDARD.encode("reporting-job:reporting-secret")
    );
    let client = expect(
        s.request(M::POST, "/api/oauth/token")
            .header("authorization", &basic)
            .form(&[("grant_type", "client_credentials")]),
        200,
    )
    .await;
    let client_token = client["access_token"].as_str().unwrap().to_owned();
    expect(
        s.request(M::POST, "/api/oauth/introspect")
            .header("authorization", &basic)
            .form(&[("token", token.as_str())]),
        200,
    )
    .await;
    expect(
        s.request(M::POST, "/api/oauth/token").form(&[
            ("grant_type", "password"),
            ("client_id", "classroom-app"),
            ("username", demo::student::EMAIL),
            ("password", WRONG_PASSWORD),
        ]),
        400,
    )
    .await;

    // Every route, as the student and as the admin, with one request in a trace we name.
    for path in [
        "/api/users/me",
        "/api/billing/invoices",
        "/api/billing/summary",
        "/api/dashboard",
    ] {
        expect(s.request(M::GET, path).bearer_auth(&token), 200).await;
    }
    let traced = s
        .request(M::GET, "/api/users/me")
        .bearer_auth(&admin_token)
        .header("traceparent", format!("00-{TRACE_ID}-b7ad6b7169203331-01"));
    expect(traced, 200).await;
    expect(
        s.request(M::GET, "/api/users").bearer_auth(&admin_token),
        200,
    )
    .await;
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        expect(s.request(M::GET, path), 200).await;
    }
    // The gateway's own probes write no access-log line: their ids are not looked for.
    for path in ["/healthz", "/readyz"] {
        expect(demo.client.get(demo.gateway(path)), 200).await;
    }

    // Failures: a wrong password, a student on an admin route, a tampered token, no token,
    // a malformed body.
    expect(
        s.request(M::POST, "/api/auth/login")
            .json(&login(demo::student::EMAIL, WRONG_PASSWORD)),
        401,
    )
    .await;
    expect(s.request(M::GET, "/api/users").bearer_auth(&token), 403).await;
    let tampered = format!("{token}x");
    expect(
        s.request(M::GET, "/api/users/me").bearer_auth(&tampered),
        401,
    )
    .await;
    expect(s.request(M::GET, "/api/billing/invoices"), 401).await;
    expect(
        s.request(M::POST, "/api/auth/login")
            .header("content-type", "application/json")
            .body(format!("{{\"password\":\"{WRONG_PASSWORD}\"")),
        400,
    )
    .await;

    // Revoke the client's token, log the student out.
    expect(
        s.request(M::POST, "/api/oauth/revoke")
            .header("authorization", &basic)
            .form(&[("token", client_token.as_str())]),
        200,
    )
    .await;
    expect(
        s.request(M::POST, "/api/auth/logout")
            .bearer_auth(&token)
            .json(&json!({ "refresh_token": refreshed["refresh_token"] })),
        204,
    )
    .await;

    let logs = captured.text();

    // The capture is real: every request's id is in it, debug lines too, and the named trace
    // is in the lines of the gateway and of the user-service it called.
    for id in &s.ids {
        assert!(logs.contains(id.as_str()), "no log line names {id}");
    }
    assert!(logs.contains("\"level\":\"DEBUG\""), "debug lines captured");
    let traced_targets: Vec<String> = logs
        .lines()
        .filter(|line| line.contains(TRACE_ID))
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|line| line["target"].as_str().map(str::to_owned))
        .collect();
    assert!(
        traced_targets.iter().any(|t| t.starts_with("gateway")),
        "{traced_targets:?}"
    );
    assert!(
        traced_targets.iter().any(|t| !t.starts_with("gateway")),
        "the backend's lines carry the trace id too: {traced_targets:?}"
    );

    // And nothing secret.
    let secrets = [
        ("the student's password", demo::student::PASSWORD.to_owned()),
        ("the admin's password", demo::admin::PASSWORD.to_owned()),
        ("a wrong password", WRONG_PASSWORD.to_owned()),
        ("the client secret", "reporting-secret".to_owned()),
        ("the client's Basic credentials", basic.clone()),
        ("the demo HS256 secret", demo::HS256_SECRET.to_owned()),
        (
            "the student's first access token",
            string(&student["access_token"]),
        ),
        (
            "the student's first refresh token",
            string(&student["refresh_token"]),
        ),
        ("the student's refreshed access token", token.clone()),
        (
            "the student's refreshed refresh token",
            string(&refreshed["refresh_token"]),
        ),
        ("the admin's access token", admin_token.clone()),
        ("the admin's refresh token", string(&admin["refresh_token"])),
        ("the client's access token", client_token.clone()),
    ];
    for (what, secret) in secrets {
        assert!(secret.len() >= 8, "{what} is a real value");
        assert!(!logs.contains(&secret), "{what} is in the logs");
    }
    // A token's signature alone is as good as a leak of the token.
    for token in [&token, &admin_token, &client_token] {
        let signature = token.rsplit('.').next().unwrap();
        assert!(
            !logs.contains(signature),
            "a token's signature is in the logs"
        );
    }
}

fn string(value: &Value) -> String {
    value.as_str().unwrap().to_owned()
}
