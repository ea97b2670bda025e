//! The same storage scenario against SQLite (always) and Postgres (when `TEST_POSTGRES_URL` names
//! a server; CI must set it, so there a missing URL is a failure, not a skip).

use crate::helpers::*;
use crate::oauth::{SECRET, confidential, public_client};
use auth_service::{codes, config::ClientConfig};
use reqwest::StatusCode;
use shared::service_kit::db::DatabaseConfig;
use sqlx::{Connection, postgres::PgConnection};

/// Register, duplicate (answered alike, storing nothing), login, refresh rotation, reuse
/// detection, logout, an OAuth client's session (bound refresh token, introspection,
/// revocation), an authorization code redeemed twice, demo seed twice.
async fn scenario(database_url: &str) {
    let hash = auth_service::passwords::hash(SECRET.into()).await.unwrap();
    let config = auth_service::Config {
        database: DatabaseConfig {
            url: database_url.to_owned(),
            ..DatabaseConfig::default()
        },
        clients: vec![
            public_client("spa", &["password", "refresh_token"]),
            ClientConfig {
                introspect: true,
                ..confidential("rs", &hash)
            },
        ],
        ..test_config()
    };
    let app = spawn_app_with(config.clone()).await;
    assert_eq!(app.get("/readyz").await.status(), StatusCode::OK);
    let user = app
        .register("ada@example.edu", "long enough pw", "Ada")
        .await;
    // A taken e-mail is answered as a new one (no enumeration), and stores nothing.
    let response = app
        .post_register("ada@example.edu", "another password", "Ada 2")
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let stored = app
        .state
        .store
        .user_by_email("ada@example.edu")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.id.as_str(), stored.name.as_str()),
        (user.id.as_str(), "Ada")
    );

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

    let oauth = tokens(
        app.post_token(&password_grant("spa", "long enough pw"))
            .await,
    )
    .await;
    let introspect = |token: String| {
        let app = &app;
        async move {
            let response = app
                .client
                .post(app.url("/oauth/introspect"))
                .basic_auth("rs", Some(SECRET))
                .form(&[("token", token)])
                .send()
                .await
                .unwrap();
            response.json::<serde_json::Value>().await.unwrap()["active"].clone()
        }
    };
    assert_eq!(introspect(oauth.access_token.clone()).await, true);
    assert_eq!(introspect(third.access_token.clone()).await, false);
    let response = app.post_refresh(&oauth.refresh_token).await;
    assert_problem(
        response,
        StatusCode::UNAUTHORIZED,
        "refresh_token_wrong_client",
    )
    .await;
    let second_oauth = tokens(
        app.post_token(&password_grant("spa", "long enough pw"))
            .await,
    )
    .await;
    let response = app
        .client
        .post(app.url("/oauth/revoke"))
        .form(&[("client_id", "spa"), ("token", &second_oauth.refresh_token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(introspect(second_oauth.access_token.clone()).await, false);

    // An authorization code: redeemed once; a second redemption revokes what the first gave.
    let code = codes::issue(
        &app.state,
        codes::NewCode {
            client_id: "spa",
            user_id: &user.id,
            redirect_uri: Some("http://127.0.0.1/cb"),
            code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            scope: None,
        },
    )
    .await
    .unwrap();
    let redeem = || {
        codes::redeem(
            &app.state,
            codes::Redemption {
                code: &code,
                client_id: "spa",
                redirect_uri: Some("http://127.0.0.1/cb"),
                code_verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            },
        )
    };
    let pair = redeem().await.expect("the first redemption");
    assert_eq!(introspect(pair.access_token.clone()).await, true);
    assert!(matches!(redeem().await, Err(codes::RedeemError::Reused)));
    assert_eq!(introspect(pair.access_token.clone()).await, false);
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
        assert_eq!(claims.sub, user.id);
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
