//! Access tokens for the benchmark, one list per algorithm, and the JWKS that verifies them.
//!
//! Each list holds `--count` tokens for different users (`sub` = `bench-user-<i>`), so a gateway
//! that caches verified tokens is measured with more than one token in flight. They live for a
//! day: long enough for any run, short enough to be harmless (the keys are public test keys).

use crate::Args;
use jsonwebtoken::{
    Algorithm, EncodingKey, Header, encode,
    jwk::{Jwk, JwkSet, PublicKeyUse},
};
use shared::{Claims, Role};
use std::{
    path::Path,
    time::{SystemTime, UNIX_EPOCH},
};

/// The `kid`s the JWKS publishes and the tokens name.
pub const RS256_KID: &str = "bench-rs256";
/// See [`RS256_KID`].
pub const EDDSA_KID: &str = "bench-eddsa";

/// The issuer and audience the generated gateway configuration expects.
pub const ISSUER: &str = "http://bench.local";
/// See [`ISSUER`].
pub const AUDIENCE: &str = "bench-api";

fn read(dir: &Path, file: &str) -> Result<Vec<u8>, String> {
    let path = dir.join(file);
    std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn rsa_key(keys: &Path) -> Result<EncodingKey, String> {
    EncodingKey::from_rsa_pem(&read(keys, "rsa-2048.pem")?).map_err(|e| e.to_string())
}

fn ed_key(keys: &Path) -> Result<EncodingKey, String> {
    EncodingKey::from_ed_pem(&read(keys, "ed25519.pem")?).map_err(|e| e.to_string())
}

/// The public halves of the test keys as a JWKS document.
pub fn jwks(keys: &Path) -> Result<String, String> {
    let mut set = JwkSet { keys: Vec::new() };
    for (key, alg, kid) in [
        (rsa_key(keys)?, Algorithm::RS256, RS256_KID),
        (ed_key(keys)?, Algorithm::EdDSA, EDDSA_KID),
    ] {
        let mut jwk = Jwk::from_encoding_key(&key, alg).map_err(|e| e.to_string())?;
        jwk.common.key_id = Some(kid.to_owned());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        set.keys.push(jwk);
    }
    serde_json::to_string(&set).map_err(|e| e.to_string())
}

/// `bench tokens --secret S --keys DIR [--count N]`: prints the token lists as JSON.
pub fn main(args: &Args) -> Result<(), String> {
    let secret = args.text("secret")?;
    let keys = Path::new(args.text("keys")?);
    let count: usize = args.number("count", 1)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    let claims = |i: usize| Claims {
        sub: format!("bench-user-{i}"),
        name: format!("Bench User {i}"),
        role: Role::Student,
        // The longest life a verifier accepts by default (`[auth] max_token_lifetime_secs`):
        // longer than a full run with its soak.
        exp: now + 3600,
        iat: now,
        iss: ISSUER.to_owned(),
        aud: AUDIENCE.to_owned(),
        jti: format!("bench-{now}-{i}"),
        email: None,
        scope: None,
    };
    let hs = EncodingKey::from_secret(secret.as_bytes()).map_err(|e| e.to_string())?;
    let rsa = rsa_key(keys)?;
    let ed = ed_key(keys)?;
    let sign = |alg: Algorithm, kid: Option<&str>, key: &EncodingKey| {
        (0..count)
            .map(|i| {
                let mut header = Header::new(alg);
                header.kid = kid.map(str::to_owned);
                encode(&header, &claims(i), key).map_err(|e| e.to_string())
            })
            .collect::<Result<Vec<_>, _>>()
    };
    let out = serde_json::json!({
        "HS256": sign(Algorithm::HS256, None, &hs)?,
        "RS256": sign(Algorithm::RS256, Some(RS256_KID), &rsa)?,
        "EdDSA": sign(Algorithm::EdDSA, Some(EDDSA_KID), &ed)?,
        "issuer": ISSUER,
        "audience": AUDIENCE,
    });
    println!("{out}");
    Ok(())
}
