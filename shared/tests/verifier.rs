//! The token verifier against real tokens: the lecture's tamper example, every rejection reason,
//! the attacks RFC 8725 warns about, and keys from a JWKS served over HTTP.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode, jwk::Jwk, jwk::JwkSet};
use shared::{
    Claims, Role, TokenError, TokenVerifier, VerificationKey, Verifier, VerifierConfig,
    VerifierSettings, demo,
};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/keys");

fn key_file(name: &str) -> Vec<u8> {
    std::fs::read(format!("{KEYS}/{name}")).unwrap()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn student_claims() -> Claims {
    Claims {
        sub: demo::student::ID.into(),
        name: demo::student::NAME.into(),
        role: Role::Student,
        exp: now() + 900,
        iat: now(),
        iss: demo::ISSUER.into(),
        aud: demo::AUDIENCE.into(),
        jti: "test-jti".into(),
        email: Some(demo::student::EMAIL.into()),
        scope: None,
    }
}

fn settings() -> VerifierSettings {
    VerifierSettings {
        leeway: Duration::from_secs(0),
        ..VerifierSettings::new(demo::ISSUER, demo::AUDIENCE)
    }
}

fn hs256_verifier() -> TokenVerifier {
    let key = VerificationKey::hs256(None, demo::HS256_SECRET.as_bytes()).unwrap();
    TokenVerifier::new(settings(), vec![key])
}

fn sign_hs256(claims: &impl serde::Serialize) -> String {
    let key = EncodingKey::from_secret(demo::HS256_SECRET.as_bytes()).unwrap();
    encode(&Header::new(Algorithm::HS256), claims, &key).unwrap()
}

#[test]
fn a_signed_token_that_claims_too_long_a_life_or_a_future_iat_is_refused() {
    let verifier = hs256_verifier();
    // Ten years ahead, signed with the right key: refused for its life, not its signature.
    let mut ten_years = student_claims();
    ten_years.exp = now() + 10 * 365 * 24 * 3600;
    assert_eq!(
        verifier.verify(&sign_hs256(&ten_years)),
        Err(TokenError::LifetimeTooLong)
    );
    // `iat` set far back to make the life look short from `iat` is still too long from now.
    let mut backdated = ten_years.clone();
    backdated.iat = ten_years.exp - 600;
    assert_eq!(
        verifier.verify(&sign_hs256(&backdated)),
        Err(TokenError::IssuedInTheFuture)
    );
    let mut from_the_future = student_claims();
    from_the_future.iat = now() + 3600;
    from_the_future.exp = now() + 3900;
    let refused = verifier.verify(&sign_hs256(&from_the_future));
    assert_eq!(refused, Err(TokenError::IssuedInTheFuture));
    assert_eq!(refused.unwrap_err().reason(), "token_issued_in_the_future");
    // The auth-service's own 15-minute token, and one at the hour's limit, pass.
    assert!(verifier.verify(&sign_hs256(&student_claims())).is_ok());
    let mut an_hour = student_claims();
    an_hour.exp = an_hour.iat + 3600;
    assert!(verifier.verify(&sign_hs256(&an_hour)).is_ok());
}

/// Replaces the payload of `token` with `payload`, keeping header and signature: what an attacker
/// who edits a token by hand produces.
fn with_payload(token: &str, payload: &serde_json::Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(payload).unwrap());
    format!("{}.{}.{}", parts[0], body, parts[2])
}

fn with_header(token: &str, header: &serde_json::Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let head = URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).unwrap());
    format!("{}.{}.{}", head, parts[1], parts[2])
}

#[test]
fn a_valid_hs256_token_yields_its_claims() {
    let claims = student_claims();
    let verified = hs256_verifier().verify(&sign_hs256(&claims)).unwrap();
    assert_eq!(verified, claims);
}

#[test]
fn the_lectures_tamper_example_student_to_admin_is_a_bad_signature() {
    let token = sign_hs256(&student_claims());
    let mut payload = serde_json::to_value(student_claims()).unwrap();
    payload["role"] = "ADMIN".into();
    let tampered = with_payload(&token, &payload);
    assert_eq!(
        hs256_verifier().verify(&tampered),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn a_token_signed_with_another_secret_is_a_bad_signature() {
    let key = EncodingKey::from_secret(b"another-secret-another-secret-!!").unwrap();
    let token = encode(&Header::new(Algorithm::HS256), &student_claims(), &key).unwrap();
    assert_eq!(
        hs256_verifier().verify(&token),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn alg_none_is_refused() {
    let token = sign_hs256(&student_claims());
    let unsigned = with_header(&token, &serde_json::json!({"alg": "none", "typ": "JWT"}));
    let unsigned = format!("{}.", unsigned.rsplit_once('.').unwrap().0);
    assert_eq!(
        hs256_verifier().verify(&unsigned),
        Err(TokenError::AlgorithmNotAllowed)
    );
}

#[test]
fn algorithm_confusion_rs256_public_key_used_as_hs256_secret_is_refused() {
    // The classic attack: the verifier trusts an RSA public key; the attacker signs with HS256
    // using that (public!) key's bytes as the secret and hopes the library follows `alg`.
    let public_pem = key_file("rsa-2048.pub.pem");
    let verifier = TokenVerifier::new(
        settings(),
        vec![VerificationKey::rsa_pem(Some("rsa-a".into()), &public_pem).unwrap()],
    );
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("rsa-a".into());
    let forged = encode(
        &header,
        &student_claims(),
        &EncodingKey::from_secret(&public_pem).unwrap(),
    )
    .unwrap();
    assert_eq!(
        verifier.verify(&forged),
        Err(TokenError::AlgorithmNotAllowed)
    );
}

#[test]
fn expiry_issuer_audience_and_not_before_are_enforced() {
    let verifier = hs256_verifier();
    let mut expired = student_claims();
    expired.exp = now() - 60;
    assert_eq!(
        verifier.verify(&sign_hs256(&expired)),
        Err(TokenError::Expired)
    );

    let mut foreign = student_claims();
    foreign.iss = "https://evil.example".into();
    assert_eq!(
        verifier.verify(&sign_hs256(&foreign)),
        Err(TokenError::IssuerMismatch)
    );

    let mut other_audience = student_claims();
    other_audience.aud = "another-api".into();
    assert_eq!(
        verifier.verify(&sign_hs256(&other_audience)),
        Err(TokenError::AudienceMismatch)
    );

    let mut payload = serde_json::to_value(student_claims()).unwrap();
    payload["nbf"] = (now() + 3600).into();
    assert_eq!(
        verifier.verify(&sign_hs256(&payload)),
        Err(TokenError::NotYetValid)
    );
}

#[test]
fn leeway_tolerates_small_clock_skew() {
    let key = VerificationKey::hs256(None, demo::HS256_SECRET.as_bytes()).unwrap();
    let lenient = TokenVerifier::new(
        VerifierSettings {
            leeway: Duration::from_secs(60),
            ..settings()
        },
        vec![key],
    );
    let mut just_expired = student_claims();
    just_expired.exp = now() - 5;
    assert!(lenient.verify(&sign_hs256(&just_expired)).is_ok());
}

#[test]
fn missing_or_mistyped_claims_are_refused() {
    let verifier = hs256_verifier();
    let mut payload = serde_json::to_value(student_claims()).unwrap();
    payload.as_object_mut().unwrap().remove("exp");
    assert_eq!(
        verifier.verify(&sign_hs256(&payload)),
        Err(TokenError::InvalidClaims)
    );

    // CVE-2026-25537: an `exp` given as a string must not skip the expiry check.
    let mut payload = serde_json::to_value(student_claims()).unwrap();
    payload["exp"] = "1".into();
    assert!(verifier.verify(&sign_hs256(&payload)).is_err());

    let mut payload = serde_json::to_value(student_claims()).unwrap();
    payload["role"] = "ROOT".into();
    assert_eq!(
        verifier.verify(&sign_hs256(&payload)),
        Err(TokenError::InvalidClaims)
    );
}

#[test]
fn garbage_is_malformed_never_a_panic() {
    let verifier = hs256_verifier();
    for junk in ["", "abc", "a.b.c", "....", &"A".repeat(9000)] {
        assert_eq!(
            verifier.verify(junk),
            Err(TokenError::Malformed),
            "{junk:.20}"
        );
    }
    // A real header with nothing after it fails the signature check.
    assert_eq!(
        verifier.verify("eyJhbGciOiJIUzI1NiJ9.."),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn an_unknown_kid_is_reported_as_such() {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("nobody".into());
    let key = EncodingKey::from_secret(demo::HS256_SECRET.as_bytes()).unwrap();
    let token = encode(&header, &student_claims(), &key).unwrap();
    assert_eq!(hs256_verifier().verify(&token), Err(TokenError::UnknownKid));
}

#[test]
fn rs256_and_eddsa_tokens_verify_with_their_public_keys() {
    let verifier = TokenVerifier::new(
        settings(),
        vec![
            VerificationKey::rsa_pem(Some("rsa-a".into()), &key_file("rsa-2048.pub.pem")).unwrap(),
            VerificationKey::ed25519_pem(Some("ed-1".into()), &key_file("ed25519.pub.pem"))
                .unwrap(),
        ],
    );
    for (alg, kid, private) in [
        (
            Algorithm::RS256,
            "rsa-a",
            EncodingKey::from_rsa_pem(&key_file("rsa-2048.pem")).unwrap(),
        ),
        (
            Algorithm::EdDSA,
            "ed-1",
            EncodingKey::from_ed_pem(&key_file("ed25519.pem")).unwrap(),
        ),
    ] {
        let mut header = Header::new(alg);
        header.kid = Some(kid.into());
        let token = encode(&header, &student_claims(), &private).unwrap();
        assert_eq!(verifier.verify(&token).unwrap().sub, demo::student::ID);
    }
}

/// Serves `jwks` at `/jwks.json` on a port-0 listener and counts the requests.
/// While `JWKS_DOWN` is set for that set (an empty key list), the endpoint answers 500.
async fn serve_jwks(
    jwks: std::sync::Arc<std::sync::Mutex<JwkSet>>,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use axum::{Json, Router, http::StatusCode, response::IntoResponse, routing::get};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let hits = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = Router::new().route(
        "/jwks.json",
        get(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            let set = jwks.lock().unwrap().clone();
            async move {
                if set.keys.is_empty() {
                    StatusCode::INTERNAL_SERVER_ERROR.into_response()
                } else {
                    Json(set).into_response()
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, hits)
}

fn jwk(private_pem: &str, alg: Algorithm, kid: &str) -> Jwk {
    let key = match alg {
        Algorithm::EdDSA => EncodingKey::from_ed_pem(&key_file(private_pem)).unwrap(),
        _ => EncodingKey::from_rsa_pem(&key_file(private_pem)).unwrap(),
    };
    let mut jwk = Jwk::from_encoding_key(&key, alg).unwrap();
    jwk.common.key_id = Some(kid.into());
    jwk
}

fn sign_rs256(private_pem: &str, kid: &str) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.into());
    let key = EncodingKey::from_rsa_pem(&key_file(private_pem)).unwrap();
    encode(&header, &student_claims(), &key).unwrap()
}

#[tokio::test]
async fn jwks_keys_are_fetched_on_demand_refetched_on_rotation_and_retired_keys_refused() {
    let set = std::sync::Arc::new(std::sync::Mutex::new(JwkSet {
        keys: vec![jwk("rsa-2048.pem", Algorithm::RS256, "key-a")],
    }));
    let (url, hits) = serve_jwks(set.clone()).await;
    let config = VerifierConfig {
        hs256_secret: None,
        jwks_url: Some(url),
        jwks_min_refetch_secs: 0,
        ..VerifierConfig::demo()
    };
    let verifier: Verifier = config.build().unwrap();

    // First token: fetched on demand.
    let claims = verifier
        .verify(&sign_rs256("rsa-2048.pem", "key-a"))
        .await
        .unwrap();
    assert_eq!(claims.role, Role::Student);

    // The issuer rotates to key B: a token with the new kid triggers a refetch and verifies.
    set.lock()
        .unwrap()
        .keys
        .push(jwk("rsa-2048-b.pem", Algorithm::RS256, "key-b"));
    let before = hits.load(std::sync::atomic::Ordering::SeqCst);
    verifier
        .verify(&sign_rs256("rsa-2048-b.pem", "key-b"))
        .await
        .unwrap();
    assert!(hits.load(std::sync::atomic::Ordering::SeqCst) > before);

    // Key A is retired from the JWKS: after a refresh its tokens are refused.
    set.lock().unwrap().keys.remove(0);
    verifier.refresh().await.unwrap();
    assert_eq!(
        verifier.verify(&sign_rs256("rsa-2048.pem", "key-a")).await,
        Err(TokenError::UnknownKid)
    );
}

#[tokio::test]
async fn unknown_kids_do_not_flood_the_jwks_endpoint() {
    let set = std::sync::Arc::new(std::sync::Mutex::new(JwkSet {
        keys: vec![jwk("rsa-2048.pem", Algorithm::RS256, "key-a")],
    }));
    let (url, hits) = serve_jwks(set).await;
    let config = VerifierConfig {
        hs256_secret: None,
        jwks_url: Some(url),
        jwks_min_refetch_secs: 3600,
        ..VerifierConfig::demo()
    };
    let verifier = config.build().unwrap();
    verifier.refresh().await.unwrap();
    let after_first = hits.load(std::sync::atomic::Ordering::SeqCst);
    for i in 0..20 {
        let token = sign_rs256("rsa-2048.pem", &format!("made-up-{i}"));
        assert_eq!(verifier.verify(&token).await, Err(TokenError::UnknownKid));
    }
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), after_first);
}

/// Found by the fault runs (`tests/faults/jwks_away.rs`): the first tokens after a start or a
/// rotation arrive together. One fetches the JWKS; the others wait for that fetch and may not
/// fetch again so soon — they must then find the key it brought, not answer `unknown_kid`.
#[tokio::test]
async fn tokens_that_wait_for_another_requests_jwks_fetch_verify_with_its_keys() {
    use axum::{Json, Router, routing::get};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let set = JwkSet {
        keys: vec![jwk("rsa-2048.pem", Algorithm::RS256, "key-a")],
    };
    let hits = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    // A slow JWKS endpoint: the second token arrives while the first one's fetch is under way.
    let app = Router::new().route(
        "/jwks.json",
        get(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            let set = set.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                Json(set)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let verifier = VerifierConfig {
        hs256_secret: None,
        jwks_url: Some(url),
        jwks_min_refetch_secs: 3600,
        ..VerifierConfig::demo()
    }
    .build()
    .unwrap();

    let (first, second) = (
        sign_rs256("rsa-2048.pem", "key-a"),
        sign_rs256("rsa-2048.pem", "key-a"),
    );
    let (first, second) = tokio::join!(verifier.verify(&first), async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        verifier.verify(&second).await
    });
    assert_eq!(first.unwrap().role, Role::Student);
    assert_eq!(second.unwrap().role, Role::Student);
    assert_eq!(hits.load(Ordering::SeqCst), 1, "one fetch served both");
}

#[tokio::test]
async fn cached_keys_keep_working_when_the_jwks_endpoint_is_down() {
    let set = std::sync::Arc::new(std::sync::Mutex::new(JwkSet {
        keys: vec![jwk("ed25519.pem", Algorithm::EdDSA, "ed-1")],
    }));
    let (url, _hits) = serve_jwks(set.clone()).await;
    let config = VerifierConfig {
        hs256_secret: None,
        jwks_url: Some(url),
        jwks_min_refetch_secs: 0,
        ..VerifierConfig::demo()
    };
    let verifier = config.build().unwrap();
    verifier.refresh().await.unwrap();
    let stats = verifier.jwks_stats().unwrap();
    assert_eq!((stats.fetched, stats.failed, stats.keys), (1, 0, 1));

    // The auth-service goes down: refreshing fails, but tokens signed by cached keys still pass.
    set.lock().unwrap().keys.clear();
    assert!(verifier.refresh().await.is_err());
    let stats = verifier.jwks_stats().unwrap();
    assert_eq!(
        (stats.fetched, stats.failed, stats.keys),
        (1, 1, 1),
        "the failure is counted and the cached key stays"
    );
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some("ed-1".into());
    let key = EncodingKey::from_ed_pem(&key_file("ed25519.pem")).unwrap();
    let token = encode(&header, &student_claims(), &key).unwrap();
    assert_eq!(
        verifier.verify(&token).await.unwrap().sub,
        demo::student::ID
    );
}

#[test]
fn a_config_without_keys_is_refused_with_a_fix() {
    let config = VerifierConfig {
        hs256_secret: None,
        ..VerifierConfig::demo()
    };
    let error = config.build().unwrap_err().to_string();
    assert!(error.contains("hs256_secret"), "{error}");
}
