//! Spawning a service per test, minting tokens the way the auth-service does, and reading
//! problem+json answers.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use futures::future::BoxFuture;
use jsonwebtoken::{EncodingKey, Header, encode};
use reqwest::{Response, StatusCode};
use serde_json::Value;
use shared::service_kit::{FaultInjector, Sleeper, Toggles, toggles::ThreadRngDice};
use shared::{Claims, Role, VerifierConfig, demo};
use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
};
use tokio::sync::oneshot;
use user_service::{AppState, Config};

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

/// Starts the service with demo data.
pub async fn spawn_demo() -> TestApp {
    spawn(config(true), None).await
}

/// Starts the service with no data at all.
pub async fn spawn_empty() -> TestApp {
    spawn(config(false), None).await
}

/// Starts the service; `faults` replaces the production fault injector when given.
pub async fn spawn(config: Config, faults: Option<FaultInjector>) -> TestApp {
    let mut state = AppState::from_config(&config).await.unwrap();
    if let Some(faults) = faults {
        state.faults = faults;
    }
    let app = user_service::build_with_state(&config, state)
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

    pub async fn put_json(&self, path: &str, token: &str, body: &Value) -> Response {
        self.client
            .put(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }
}

/// A user a test can mint tokens for.
#[derive(Debug, Clone)]
pub struct User {
    pub id: &'static str,
    pub name: &'static str,
    pub email: Option<&'static str>,
    pub role: Role,
}

pub const STUDENT: User = User {
    id: demo::student::ID,
    name: demo::student::NAME,
    email: Some(demo::student::EMAIL),
    role: Role::Student,
};

pub const ADMIN: User = User {
    id: demo::admin::ID,
    name: demo::admin::NAME,
    email: Some(demo::admin::EMAIL),
    role: Role::Admin,
};

/// A user no seed knows: their profile appears on first contact.
pub const NEWCOMER: User = User {
    id: "7700000001",
    name: "Putu Newcomer",
    email: Some("putu@example.com"),
    role: Role::Student,
};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The claims the auth-service would put in `user`'s access token.
pub fn claims(user: &User) -> Claims {
    Claims {
        sub: user.id.to_owned(),
        name: user.name.to_owned(),
        role: user.role,
        exp: now() + 600,
        iat: now(),
        iss: demo::ISSUER.to_owned(),
        aud: demo::AUDIENCE.to_owned(),
        jti: uuid::Uuid::new_v4().to_string(),
        email: user.email.map(str::to_owned),
        scope: None,
    }
}

/// Signs `claims` with the demo HS256 secret (no `kid`), as the auth-service does in demo mode.
pub fn sign(claims: &Claims) -> String {
    encode(
        &Header::default(),
        claims,
        &EncodingKey::from_secret(demo::HS256_SECRET.as_bytes()).unwrap(),
    )
    .unwrap()
}

pub fn token(user: &User) -> String {
    sign(&claims(user))
}

/// The lecture's attack: decode the payload, change `"role":"STUDENT"` into `"ADMIN"`, encode it
/// again and keep the original signature.
pub fn tamper_role_to_admin(token: &str) -> String {
    let mut parts = token.split('.');
    let (header, payload, signature) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let json = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert!(json.contains("\"role\":\"STUDENT\""), "{json}");
    let forged = json.replace("\"role\":\"STUDENT\"", "\"role\":\"ADMIN\"");
    format!("{header}.{}.{signature}", URL_SAFE_NO_PAD.encode(forged))
}

/// Asserts a problem+json answer with this status and reason, and returns its body.
pub async fn assert_problem(response: Response, status: StatusCode, reason: &str) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "an error must be problem+json"
    );
    assert!(response.headers().contains_key("x-request-id"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["reason"], reason, "{body}");
    assert_eq!(body["status"], status.as_u16());
    assert!(body["request_id"].is_string(), "{body}");
    body
}

/// A sleeper that records what it was asked to wait and returns at once.
#[derive(Debug, Default)]
pub struct RecordingSleeper(pub Mutex<Vec<Duration>>);

impl Sleeper for RecordingSleeper {
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        self.0.lock().unwrap().push(duration);
        Box::pin(async {})
    }
}

/// A production injector whose sleeps are recorded instead of waited.
pub fn recording_injector(toggles: Toggles) -> (FaultInjector, Arc<RecordingSleeper>) {
    let sleeper = Arc::new(RecordingSleeper::default());
    let injector = FaultInjector::with_parts(toggles, Arc::new(ThreadRngDice), sleeper.clone());
    (injector, sleeper)
}
