//! Spawning the user-service per test (on `test_support`'s [`TestServer`]), and the users a test
//! can mint tokens for.

use shared::service_kit::toggles::ThreadRngDice;
use shared::service_kit::{FaultInjector, Toggles, toggles::RecordingSleeper};
use shared::{Role, demo};
use std::sync::Arc;
use test_support::tokens::{TEST_HS256_SECRET, claims_for, sign_hs256, test_verifier_config};
use user_service::{AppState, Config, config::ServerConfig};

pub use test_support::tokens::{assert_refuses_the_public_demo_secret, tamper_role_to_admin};
pub use test_support::{TestServer, assert_problem};

/// A running user-service (address, client, `get`, `put_json`, …). Dropping it shuts the server
/// down.
pub type TestApp = TestServer;

/// A test configuration: port 0, the test secret, demo data on or off.
pub fn config(demo: bool) -> Config {
    Config {
        demo,
        server: ServerConfig::listening_on("127.0.0.1:0".parse().unwrap()),
        auth: Some(test_verifier_config()),
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
    let app = user_service::App::bind(&config.server, user_service::router, state)
        .await
        .unwrap();
    TestServer::start(app.local_addr(), |shutdown| app.run_until(shutdown))
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

/// A user no seed knows: no profile until the auth-service provisions one.
pub const NEWCOMER: User = User {
    id: "7700000001",
    name: "Putu Newcomer",
    email: Some("putu@example.com"),
    role: Role::Student,
};

/// The claims the auth-service would put in `user`'s access token.
pub fn claims(user: &User) -> shared::Claims {
    claims_for(user.id, user.name, user.role, user.email)
}

/// Signs `claims` with the secret the test service trusts (HS256, no `kid`).
pub fn sign(claims: &shared::Claims) -> String {
    sign_hs256(claims, TEST_HS256_SECRET)
}

pub fn token(user: &User) -> String {
    sign(&claims(user))
}

/// A production injector whose sleeps are recorded instead of waited.
pub fn recording_injector(toggles: Toggles) -> (FaultInjector, Arc<RecordingSleeper>) {
    let sleeper = Arc::new(RecordingSleeper::default());
    let injector = FaultInjector::with_parts(toggles, Arc::new(ThreadRngDice), sleeper.clone());
    (injector, sleeper)
}

/// The token the auth-service signs for itself to provision profiles.
pub fn provisioning_token() -> String {
    let mut claims = claims_for(
        shared::provisioning::SUBJECT,
        shared::provisioning::SUBJECT,
        Role::Service,
        None,
    );
    claims.scope = Some(shared::provisioning::SCOPE.to_owned());
    sign(&claims)
}

/// Provisions `user`'s profile as the auth-service does; returns the stored profile.
pub async fn provision(app: &TestApp, user: &User) -> serde_json::Value {
    let response = app
        .client
        .put(app.url(&shared::provisioning::path(user.id)))
        .bearer_auth(provisioning_token())
        .json(&serde_json::json!({
            "email": user.email.unwrap_or("none@example.edu"),
            "name": user.name,
            "role": user.role,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "provisioning {}", user.id);
    response.json().await.unwrap()
}
