use crate::helpers::*;
use auth_service::config::{KeyAlgorithm, SigningConfig, SigningKeyConfig};
use jsonwebtoken::jwk::JwkSet;
use reqwest::StatusCode;
use serde_json::Value;
use shared::{TokenError, TokenVerifier, VerificationKey};

fn config_with(keys: Vec<SigningKeyConfig>) -> auth_service::Config {
    auth_service::Config {
        signing: SigningConfig { keys },
        ..test_config()
    }
}

async fn jwks(app: &TestApp) -> JwkSet {
    let response = app.get("/.well-known/jwks.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// A verifier built the way the gateway builds one from a JWKS URL.
fn verifier_from(set: &JwkSet) -> TokenVerifier {
    TokenVerifier::new(verifier_settings(), VerificationKey::from_jwks(set))
}

async fn user_token(app: &TestApp) -> String {
    app.register("ada@example.edu", "long enough pw", "Ada")
        .await;
    app.login("ada@example.edu", "long enough pw")
        .await
        .access_token
}

#[tokio::test]
async fn rs256_tokens_verify_with_the_published_jwks() {
    let app = spawn_app_with(config_with(vec![file_key(
        "rsa-a",
        KeyAlgorithm::RS256,
        "rsa-2048.pem",
    )]))
    .await;
    let token = user_token(&app).await;
    let header = jwt_header(&token);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], "rsa-a");
    let set = jwks(&app).await;
    assert_eq!(set.keys.len(), 1);
    let claims = verifier_from(&set).verify(&token).unwrap();
    assert_eq!(claims.email.as_deref(), Some("ada@example.edu"));
    // And with the PEM public key directly, as a static-key verifier would.
    let pem = std::fs::read(fixture("rsa-2048.pub.pem")).unwrap();
    let key = VerificationKey::rsa_pem(Some("rsa-a".into()), &pem).unwrap();
    TokenVerifier::new(verifier_settings(), vec![key])
        .verify(&token)
        .unwrap();
}

#[tokio::test]
async fn eddsa_tokens_verify_with_the_published_jwks() {
    let app = spawn_app_with(config_with(vec![file_key(
        "ed-1",
        KeyAlgorithm::EdDSA,
        "ed25519.pem",
    )]))
    .await;
    let token = user_token(&app).await;
    assert_eq!(jwt_header(&token)["alg"], "EdDSA");
    let raw: Value = app
        .get("/.well-known/jwks.json")
        .await
        .json()
        .await
        .unwrap();
    let jwk = &raw["keys"][0];
    assert_eq!(jwk["kty"], "OKP");
    assert_eq!(jwk["crv"], "Ed25519");
    assert_eq!(jwk["use"], "sig");
    assert_eq!(jwk["alg"], "EdDSA");
    assert_eq!(jwk["kid"], "ed-1");
    let set: JwkSet = serde_json::from_value(raw).unwrap();
    verifier_from(&set).verify(&token).unwrap();
    let pem = std::fs::read(fixture("ed25519.pub.pem")).unwrap();
    let key = VerificationKey::ed25519_pem(Some("ed-1".into()), &pem).unwrap();
    TokenVerifier::new(verifier_settings(), vec![key])
        .verify(&token)
        .unwrap();
}

#[tokio::test]
async fn hs256_secrets_are_never_published() {
    let app = spawn_app_with(config_with(vec![
        hs256_key(TEST_SECRET),
        file_key("rsa-a", KeyAlgorithm::RS256, "rsa-2048.pem"),
    ]))
    .await;
    let raw: Value = app
        .get("/.well-known/jwks.json")
        .await
        .json()
        .await
        .unwrap();
    let text = raw.to_string();
    assert!(!text.contains(TEST_SECRET));
    let keys = raw["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kty"], "RSA");
    assert!(keys[0]["n"].is_string() && keys[0]["e"] == "AQAB");
    assert!(keys[0].get("d").is_none(), "no private part");

    let app = spawn_app().await;
    let raw: Value = app
        .get("/.well-known/jwks.json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(raw, serde_json::json!({"keys": []}));
}

#[tokio::test]
async fn rotation_signs_with_the_newest_key_and_retires_removed_ones() {
    let key_a = file_key("rsa-a", KeyAlgorithm::RS256, "rsa-2048.pem");
    let key_b = file_key("rsa-b", KeyAlgorithm::RS256, "rsa-2048-b.pem");

    // Before: only A.
    let before = spawn_app_with(config_with(vec![key_a.clone()])).await;
    let old_token = user_token(&before).await;

    // During: A then B. New tokens use B; A's tokens still verify, here and via the JWKS.
    let during = spawn_app_with(config_with(vec![key_a.clone(), key_b.clone()])).await;
    let new_token = user_token(&during).await;
    assert_eq!(jwt_header(&new_token)["kid"], "rsa-b");
    let set = jwks(&during).await;
    assert_eq!(set.keys.len(), 2);
    let verifier = verifier_from(&set);
    verifier.verify(&old_token).unwrap();
    verifier.verify(&new_token).unwrap();
    during.state.verifier.verify(&old_token).await.unwrap();

    // After: only B. A's tokens are refused by a verifier built from the new JWKS.
    let after = spawn_app_with(config_with(vec![key_b])).await;
    let verifier = verifier_from(&jwks(&after).await);
    assert_eq!(verifier.verify(&old_token), Err(TokenError::UnknownKid));
    verifier.verify(&new_token).unwrap();
}

#[tokio::test]
async fn hs256_keys_rotate_by_kid_too() {
    let old = SigningKeyConfig {
        kid: Some("hs-old".into()),
        ..hs256_key("an-older-test-secret-that-is-long-enough-0123")
    };
    let before = spawn_app_with(config_with(vec![old.clone()])).await;
    let old_token = user_token(&before).await;
    assert_eq!(jwt_header(&old_token)["kid"], "hs-old");
    let during = spawn_app_with(config_with(vec![old, hs256_key(TEST_SECRET)])).await;
    let new_token = user_token(&during).await;
    assert!(jwt_header(&new_token).get("kid").is_none());
    during.state.verifier.verify(&old_token).await.unwrap();
    hs256_verifier().verify(&new_token).unwrap();
}

async fn refused(keys: Vec<SigningKeyConfig>, demo: bool) -> String {
    let config = auth_service::Config {
        demo,
        ..config_with(keys)
    };
    match try_spawn_app_with(config).await {
        Ok(_) => panic!("the service started with a key it must refuse"),
        Err(error) => format!("{error:#}"),
    }
}

#[tokio::test]
async fn weak_or_public_keys_are_refused_outside_demo_mode_with_a_fix() {
    let error = refused(vec![hs256_key("too-short-secret")], false).await;
    assert!(
        error.contains("16 bytes") && error.contains("at least 32"),
        "{error}"
    );

    let error = refused(vec![hs256_key(shared::demo::HS256_SECRET)], false).await;
    assert!(error.contains("public demo secret"), "{error}");

    let weak = file_key("weak", KeyAlgorithm::RS256, "rsa-1024-weak.pem");
    let error = refused(vec![weak.clone()], false).await;
    assert!(
        error.contains("1024 bits") && error.contains("2048"),
        "{error}"
    );

    let error = refused(vec![], false).await;
    assert!(error.contains("no signing key"), "{error}");

    let no_kid = SigningKeyConfig {
        kid: None,
        ..file_key("x", KeyAlgorithm::RS256, "rsa-2048.pem")
    };
    let error = refused(vec![no_kid], false).await;
    assert!(error.contains("kid"), "{error}");

    // Demo mode accepts the public demo secret (that is what it is for).
    let config = auth_service::Config {
        demo: true,
        ..config_with(vec![hs256_key(shared::demo::HS256_SECRET)])
    };
    try_spawn_app_with(config).await.unwrap();
}

#[tokio::test]
async fn the_public_demo_secret_with_demo_mode_off_is_refused_with_the_fix() {
    let error = refused(vec![hs256_key(shared::demo::HS256_SECRET)], false).await;
    test_support::tokens::assert_refuses_the_public_demo_secret(&error);
}
