//! Spawning the billing-service per test (on `test_support`'s [`TestServer`], with a manual
//! clock), and minting the tokens the auth-service would issue.

use billing_service::{AppState, Config, config::ServerConfig};
use shared::clock::{ManualClock, SharedClock};
use shared::service_kit::FaultInjector;
use shared::{Role, demo};
use test_support::tokens::{TEST_HS256_SECRET, claims_for, sign_hs256, test_verifier_config};
use time::{Date, macros::date};

pub use test_support::tokens::{assert_refuses_the_public_demo_secret, tamper_role_to_admin};
pub use test_support::{TestServer, assert_problem};

/// "Today" in every test unless a test says otherwise.
pub const TODAY: Date = date!(2026 - 03 - 15);

/// A running billing-service (address, client, `get`, `get_json`, `post_json`, …). Dropping it
/// shuts the server down.
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
    spawn_with_clock(config, clock_on(today).shared(), faults).await
}

/// The service reading the date from `clock`.
pub async fn spawn_with_clock(
    config: Config,
    clock: SharedClock,
    faults: Option<FaultInjector>,
) -> TestApp {
    let mut state = AppState::from_config(&config, clock).await.unwrap();
    if let Some(faults) = faults {
        state.faults = faults;
    }
    let app = billing_service::App::bind(&config.server, billing_service::router, state)
        .await
        .unwrap();
    TestServer::start(app.local_addr(), |shutdown| app.run_until(shutdown))
}

/// A manual clock at noon (UTC) on `day`: advancing it by whole days keeps it mid-day, so the
/// date changes exactly when a test says so.
pub fn clock_on(day: Date) -> ManualClock {
    let noon = day
        .with_hms(12, 0, 0)
        .unwrap()
        .assume_utc()
        .unix_timestamp();
    ManualClock::at_unix_secs(u64::try_from(noon).unwrap())
}

/// Signs `claims` with the secret the test service trusts (HS256, no `kid`).
pub fn sign(claims: &shared::Claims) -> String {
    sign_hs256(claims, TEST_HS256_SECRET)
}

/// The claims the auth-service would issue.
pub fn claims(sub: &str, name: &str, role: Role) -> shared::Claims {
    claims_for(sub, name, role, None)
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
