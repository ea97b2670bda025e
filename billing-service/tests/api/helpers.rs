//! Spawning a service per test (fixed clock), minting tokens the way the auth-service does, and
//! reading problem+json answers.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use billing_service::{
    AppState, Config,
    clock::{Clock, FixedClock, SharedClock},
};
use jsonwebtoken::{EncodingKey, Header, encode};
use reqwest::{Response, StatusCode};
use serde_json::Value;
use shared::service_kit::FaultInjector;
use shared::{Claims, Role, VerifierConfig, demo};
use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{SystemTime, UNIX_EPOCH},
};
use time::{Date, macros::date};
use tokio::sync::oneshot;

/// "Today" in every test unless a test says otherwise.
pub const TODAY: Date = date!(2026 - 03 - 15);

/// A running service. Dropping it shuts the server down.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    _stop: oneshot::Sender<()>,
}

/// A test configuration: port 0, demo keys, demo data on or off.
pub fn config(demo: bool) -> Config {
    Config {
        demo,
        listen: "127.0.0.1:0".parse().unwrap(),
        auth: Some(VerifierConfig::demo()),
        ..Config::default()
    }
}

/// The service with demo data, on [`TODAY`].
pub async fn spawn_demo() -> TestApp {
    spawn(config(true), TODAY, None).await
}

/// The service with no data, on [`TODAY`].
pub async fn spawn_empty() -> TestApp {
    spawn(config(false), TODAY, None).await
}

/// The service on `today`; `faults` replaces the production fault injector when given.
pub async fn spawn(config: Config, today: Date, faults: Option<FaultInjector>) -> TestApp {
    spawn_with_clock(config, Arc::new(FixedClock(today)), faults).await
}

/// The service reading the date from `clock`.
pub async fn spawn_with_clock(
    config: Config,
    clock: SharedClock,
    faults: Option<FaultInjector>,
) -> TestApp {
    let mut state = AppState::from_config_with_clock(&config, clock)
        .await
        .unwrap();
    if let Some(faults) = faults {
        state.faults = faults;
    }
    let app = billing_service::build_with_state(&config, state)
        .await
        .unwrap();
    let addr = app.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    TestApp {
        addr,
        client: reqwest::Client::new(),
        _stop: stop,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut request = self.client.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    pub async fn get_json(&self, path: &str, token: &str) -> Value {
        let response = self.get(path, Some(token)).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.unwrap()
    }

    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: &Value,
    ) -> Response {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_json(&self, path: &str, token: &str, body: &Value) -> Response {
        self.send_json(reqwest::Method::POST, path, token, body)
            .await
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The claims the auth-service would issue.
pub fn claims(sub: &str, name: &str, role: Role) -> Claims {
    Claims {
        sub: sub.to_owned(),
        name: name.to_owned(),
        role,
        exp: now() + 600,
        iat: now(),
        iss: demo::ISSUER.to_owned(),
        aud: demo::AUDIENCE.to_owned(),
        jti: uuid::Uuid::new_v4().to_string(),
        email: None,
        scope: None,
    }
}

/// Signs with the demo HS256 secret, no `kid`.
pub fn sign(claims: &Claims) -> String {
    encode(
        &Header::default(),
        claims,
        &EncodingKey::from_secret(demo::HS256_SECRET.as_bytes()).unwrap(),
    )
    .unwrap()
}

pub fn student() -> String {
    sign(&claims(
        demo::student::ID,
        demo::student::NAME,
        Role::Student,
    ))
}

pub fn admin() -> String {
    sign(&claims(demo::admin::ID, demo::admin::NAME, Role::Admin))
}

/// The lecture's attack: the payload's role edited to ADMIN, the signature kept.
pub fn tamper_role_to_admin(token: &str) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let json = String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert!(json.contains("\"role\":\"STUDENT\""), "{json}");
    let forged = json.replace("\"role\":\"STUDENT\"", "\"role\":\"ADMIN\"");
    format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(forged),
        parts[2]
    )
}

/// Asserts a problem+json answer with this status and reason, and returns its body.
pub async fn assert_problem(response: Response, status: StatusCode, reason: &str) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    assert!(response.headers().contains_key("x-request-id"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["reason"], reason, "{body}");
    assert_eq!(body["status"], status.as_u16());
    body
}

/// A clock a test can move forward.
#[derive(Debug)]
pub struct SettableClock(pub Mutex<Date>);

impl Clock for SettableClock {
    fn today(&self) -> Date {
        *self.0.lock().unwrap()
    }
}
