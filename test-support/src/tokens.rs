//! Tokens as the auth-service would issue them, minted in the test, and the lecture's attack.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{EncodingKey, Header, encode};
use shared::{Claims, Role, VerifierConfig, demo};
use std::time::{SystemTime, UNIX_EPOCH};

/// An HS256 secret for test configurations that run with demo mode off (where the public demo
/// secret is refused): long enough, and not the demo secret.
pub const TEST_HS256_SECRET: &str = "test-only-hs256-secret-0123456789-abcdefghijklmnop";

/// An `[auth]` section that trusts [`TEST_HS256_SECRET`] with the demo issuer and audience.
pub fn test_verifier_config() -> VerifierConfig {
    VerifierConfig {
        hs256_secret: Some(TEST_HS256_SECRET.into()),
        ..VerifierConfig::demo()
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs()
}

/// The claims of an access token for `sub`, valid for ten minutes from now, with the demo
/// issuer and audience.
pub fn claims_for(sub: &str, name: &str, role: Role, email: Option<&str>) -> Claims {
    let now = unix_now();
    Claims {
        sub: sub.to_owned(),
        name: name.to_owned(),
        role,
        exp: now + 600,
        iat: now,
        iss: demo::ISSUER.to_owned(),
        aud: demo::AUDIENCE.to_owned(),
        jti: uuid::Uuid::new_v4().to_string(),
        email: email.map(str::to_owned),
        scope: None,
    }
}

/// Signs `claims` with an HS256 `secret` and no `kid`, as the auth-service does with an HS256 key.
pub fn sign_hs256(claims: &Claims, secret: &str) -> String {
    encode(
        &Header::default(),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()).expect("any secret makes an HS256 key"),
    )
    .expect("claims serialise")
}

/// The lecture's attack: decode the payload, change `"role":"STUDENT"` into `"ADMIN"`, encode it
/// again and keep the original signature.
pub fn tamper_role_to_admin(token: &str) -> String {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature)) = (parts.next(), parts.next(), parts.next())
    else {
        panic!("not a JWT: {token}");
    };
    let json = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).expect("base64url payload"))
        .expect("a UTF-8 payload");
    assert!(json.contains("\"role\":\"STUDENT\""), "{json}");
    let forged = json.replace("\"role\":\"STUDENT\"", "\"role\":\"ADMIN\"");
    format!("{header}.{}.{signature}", URL_SAFE_NO_PAD.encode(forged))
}

/// Asserts that a start-up error refuses the public demo secret the way every service must
/// (`shared::token_rules`): it says what is wrong, names the fix (`demo = true`, or a secret of
/// at least 32 bytes), and does not quote the secret.
pub fn assert_refuses_the_public_demo_secret(error: &str) {
    assert!(error.contains("public demo secret"), "{error}");
    assert!(
        error.contains("demo = true") && error.contains("at least 32"),
        "the error names the fix: {error}"
    );
    assert!(
        !error.contains(demo::HS256_SECRET),
        "no secret in the error: {error}"
    );
}
