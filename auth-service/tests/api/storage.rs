//! The same storage scenario against SQLite (always) and Postgres (when `TEST_POSTGRES_URL` names
//! a server; CI must set it, so there a missing URL is a failure, not a skip).

use crate::helpers::*;
use reqwest::StatusCode;
use shared::service_kit::db::DatabaseConfig;
use sqlx::{Connection, postgres::PgConnection};

/// Register, duplicate, login, refresh rotation, reuse detection, logout, demo seed twice.
async fn scenario(database_url: &str) {
    let config = auth_service::Config {
        database: DatabaseConfig {
            url: database_url.to_owned(),
            ..DatabaseConfig::default()
        },
        ..test_config()
    };
    let app = spawn_app_with(config.clone()).await;
    assert_eq!(app.get("/readyz").await.status(), StatusCode::OK);
    let user = app
        .register("ada@example.edu", "long enough pw", "Ada")
        .await;
    let response = app
        .post_register("ada@example.edu", "long enough pw", "Ada")
        .await;
    assert_problem(response, StatusCode::CONFLICT, "email_taken").await;

    let first = app.login("ada@example.edu", "long enough pw").await;
    let second = tokens(app.post_refresh(&first.refresh_token).await).await;
    let response = app.post_refresh(&first.refresh_token).await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "refresh_token_reused").await;
    let response = app.post_refresh(&second.refresh_token).await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "refresh_token_revoked").await;

    let third = app.login("ada@example.edu", "long enough pw").await;
    let response = app
        .post_logout(&third.access_token, &third.refresh_token)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    drop(app);

    // The data outlives a restart; demo seeding twice on the same database is harmless.
    let demo = auth_service::Config {
        demo: true,
        ..config
    };
    for _ in 0..2 {
        let app = spawn_app_with(demo.clone()).await;
        let again = app.login("ada@example.edu", "long enough pw").await;
        let claims = hs256_verifier().verify(&again.access_token).unwrap();
        assert_eq!(claims.sub, user["id"].as_str().unwrap());
        app.login(shared::demo::admin::EMAIL, shared::demo::admin::PASSWORD)
            .await;
    }
}

#[tokio::test]
async fn storage_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("auth-store-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    scenario(&format!(
        "sqlite://{}?mode=rwc",
        dir.join("auth.db").display()
    ))
    .await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn storage_on_postgres() {
    let Ok(server_url) = std::env::var("TEST_POSTGRES_URL") else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("TEST_POSTGRES_URL is not set, and CI must run the Postgres storage tests");
        }
        println!("skipping: TEST_POSTGRES_URL not set");
        return;
    };
    // A database of our own, dropped at the end.
    let name = format!("auth_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&server_url)
        .await
        .expect("connect to TEST_POSTGRES_URL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let (base, _) = server_url
        .rsplit_once('/')
        .expect("TEST_POSTGRES_URL looks like postgres://user@host:port/db");
    let result = tokio::spawn({
        let url = format!("{base}/{name}");
        async move { scenario(&url).await }
    })
    .await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic.into_panic());
    }
}
