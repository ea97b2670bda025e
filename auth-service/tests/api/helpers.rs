//! Starting the auth-service for a test (on `test_support`'s [`TestServer`], with a manual
//! clock), and typed helpers for its endpoints.

use auth_service::{
    Config,
    config::{KeyAlgorithm, ServerConfig, SigningConfig, SigningKeyConfig},
    store::User,
};
use reqwest::{Response, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};
use shared::clock::ManualClock;
use shared::{TokenVerifier, VerificationKey, VerifierSettings};
use std::{net::SocketAddr, time::Duration};
use test_support::TestServer;

pub use test_support::assert_problem;

/// The HS256 secret of test configurations (not the demo secret, so non-demo mode accepts it).
pub const TEST_SECRET: &str = test_support::tokens::TEST_HS256_SECRET;

/// A fixture key file under `tests/fixtures/keys`.
pub fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/keys")
        .join(name)
}

pub fn hs256_key(secret: &str) -> SigningKeyConfig {
    SigningKeyConfig {
        kid: None,
        alg: KeyAlgorithm::HS256,
        secret: Some(SecretString::from(secret)),
        private_key_file: None,
    }
}

pub fn file_key(kid: &str, alg: KeyAlgorithm, file: &str) -> SigningKeyConfig {
    SigningKeyConfig {
        kid: Some(kid.to_owned()),
        alg,
        secret: None,
        private_key_file: Some(fixture(file)),
    }
}

/// A non-demo configuration: port 0, in-memory SQLite, the test HS256 secret.
pub fn test_config() -> Config {
    Config {
        server: ServerConfig::listening_on(SocketAddr::from(([127, 0, 0, 1], 0))),
        signing: SigningConfig {
            keys: vec![hs256_key(TEST_SECRET)],
        },
        ..Config::default()
    }
}

/// A running auth-service: the shared [`TestServer`] (address, client, `url`, …), the clock it
/// reads and its state. Dropping it stops the server.
pub struct TestApp {
    server: TestServer,
    pub clock: ManualClock,
    pub state: auth_service::AppState,
}

impl std::ops::Deref for TestApp {
    type Target = TestServer;

    fn deref(&self) -> &TestServer {
        &self.server
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(test_config()).await
}

pub async fn spawn_app_with(config: Config) -> TestApp {
    try_spawn_app_with(config)
        .await
        .expect("the service starts")
}

pub async fn try_spawn_app_with(config: Config) -> anyhow::Result<TestApp> {
    let clock = ManualClock::new();
    let app = auth_service::build_with_clock(config, clock.shared()).await?;
    let state = app.state().clone();
    let server = TestServer::start(app.local_addr(), |shutdown| app.run_until(shutdown));
    Ok(TestApp {
        server,
        clock,
        state,
    })
}

/// The tokens of a successful login or refresh.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
}

impl TestApp {
    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// `GET path` without a token.
    pub async fn get(&self, path: &str) -> Response {
        self.server.get(path, None).await
    }

    pub async fn post_register(&self, email: &str, password: &str, name: &str) -> Response {
        self.post_json(
            "/auth/register",
            &json!({"email": email, "password": password, "name": name}),
        )
        .await
    }

    /// Registers, asserts 201, and returns the stored account (the response does not say
    /// whether one was created: registration is enumeration-safe).
    pub async fn register(&self, email: &str, password: &str, name: &str) -> User {
        let response = self.post_register(email, password, name).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let email = auth_service::accounts::normalize_email(email).unwrap();
        self.state
            .store
            .user_by_email(&email)
            .await
            .unwrap()
            .expect("the account was stored")
    }

    pub async fn post_login(&self, email: &str, password: &str) -> Response {
        self.post_json(
            "/auth/login",
            &json!({"email": email, "password": password}),
        )
        .await
    }

    /// Logs in and asserts 200.
    pub async fn login(&self, email: &str, password: &str) -> Tokens {
        let response = self.post_login(email, password).await;
        assert_eq!(response.status(), StatusCode::OK);
        tokens(response).await
    }

    pub async fn post_refresh(&self, refresh_token: &str) -> Response {
        self.post_json("/auth/refresh", &json!({"refresh_token": refresh_token}))
            .await
    }

    pub async fn post_logout(&self, access_token: &str, refresh_token: &str) -> Response {
        self.client
            .post(self.url("/auth/logout"))
            .bearer_auth(access_token)
            .json(&json!({"refresh_token": refresh_token}))
            .send()
            .await
            .unwrap()
    }

    pub async fn post_token(&self, form: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url("/oauth/token"))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_token_basic(
        &self,
        id: &str,
        secret: &str,
        form: &[(&str, &str)],
    ) -> Response {
        self.client
            .post(self.url("/oauth/token"))
            .basic_auth(id, Some(secret))
            .form(form)
            .send()
            .await
            .unwrap()
    }
}

/// Reads a token pair from a 200 response.
pub async fn tokens(response: Response) -> Tokens {
    let body: Value = response.json().await.unwrap();
    Tokens {
        access_token: body["access_token"].as_str().unwrap().to_owned(),
        refresh_token: body["refresh_token"].as_str().unwrap().to_owned(),
    }
}

/// Asserts an RFC 6749 §5.2 error response and returns its body.
pub async fn assert_oauth_error(response: Response, status: StatusCode, error: &str) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    assert!(body["error_description"].is_string(), "{body}");
    body
}

/// Verifier settings matching the default configuration's issuer and audience.
pub fn verifier_settings() -> VerifierSettings {
    VerifierSettings {
        leeway: Duration::from_secs(0),
        ..VerifierSettings::new(shared::demo::ISSUER, shared::demo::AUDIENCE)
    }
}

/// A verifier for the test HS256 secret, as the gateway would build it.
pub fn hs256_verifier() -> TokenVerifier {
    TokenVerifier::new(
        verifier_settings(),
        vec![VerificationKey::hs256(None, TEST_SECRET.as_bytes()).unwrap()],
    )
}

/// The decoded JSON header of a JWT.
pub fn jwt_header(token: &str) -> Value {
    use base64::Engine;
    let first = token.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(first)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// The OAuth password grant for the tests' user `ada@example.edu`, through `client_id`.
pub fn password_grant<'a>(client_id: &'a str, password: &'a str) -> [(&'static str, &'a str); 4] {
    [
        ("grant_type", "password"),
        ("client_id", client_id),
        ("username", "ada@example.edu"),
        ("password", password),
    ]
}
