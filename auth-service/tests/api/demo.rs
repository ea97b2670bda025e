use crate::helpers::*;
use auth_service::config::ServerConfig;
use reqwest::StatusCode;
use shared::service_kit::db::DatabaseConfig;
use shared::{Role, TokenVerifier, VerificationKey, demo};
use std::net::SocketAddr;

fn demo_config() -> auth_service::Config {
    auth_service::Config {
        server: ServerConfig::listening_on(SocketAddr::from(([127, 0, 0, 1], 0))),
        ..auth_service::Config::demo()
    }
}

#[test]
fn config_demo_is_the_documented_demo_set_up() {
    let config = auth_service::Config::demo();
    assert!(config.demo);
    assert_eq!(
        config.server.listen,
        SocketAddr::from(([127, 0, 0, 1], 8081))
    );
    assert_eq!(config.database.url, "sqlite::memory:");
    assert_eq!(config.issuer, demo::ISSUER);
    assert_eq!(config.audience, demo::AUDIENCE);
    let defaults = auth_service::Config::default();
    assert!(!defaults.demo, "demo mode is off unless asked for");
    assert!(defaults.signing.keys.is_empty());
}

#[tokio::test]
async fn demo_mode_seeds_the_two_accounts_with_stable_ids() {
    let app = spawn_app_with(demo_config()).await;
    let verifier = TokenVerifier::new(
        verifier_settings(),
        vec![VerificationKey::hs256(None, demo::HS256_SECRET.as_bytes()).unwrap()],
    );
    let student = app
        .login(demo::student::EMAIL, demo::student::PASSWORD)
        .await;
    let claims = verifier.verify(&student.access_token).unwrap();
    assert_eq!(claims.sub, demo::student::ID);
    assert_eq!(claims.name, demo::student::NAME);
    assert_eq!(claims.role, Role::Student);
    assert_eq!(
        jwt_header(&student.access_token),
        serde_json::json!({"alg":"HS256","typ":"JWT"})
    );

    let admin = app.login(demo::admin::EMAIL, demo::admin::PASSWORD).await;
    let claims = verifier.verify(&admin.access_token).unwrap();
    assert_eq!(claims.sub, demo::admin::ID);
    assert_eq!(claims.name, demo::admin::NAME);
    assert_eq!(claims.role, Role::Admin);
}

#[tokio::test]
async fn nothing_is_seeded_outside_demo_mode() {
    let app = spawn_app().await;
    let response = app
        .post_login(demo::student::EMAIL, demo::student::PASSWORD)
        .await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
}

#[tokio::test]
async fn seeding_is_idempotent_across_restarts() {
    let dir = std::env::temp_dir().join(format!("auth-demo-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("auth.db").display());
    let config = auth_service::Config {
        database: DatabaseConfig {
            url,
            ..DatabaseConfig::default()
        },
        ..demo_config()
    };
    let first = spawn_app_with(config.clone()).await;
    first
        .login(demo::student::EMAIL, demo::student::PASSWORD)
        .await;
    drop(first);
    let second = spawn_app_with(config).await;
    second
        .login(demo::student::EMAIL, demo::student::PASSWORD)
        .await;
    let user = second
        .state
        .store
        .user_by_email(demo::student::EMAIL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.id, demo::student::ID);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn demo_mode_without_keys_signs_with_the_demo_secret() {
    let config = auth_service::Config {
        demo: true,
        server: ServerConfig::listening_on(SocketAddr::from(([127, 0, 0, 1], 0))),
        ..auth_service::Config::default()
    };
    let app = spawn_app_with(config).await;
    let pair = app
        .login(demo::student::EMAIL, demo::student::PASSWORD)
        .await;
    let verifier = TokenVerifier::new(
        verifier_settings(),
        vec![VerificationKey::hs256(None, demo::HS256_SECRET.as_bytes()).unwrap()],
    );
    verifier.verify(&pair.access_token).unwrap();
}

#[tokio::test]
async fn demo_mode_declares_the_two_demo_clients() {
    use auth_service::clients::demo as clients;
    let app = spawn_app_with(demo_config()).await;

    // classroom-app: public, client_id alone, the user grants; its redirect URIs are stored.
    let response = app
        .post_token(&[
            ("grant_type", "password"),
            ("client_id", clients::CLASSROOM_APP),
            ("username", demo::student::EMAIL),
            ("password", demo::student::PASSWORD),
        ])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    let response = app
        .post_token(&[
            ("grant_type", "refresh_token"),
            ("client_id", clients::CLASSROOM_APP),
            ("refresh_token", body["refresh_token"].as_str().unwrap()),
        ])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let classroom = app.state.clients.get(clients::CLASSROOM_APP).unwrap();
    assert!(classroom.is_public());
    assert!(classroom.may_use("authorization_code"));
    assert!(
        classroom
            .redirect_uris
            .contains(&"http://localhost:8080/console/callback".to_owned())
    );
    assert!(
        classroom
            .redirect_uris
            .contains(&"http://127.0.0.1/callback".to_owned())
    );

    // reporting-job: confidential, client_credentials with billing:read, may introspect.
    let response = app
        .post_token_basic(
            clients::REPORTING_JOB,
            clients::REPORTING_SECRET,
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["scope"], "billing:read");
    let reporting = app.state.clients.get(clients::REPORTING_JOB).unwrap();
    assert!(!reporting.is_public());
    assert!(reporting.introspect);
}

#[tokio::test]
async fn no_demo_client_exists_outside_demo_mode() {
    let app = spawn_app().await;
    let response = app
        .post_token_basic(
            auth_service::clients::demo::REPORTING_JOB,
            auth_service::clients::demo::REPORTING_SECRET,
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
}
