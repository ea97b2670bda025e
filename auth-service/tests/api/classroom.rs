//! Classroom mode (forty seeded students, the instructor's admin password, refused public
//! password beyond loopback), the access-token lifetime setting, and profile provisioning: the
//! auth-service tells the user-service about every account it registers and every login.

use crate::helpers::*;
use auth_service::config::{ClassroomConfig, ServerConfig};
use axum::{Json, Router, extract::Path, routing::put};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::Value;
use shared::{Role, TokenVerifier, VerificationKey, demo, provisioning};
use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};

fn classroom_config(admin_password: Option<&str>) -> auth_service::Config {
    auth_service::Config {
        server: ServerConfig::listening_on(SocketAddr::from(([127, 0, 0, 1], 0))),
        classroom: ClassroomConfig {
            enabled: true,
            admin_password: admin_password.map(SecretString::from),
        },
        ..auth_service::Config::demo()
    }
}

#[tokio::test]
async fn classroom_mode_seeds_forty_students_who_each_log_in() {
    let app = spawn_app_with(classroom_config(None)).await;
    for n in [1, 7, 40] {
        let student = demo::classroom::student(n);
        let response = app.post_login(&student.email, &student.password).await;
        assert_eq!(response.status(), StatusCode::OK, "{}", student.email);
    }
    // The 41st does not exist; the demo's own accounts still do.
    let response = app.post_login("student41@example.edu", "student41pw").await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let response = app
        .post_login(demo::student::EMAIL, demo::student::PASSWORD)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    // Loopback without a password of the instructor's: the public one still works (a
    // classroom rehearsal on the instructor's own machine).
    let response = app
        .post_login(demo::admin::EMAIL, demo::admin::PASSWORD)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_instructors_admin_password_replaces_the_public_one() {
    let app = spawn_app_with(classroom_config(Some("correct horse battery"))).await;
    let response = app
        .post_login(demo::admin::EMAIL, demo::admin::PASSWORD)
        .await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let response = app
        .post_login(demo::admin::EMAIL, "correct horse battery")
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn beyond_loopback_classroom_mode_refuses_to_start_with_the_public_admin_password() {
    let mut config = classroom_config(None);
    config.server = ServerConfig::listening_on(SocketAddr::from(([0, 0, 0, 0], 0)));
    let error = try_spawn_app_with(config.clone())
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(error.contains("DEMO_ADMIN_PASSWORD"), "{error}");
    assert!(error.contains("admin123"), "{error}");
    // Naming the public password explicitly is refused too, as is a short one.
    for (password, words) in [
        ("admin123", "public demo password"),
        ("short", "at least 12"),
    ] {
        config.classroom.admin_password = Some(SecretString::from(password));
        let error = try_spawn_app_with(config.clone())
            .await
            .err()
            .expect("refused")
            .to_string();
        assert!(error.contains(words), "{password}: {error}");
        assert!(
            !error.contains("short\""),
            "the password is not echoed: {error}"
        );
    }
    // Classroom mode without demo mode makes no sense: refused by name.
    let mut config = classroom_config(Some("correct horse battery"));
    config.demo = false;
    config.signing.keys = vec![hs256_key(TEST_SECRET)];
    let error = try_spawn_app_with(config)
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(error.contains("classroom.enabled"), "{error}");
}

#[tokio::test]
async fn the_access_token_lifetime_is_configurable_within_bounds() {
    let mut config = test_config();
    config.access_token_ttl_secs = 60;
    let app = spawn_app_with(config).await;
    app.register("ttl@example.edu", "long enough pw", "T").await;
    let response = app.post_login("ttl@example.edu", "long enough pw").await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["expires_in"], 60);
    for ttl in [0, 9, 3601] {
        let mut config = test_config();
        config.access_token_ttl_secs = ttl;
        let error = try_spawn_app_with(config)
            .await
            .err()
            .expect("refused")
            .to_string();
        assert!(error.contains("access_token_ttl_secs"), "{ttl}: {error}");
        assert!(error.contains("from 10 to 3600"), "{ttl}: {error}");
    }
}

/// What a stand-in user-service received: `(path, bearer token, body)`.
type Seen = Arc<Mutex<Vec<(String, String, Value)>>>;

async fn fake_user_service() -> (SocketAddr, Seen) {
    let seen: Seen = Arc::default();
    let record = Arc::clone(&seen);
    let app = Router::new().route(
        "/internal/profiles/{id}",
        put(
            move |Path(id): Path<String>, headers: http::HeaderMap, Json(body): Json<Value>| {
                let record = Arc::clone(&record);
                async move {
                    let token =
                        headers["authorization"].to_str().unwrap()["Bearer ".len()..].to_owned();
                    record.lock().unwrap().push((
                        format!("/internal/profiles/{id}"),
                        token,
                        body.clone(),
                    ));
                    Json(body)
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, seen)
}

#[tokio::test]
async fn registration_and_each_login_provision_the_profile_with_a_scoped_service_token() {
    let (users, seen) = fake_user_service().await;
    let mut config = test_config();
    config.provisioning.user_service_urls = vec![format!("http://{users}")];
    let app = spawn_app_with(config).await;
    let user = app
        .register("prov@example.edu", "long enough pw", "Prov")
        .await;
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1, "provisioned before the 201");
        let (path, token, body) = &seen[0];
        assert_eq!(path, &provisioning::path(&user.id));
        assert_eq!(
            body,
            &serde_json::json!({"email": "prov@example.edu", "name": "Prov", "role": "STUDENT"})
        );
        let verifier = TokenVerifier::new(
            verifier_settings(),
            vec![VerificationKey::hs256(None, TEST_SECRET.as_bytes()).unwrap()],
        );
        let claims = verifier.verify(token).unwrap();
        assert_eq!(claims.role, Role::Service);
        assert_eq!(claims.sub, provisioning::SUBJECT);
        assert_eq!(claims.scope.as_deref(), Some(provisioning::SCOPE));
        assert_eq!(claims.exp - claims.iat, provisioning::TOKEN_TTL_SECS);
    }
    // A taken e-mail provisions nothing (nothing was created).
    app.post_register("prov@example.edu", "another long pw", "Dup")
        .await;
    assert_eq!(seen.lock().unwrap().len(), 1);
    // Each successful login brings the profile in line again; a failed one does not.
    app.login("prov@example.edu", "long enough pw").await;
    app.post_login("prov@example.edu", "wrong password").await;
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_user_service_that_is_down_does_not_stop_registration_or_login() {
    // A port nobody listens on: bound, then dropped.
    let addr = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let mut config = test_config();
    config.provisioning.user_service_urls = vec![format!("http://{addr}")];
    let app = spawn_app_with(config).await;
    let response = app
        .post_register("down@example.edu", "long enough pw", "Down")
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let response = app.post_login("down@example.edu", "long enough pw").await;
    assert_eq!(response.status(), StatusCode::OK);
}
