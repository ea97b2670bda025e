//! `[auth]`: which tokens can be verified — issuer and audience set, a strong HS256 secret (and
//! not the public demo one outside demo mode), public keys that fit their declared algorithm,
//! at least one way to verify, and a JWKS URL that is an http(s) URL.

use super::report::Report;
use crate::config::{
    Config,
    diagnostic::{did_you_mean, suggestion},
    location::KeyPath,
};
use secrecy::ExposeSecret;
use shared::{VerificationKey, token_rules::check_hs256_secret};
use std::collections::HashMap;

/// Checks the `[auth]` section.
pub fn check(config: &Config, report: &mut Report<'_, '_>) {
    let auth = KeyPath::key("auth");
    let a = &config.auth;
    if a.issuer.trim().is_empty() {
        report.push(
            &auth.field("issuer"),
            "the issuer is empty",
            "set it to the auth-service's public URL",
        );
    }
    if a.audience.trim().is_empty() {
        report.push(
            &auth.field("audience"),
            "the audience is empty",
            "set it to the API's audience, e.g. \"ecommerce-api\"",
        );
    }
    // The same rules every service applies to an HS256 secret (`shared::token_rules`).
    if let Some(secret) = &a.hs256_secret
        && let Err(weak) = check_hs256_secret(secret.expose_secret().as_bytes(), config.demo)
    {
        report.push(&auth.field("hs256_secret"), weak.problem(), weak.fix());
    }
    let mut kids: HashMap<&str, usize> = HashMap::new();
    for (i, key) in a.public_keys.iter().enumerate() {
        let path = auth.field("public_keys").index(i);
        if let Some(first) = kids.insert(&key.kid, i) {
            report.push(
                &path.field("kid"),
                format!(
                    "the kid `{}` is used twice{}",
                    key.kid,
                    report.line_of(&auth.field("public_keys").index(first))
                ),
                "give each key its own kid",
            );
        }
        check_public_key(&key.alg, &key.pem_file, &path, report);
    }
    if a.hs256_secret.is_none() && a.public_keys.is_empty() && a.jwks_url.is_none() {
        report.push(
            &auth,
            "no verification key is configured, so no token could ever be accepted",
            "set `hs256_secret`, add `[[auth.public_keys]]`, or set `jwks_url`",
        );
    }
    if let Some(url) = &a.jwks_url {
        let ok = url
            .parse::<http::Uri>()
            .is_ok_and(|u| matches!(u.scheme_str(), Some("http" | "https")) && u.host().is_some());
        if !ok {
            report.push(
                &auth.field("jwks_url"),
                format!("`{url}` is not an http(s) URL"),
                "use e.g. \"http://127.0.0.1:8081/.well-known/jwks.json\"",
            );
        }
    }
}

/// Checks that the algorithm fits the key in the file — the classic mismatch is an Ed25519 key
/// declared `RS256`, or a PEM key declared `HS256` (algorithm confusion).
fn check_public_key(
    alg: &str,
    file: &std::path::Path,
    path: &KeyPath,
    report: &mut Report<'_, '_>,
) {
    let alg_path = path.field("alg");
    let parse = |alg: &str, pem: &[u8]| match alg {
        "RS256" => VerificationKey::rsa_pem(None, pem).is_ok(),
        "EdDSA" => VerificationKey::ed25519_pem(None, pem).is_ok(),
        _ => false,
    };
    match alg {
        "RS256" | "EdDSA" => {}
        "HS256" | "HS384" | "HS512" => {
            report.push(
                &alg_path,
                format!("{alg} is a shared-secret algorithm and cannot use a PEM public key"),
                "put an HS256 secret in `auth.hs256_secret`, or declare the key RS256 or EdDSA",
            );
            return;
        }
        other => {
            report.push(
                &alg_path,
                format!("the algorithm `{other}` is not supported for public keys"),
                format!(
                    "use \"RS256\" or \"EdDSA\"{}",
                    suggestion(did_you_mean(other, ["RS256", "EdDSA"]))
                ),
            );
            return;
        }
    }
    let pem = match std::fs::read(file) {
        Ok(pem) => pem,
        Err(e) => {
            report.push(
                &path.field("pem_file"),
                format!("cannot read {}: {e}", file.display()),
                "point `pem_file` at the PEM public key (paths are relative to the working directory)",
            );
            return;
        }
    };
    if String::from_utf8_lossy(&pem).contains("PRIVATE KEY") {
        report.push(
            &path.field("pem_file"),
            "this file holds a private key; a verifier must only hold the public key",
            "extract it with `openssl pkey -in key.pem -pubout -out key.pub.pem`",
        );
        return;
    }
    if parse(alg, &pem) {
        return;
    }
    let other = if alg == "RS256" { "EdDSA" } else { "RS256" };
    if parse(other, &pem) {
        report.push(
            &alg_path,
            format!("alg = \"{alg}\" does not fit the key in the file, which is an {other} key"),
            format!("set alg = \"{other}\", or point `pem_file` at an {alg} public key"),
        );
    } else {
        report.push(
            &path.field("pem_file"),
            format!("{} is not a PEM public key for {alg}", file.display()),
            "use a `-----BEGIN PUBLIC KEY-----` file",
        );
    }
}
