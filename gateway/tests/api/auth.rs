//! Authentication and authorization through the gateway: each refusal with its reason.

use crate::helpers::*;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use shared::{Role, demo};

async fn assert_401(gw: &TestGateway, token: &str, reason: &str) {
    let response = gw
        .oneshot(
            gw.get("/api/users/me")
                .header("authorization", bearer(token)),
        )
        .await;
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_problem(response, 401, reason).await;
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\", error_description=\""),
        "{challenge}"
    );
}

#[tokio::test]
async fn public_routes_need_no_token() {
    let gw = TestGateway::spawn().await;
    let (status, _, body) = parts(gw.oneshot(gw.get("/api/public/x")).await).await;
    assert_eq!(status, 200);
    assert!(body["headers"].get("x-user-id").is_none());
}

#[tokio::test]
async fn required_routes_refuse_a_missing_token() {
    let gw = TestGateway::spawn().await;
    let response = gw.oneshot(gw.get("/api/billing/invoices")).await;
    assert!(response.headers().contains_key("www-authenticate"));
    assert_problem(response, 401, "token_missing").await;
    assert!(gw.echo.seen().is_empty(), "nothing reached the backend");
}

#[tokio::test]
async fn a_token_in_the_query_string_is_ignored() {
    let gw = TestGateway::spawn().await;
    let token = token(Role::Student);
    let response = gw
        .oneshot(gw.get(&format!("/api/users/me?access_token={token}")))
        .await;
    assert_problem(response, 401, "token_missing").await;
}

#[tokio::test]
async fn optional_routes_accept_none_or_a_valid_token_and_refuse_a_bad_one() {
    let gw = TestGateway::spawn().await;
    let (status, _, body) = parts(gw.oneshot(gw.get("/api/optional/x")).await).await;
    assert_eq!(status, 200);
    assert!(body["headers"].get("x-user-id").is_none());

    let (status, _, body) = parts(
        gw.oneshot(
            gw.get("/api/optional/x")
                .header("authorization", bearer(&token(Role::Student))),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["headers"]["x-user-id"][0], demo::student::ID);

    let bad = sign_with(
        &claims(Role::Student),
        b"another-secret-that-is-long-enough!!",
    );
    let response = gw
        .oneshot(
            gw.get("/api/optional/x")
                .header("authorization", bearer(&bad)),
        )
        .await;
    assert_problem(response, 401, "bad_signature").await;
}

#[tokio::test]
async fn the_lectures_tamper_example_student_edited_to_admin_is_401() {
    let gw = TestGateway::spawn().await;
    let token = token(Role::Student);
    let mut pieces: Vec<String> = token.split('.').map(str::to_owned).collect();
    let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(&pieces[1]).unwrap()).unwrap();
    assert!(payload.contains("\"role\":\"STUDENT\""));
    let edited = payload.replace("\"role\":\"STUDENT\"", "\"role\":\"ADMIN\"");
    pieces[1] = URL_SAFE_NO_PAD.encode(edited);
    let tampered = pieces.join(".");
    let response = gw
        .oneshot(
            gw.get("/api/users")
                .header("authorization", bearer(&tampered)),
        )
        .await;
    assert_problem(response, 401, "bad_signature").await;
    assert!(gw.echo.seen().is_empty());
}

#[tokio::test]
async fn the_user_list_needs_admin_but_me_needs_only_a_token() {
    let gw = TestGateway::spawn().await;
    let student = token(Role::Student);
    let response = gw
        .oneshot(
            gw.get("/api/users")
                .header("authorization", bearer(&student)),
        )
        .await;
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_problem(response, 403, "role_required").await;
    assert!(challenge.starts_with("Bearer error=\"insufficient_scope\""));

    // HEAD meets the same policy as GET.
    let response = gw
        .oneshot(
            gw.http
                .head(gw.url("/api/users"))
                .header("authorization", bearer(&student)),
        )
        .await;
    assert_eq!(response.status(), 403);

    let (status, _, body) = parts(
        gw.oneshot(
            gw.get("/api/users")
                .header("authorization", bearer(&token(Role::Admin))),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["uri"], "/users");
    assert_eq!(body["headers"]["x-user-role"][0], "ADMIN");

    let (status, _, body) = parts(
        gw.oneshot(
            gw.get("/api/users/me")
                .header("authorization", bearer(&student)),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["uri"], "/users/me");
}

#[tokio::test]
async fn a_pem_keyed_gateway_verifies_rs256_tokens() {
    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
    let echo = Echo::spawn().await;
    let mut config = test_config(echo.addr).await;
    config.auth.hs256_secret = None;
    config.auth.public_keys = vec![shared::key_source::PublicKeyConfig {
        kid: "key-a".into(),
        alg: "RS256".into(),
        pem_file: format!("{KEYS}/rsa-2048.pub.pem").into(),
    }];
    let gw = TestGateway::spawn_with(echo, config).await;

    let sign_rs = |file: &str, kid: &str| {
        let pem = std::fs::read(format!("{KEYS}/{file}")).unwrap();
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.into());
        encode(
            &header,
            &claims(Role::Student),
            &EncodingKey::from_rsa_pem(&pem).unwrap(),
        )
        .unwrap()
    };
    let (status, _, body) = parts(
        gw.oneshot(
            gw.get("/api/users/me")
                .header("authorization", bearer(&sign_rs("rsa-2048.pem", "key-a"))),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["headers"]["x-user-id"][0], demo::student::ID);

    // Signed by key B but claiming key A's id.
    assert_401(&gw, &sign_rs("rsa-2048-b.pem", "key-a"), "bad_signature").await;
    // An HS256 token (no kid) where only RS256 keys are configured.
    assert_401(&gw, &token(Role::Student), "unknown_kid").await;
}
