//! The rules every service applies to an HS256 secret before it trusts or signs with it.
//!
//! An HS256 secret both *signs* and *verifies*: whoever holds it can mint any token, with any
//! role. Two mistakes are common enough to refuse at start rather than discover in production:
//!
//! - **a short secret.** RFC 7518 §3.2 asks for a key at least as long as the hash output,
//!   256 bits ([`MIN_HS256_SECRET_BYTES`]); a shorter one can be guessed offline from a single
//!   token.
//! - **the public demo secret** ([`crate::demo::HS256_SECRET`]). It is in the repository, so
//!   outside demo mode a service that accepts it accepts tokens from anyone who read the code.
//!
//! The auth-service checks its signing secrets with [`check_hs256_secret`]; the gateway and the
//! backends check their `[auth]` section with [`VerifierConfig::check_token_rules`]. One rule,
//! one wording, whichever service refuses to start.

use crate::VerifierConfig;
use secrecy::ExposeSecret;

/// RFC 7518 §3.2: an HS256 key must be at least as long as the SHA-256 output (32 bytes).
pub const MIN_HS256_SECRET_BYTES: usize = 32;

/// Why an HS256 secret was refused. The message says what is wrong *and* how to fix it, and
/// never quotes the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeakSecret {
    /// Shorter than [`MIN_HS256_SECRET_BYTES`] (refused in demo mode too: the demo's own secret is
    /// long enough, and a short one teaches the wrong thing).
    #[error(
        "the HS256 secret is {len} bytes; HS256 needs at least {MIN_HS256_SECRET_BYTES} (RFC 7518 \
         §3.2): use at least {MIN_HS256_SECRET_BYTES} random bytes (e.g. `openssl rand -base64 48`)"
    )]
    TooShort {
        /// The length of the secret that was given.
        len: usize,
    },
    /// The public demo secret, outside demo mode.
    #[error(
        "this is the public demo secret, which anyone can read in the repository and sign tokens \
         with: generate your own of at least {MIN_HS256_SECRET_BYTES} random bytes (e.g. \
         `openssl rand -base64 48`), or set `demo = true` for the classroom demo"
    )]
    PublicDemoSecret,
}

impl WeakSecret {
    /// What is wrong, without the fix (for reports that print the fix on a line of its own).
    pub fn problem(&self) -> String {
        match self {
            WeakSecret::TooShort { len } => format!(
                "the HS256 secret is {len} bytes; HS256 needs at least {MIN_HS256_SECRET_BYTES} \
                 (RFC 7518 §3.2)"
            ),
            WeakSecret::PublicDemoSecret => {
                "this is the public demo secret, which anyone can sign tokens with".to_owned()
            }
        }
    }

    /// How to fix it.
    pub fn fix(&self) -> &'static str {
        match self {
            WeakSecret::TooShort { .. } => {
                "use a random secret of 32 bytes or more (e.g. `openssl rand -base64 48`), or \
                 switch to RS256/EdDSA keys"
            }
            WeakSecret::PublicDemoSecret => {
                "use your own random secret of at least 32 bytes (e.g. `openssl rand -base64 48`), or set \
                 `demo = true` for the demo"
            }
        }
    }
}

/// Checks one HS256 secret. `demo` is whether the service runs in demo mode, the only mode in
/// which the public demo secret is allowed.
pub fn check_hs256_secret(secret: &[u8], demo: bool) -> Result<(), WeakSecret> {
    if !demo && secret == crate::demo::HS256_SECRET.as_bytes() {
        return Err(WeakSecret::PublicDemoSecret);
    }
    if secret.len() < MIN_HS256_SECRET_BYTES {
        return Err(WeakSecret::TooShort { len: secret.len() });
    }
    Ok(())
}

/// A `[auth]` section broke a token rule; the message names the key and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("[auth] hs256_secret: {0}")]
pub struct TokenRuleError(pub WeakSecret);

impl VerifierConfig {
    /// Applies the token rules to this `[auth]` section: its `hs256_secret`, if it has one, must
    /// pass [`check_hs256_secret`]. Public keys and JWKS URLs hold no secret and pass as they are.
    /// Call it at start, with whether the service runs in demo mode.
    pub fn check_token_rules(&self, demo: bool) -> Result<(), TokenRuleError> {
        match &self.hs256_secret {
            Some(secret) => {
                check_hs256_secret(secret.expose_secret().as_bytes(), demo).map_err(TokenRuleError)
            }
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn with_secret(secret: &str) -> VerifierConfig {
        VerifierConfig {
            hs256_secret: Some(SecretString::from(secret)),
            ..VerifierConfig::demo()
        }
    }

    #[test]
    fn the_demo_secret_is_accepted_only_in_demo_mode() {
        assert_eq!(VerifierConfig::demo().check_token_rules(true), Ok(()));
        let error = VerifierConfig::demo().check_token_rules(false).unwrap_err();
        assert_eq!(error.0, WeakSecret::PublicDemoSecret);
        let message = error.to_string();
        assert!(message.starts_with("[auth] hs256_secret:"), "{message}");
        assert!(message.contains("demo = true"), "{message}");
        assert!(!message.contains(crate::demo::HS256_SECRET), "{message}");
    }

    #[test]
    fn a_short_secret_is_refused_in_every_mode_with_its_length() {
        for demo in [false, true] {
            let error = with_secret("short-secret")
                .check_token_rules(demo)
                .unwrap_err();
            assert_eq!(error.0, WeakSecret::TooShort { len: 12 });
            assert!(error.to_string().contains("at least 32"), "{error}");
        }
    }

    #[test]
    fn a_long_private_secret_and_a_keyless_section_pass() {
        let own = "a-private-secret-of-more-than-thirty-two-bytes";
        assert_eq!(with_secret(own).check_token_rules(false), Ok(()));
        let keyless = VerifierConfig {
            hs256_secret: None,
            jwks_url: Some("http://auth:8081/.well-known/jwks.json".to_owned()),
            ..VerifierConfig::demo()
        };
        assert_eq!(keyless.check_token_rules(false), Ok(()));
    }
}
