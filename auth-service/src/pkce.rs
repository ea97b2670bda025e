//! PKCE, Proof Key for Code Exchange (RFC 7636), `S256` only.
//!
//! An authorization code travels through the browser (a redirect URL), where other apps, logs
//! and browser history can see it. PKCE makes a stolen code useless: before sending the user to
//! sign in, the client makes a random `code_verifier` and sends only its hash, the
//! `code_challenge = BASE64URL(SHA-256(code_verifier))`. The code is bound to that challenge, and
//! the token endpoint gives tokens only to whoever shows the verifier — which never left the
//! client.
//!
//! The `plain` method (challenge = verifier) is refused: it protects nothing once the request is
//! seen, and every client that can do PKCE can do SHA-256 (OAuth 2.1, RFC 9700 §2.1.1).

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The one method accepted.
pub const S256: &str = "S256";

/// Checks the PKCE parameters of an authorization request; `Err` holds what to tell the client
/// (an `invalid_request`). Returns the challenge.
pub fn check_challenge<'a>(
    challenge: Option<&'a str>,
    method: Option<&str>,
) -> Result<&'a str, &'static str> {
    let Some(challenge) = challenge else {
        return Err("code_challenge is required: this server needs PKCE (S256) for every client");
    };
    match method {
        Some(S256) => {}
        // RFC 7636 §4.3: an absent method means `plain`.
        None | Some("plain") => {
            return Err("code_challenge_method must be S256 (plain is not accepted)");
        }
        Some(_) => return Err("code_challenge_method must be S256"),
    }
    // BASE64URL of a 32-byte SHA-256 digest, without padding, is 43 characters.
    if challenge.len() != 43 || URL_SAFE_NO_PAD.decode(challenge).is_err() {
        return Err("code_challenge must be the base64url SHA-256 of the code_verifier (43 chars)");
    }
    Ok(challenge)
}

/// True when `verifier` is well formed (RFC 7636 §4.1: 43 to 128 unreserved characters) and
/// hashes to `challenge`. The comparison takes the same time wherever the strings differ.
pub fn verify(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if !well_formed {
        return false;
    }
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    computed.as_bytes().ct_eq(challenge.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B's example.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn the_rfc_example_verifies_and_nothing_else_does() {
        assert!(verify(VERIFIER, CHALLENGE));
        assert!(!verify(&VERIFIER.replace('d', "e"), CHALLENGE));
        assert!(!verify("short", CHALLENGE));
        assert!(!verify(CHALLENGE, CHALLENGE), "plain is not S256");
    }

    #[test]
    fn only_s256_with_a_well_formed_challenge_is_accepted() {
        assert_eq!(
            check_challenge(Some(CHALLENGE), Some("S256")),
            Ok(CHALLENGE)
        );
        assert!(check_challenge(Some(CHALLENGE), Some("plain")).is_err());
        assert!(check_challenge(Some(CHALLENGE), None).is_err());
        assert!(check_challenge(None, Some("S256")).is_err());
        assert!(check_challenge(Some("abc"), Some("S256")).is_err());
    }
}
