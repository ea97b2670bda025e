//! The token verifier's properties, for any bearer credentials.
//!
//! The verifier trusts three keys at once, as a gateway in the middle of a migration might: the
//! lecture's HS256 secret (no `kid`), an RSA key (`kid` `rsa`) and an Ed25519 key (`kid` `ed`).
//! One genuine token is signed with each. Then:
//!
//! 1. neither the `Authorization` header parser nor the verifier panics, whatever the bytes;
//! 2. **the only tokens accepted are the genuine ones, byte for byte**: no edit of a header,
//!    payload or signature (algorithm confusion, `alg: none`, a swapped `kid`, a re-encoded part,
//!    a changed claim) gets through, and the claims returned are the genuine token's.
//!
//! The first input byte chooses how the rest is read. Even: the rest is an `Authorization` header
//! value, verified as the gateway would. Odd: the next byte picks a genuine token and the rest
//! is a list of edits to it (`position`, `byte` pairs; a zero byte deletes), so the fuzzer
//! spends its time near valid tokens, where the interesting mistakes are.

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use shared::{
    Claims, Role, TokenVerifier, demo,
    verifier::{VerificationKey, VerifierSettings},
};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const HS256_SECRET: &[u8] = b"fuzz-only-hs256-secret-0123456789-abcdefghijklmnop";
const RSA_PRIVATE: &str = include_str!("../../tests/fixtures/keys/rsa-2048.pem");
const RSA_PUBLIC: &str = include_str!("../../tests/fixtures/keys/rsa-2048.pub.pem");
const ED25519_PRIVATE: &str = include_str!("../../tests/fixtures/keys/ed25519.pem");
const ED25519_PUBLIC: &str = include_str!("../../tests/fixtures/keys/ed25519.pub.pem");

/// Checks every property for `data`; panics (a fuzzer finding) when one fails.
pub fn check(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let genuine = genuine_tokens();
    if mode % 2 == 0 {
        let Ok(value) = http::HeaderValue::from_bytes(rest) else {
            return;
        };
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::AUTHORIZATION, value);
        if let Ok(token) = shared::bearer::token_from_headers(&headers) {
            verify_and_judge(token, &genuine);
        }
        return;
    }
    let Some((&pick, edits)) = rest.split_first() else {
        return;
    };
    let mut token = genuine[usize::from(pick) % genuine.len()]
        .0
        .clone()
        .into_bytes();
    for edit in edits.chunks_exact(3).take(16) {
        let position = usize::from(u16::from_le_bytes([edit[0], edit[1]])) % (token.len() + 1);
        match edit[2] {
            0 if position < token.len() => {
                token.remove(position);
            }
            0 => {}
            byte if position < token.len() => token[position] = byte,
            byte => token.push(byte),
        }
    }
    if let Ok(token) = std::str::from_utf8(&token) {
        verify_and_judge(token, &genuine);
    }
}

fn verify_and_judge(token: &str, genuine: &[(String, Claims)]) {
    if let Ok(claims) = verifier().verify(token) {
        let Some((_, original)) = genuine.iter().find(|(t, _)| t == token) else {
            panic!("accepted a token that was never signed: {token:?}");
        };
        assert_eq!(&claims, original, "accepted with other claims: {token:?}");
    }
}

fn verifier() -> &'static TokenVerifier {
    static VERIFIER: OnceLock<TokenVerifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let keys = vec![
            VerificationKey::hs256(None, HS256_SECRET).expect("an HS256 key"),
            VerificationKey::rsa_pem(Some("rsa".into()), RSA_PUBLIC.as_bytes())
                .expect("the fixture's RSA public key"),
            VerificationKey::ed25519_pem(Some("ed".into()), ED25519_PUBLIC.as_bytes())
                .expect("the fixture's Ed25519 public key"),
        ];
        TokenVerifier::new(VerifierSettings::new(demo::ISSUER, demo::AUDIENCE), keys)
    })
}

/// Genuine tokens with their claims.
type Genuine = Vec<(String, Claims)>;

/// One genuine token per key, with its claims. Re-signed every minute, so a long fuzzing run
/// always has tokens that are still valid.
fn genuine_tokens() -> Genuine {
    static TOKENS: Mutex<Option<(Instant, Genuine)>> = Mutex::new(None);
    let mut tokens = TOKENS.lock().unwrap_or_else(|e| e.into_inner());
    match &*tokens {
        Some((minted, list)) if minted.elapsed() < Duration::from_secs(60) => list.clone(),
        _ => {
            let list = mint();
            *tokens = Some((Instant::now(), list.clone()));
            list
        }
    }
}

fn mint() -> Genuine {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs();
    let claims = Claims {
        sub: "1905551042".into(),
        name: "Student".into(),
        role: Role::Student,
        exp: now + 600,
        iat: now,
        iss: demo::ISSUER.into(),
        aud: demo::AUDIENCE.into(),
        jti: "00000000-0000-4000-8000-000000000000".into(),
        email: None,
        scope: None,
    };
    let sign = |alg: Algorithm, kid: Option<&str>, key: EncodingKey| {
        let header = Header {
            kid: kid.map(str::to_owned),
            ..Header::new(alg)
        };
        let token = encode(&header, &claims, &key).expect("claims serialise");
        (token, claims.clone())
    };
    vec![
        sign(
            Algorithm::HS256,
            None,
            EncodingKey::from_secret(HS256_SECRET).expect("an HS256 key"),
        ),
        sign(
            Algorithm::RS256,
            Some("rsa"),
            EncodingKey::from_rsa_pem(RSA_PRIVATE.as_bytes()).expect("the RSA fixture"),
        ),
        sign(
            Algorithm::EdDSA,
            Some("ed"),
            EncodingKey::from_ed_pem(ED25519_PRIVATE.as_bytes()).expect("the Ed25519 fixture"),
        ),
    ]
}
