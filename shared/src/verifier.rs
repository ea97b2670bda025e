//! Verifying an access token: the gateway's main job, and every backend's second line of defence.
//!
//! A JWT is `header.payload.signature`. The signature covers the first two parts, so editing the
//! payload — the lecture's `"role": "STUDENT"` → `"ADMIN"` — makes it invalid and the token is
//! refused with 401. The order of checks here follows RFC 8725 (JWT best current practice):
//!
//! 1. Parse the header only, and pick the key by `kid`. The *key* decides the algorithm, never the
//!    token: each [`VerificationKey`] allows exactly one algorithm, so `alg: none` or an RS256 public
//!    key reused as an HS256 secret ("algorithm confusion") cannot verify.
//! 2. Check the signature with that key and algorithm.
//! 3. Check the claims: `exp` (required), `nbf` (if present), `iss` and `aud` (required, exact), and
//!    that `sub` is present, with a small configurable clock leeway.
//! 4. Check the token's life: `iat` not in the future, and `exp` no further from `iat` (or from
//!    now) than the longest life this service accepts — a signed ten-year token is refused.
//!
//! Every rejection is a [`TokenError`] with a stable reason code (`token_expired`,
//! `bad_signature`, …) so a user can learn *why* their request was refused.

use crate::{claims::Claims, problem::Problem};
use base64::Engine;
use jsonwebtoken::{
    Algorithm, DecodingKey, Validation, decode, decode_header, errors::ErrorKind, jwk::JwkSet,
};
use std::time::Duration;

/// Tokens longer than this are refused before any parsing: no legitimate access token is 8 KiB,
/// and a cap keeps a hostile header from costing memory or CPU.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// Why a token was refused. Each variant's [`TokenError::reason`] is a stable code; all become 401.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// No `Authorization: Bearer` header was sent.
    #[error("no bearer token was presented")]
    Missing,
    /// Not three base64url parts with a JSON header and payload, or too long.
    #[error("the token is not a well-formed JWT")]
    Malformed,
    /// The header names an algorithm this key does not allow (including `none`).
    #[error("the token's algorithm is not allowed for its key")]
    AlgorithmNotAllowed,
    /// The `kid` names no key we know (or the token has no `kid` and we have no default key).
    #[error("the token was signed by an unknown key")]
    UnknownKid,
    /// The signature does not match: the token was altered or signed with another key.
    #[error("the token's signature is invalid")]
    BadSignature,
    /// `exp` is in the past.
    #[error("the token has expired")]
    Expired,
    /// `nbf` is in the future.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `iss` is not our issuer.
    #[error("the token was issued by someone else")]
    IssuerMismatch,
    /// `aud` is not our audience.
    #[error("the token is meant for another audience")]
    AudienceMismatch,
    /// A required claim (`exp`, `iss`, `aud`, `sub`, …) is absent or has the wrong type.
    #[error("the token lacks a required claim or a claim has the wrong type")]
    InvalidClaims,
    /// `iat` is later than now (beyond the leeway): no honest issuer dates a token ahead.
    #[error("the token claims to be issued in the future")]
    IssuedInTheFuture,
    /// `exp` lies further from `iat`, or from now, than the longest life a token may have.
    #[error("the token claims a longer life than this service accepts")]
    LifetimeTooLong,
}

impl TokenError {
    /// The stable, documented reason code.
    pub const fn reason(&self) -> &'static str {
        match self {
            TokenError::Missing => "token_missing",
            TokenError::Malformed => "token_malformed",
            TokenError::AlgorithmNotAllowed => "algorithm_not_allowed",
            TokenError::UnknownKid => "unknown_kid",
            TokenError::BadSignature => "bad_signature",
            TokenError::Expired => "token_expired",
            TokenError::NotYetValid => "token_not_yet_valid",
            TokenError::IssuerMismatch => "issuer_mismatch",
            TokenError::AudienceMismatch => "audience_mismatch",
            TokenError::InvalidClaims => "invalid_claims",
            TokenError::IssuedInTheFuture => "token_issued_in_the_future",
            TokenError::LifetimeTooLong => "token_lifetime_too_long",
        }
    }
}

impl From<TokenError> for Problem {
    fn from(error: TokenError) -> Self {
        match error {
            // No token presented: no `error` code in the challenge (RFC 6750 §3.1).
            TokenError::Missing => Problem::credentials_required(error.reason(), error.to_string()),
            _ => Problem::unauthorized(error.reason(), error.to_string()),
        }
    }
}

/// What every accepted token must be issued by and meant for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierSettings {
    /// Exact expected `iss`.
    pub issuer: String,
    /// Exact expected `aud`.
    pub audience: String,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`. Keep it small: it extends every token's
    /// life.
    pub leeway: Duration,
    /// The longest life an access token may claim (`exp` − `iat`), and the furthest ahead its
    /// `exp` may lie. A token that says it is valid for ten years was not minted by our
    /// auth-service's rules, whatever its signature says (a leaked signing key, a forged test
    /// token that escaped): refused, so it cannot outlive any rotation.
    pub max_lifetime: Duration,
}

impl VerifierSettings {
    /// The leeway a verifier tolerates unless configured otherwise (30 s).
    pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
    /// The longest token life accepted unless configured otherwise (1 hour; the auth-service
    /// issues 15-minute access tokens).
    pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(3600);

    /// Settings for tokens issued by `issuer` for `audience`, with the default leeway and
    /// maximum lifetime.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> VerifierSettings {
        VerifierSettings {
            issuer: issuer.into(),
            audience: audience.into(),
            leeway: Self::DEFAULT_LEEWAY,
            max_lifetime: Self::DEFAULT_MAX_LIFETIME,
        }
    }
}

/// One key a token may be signed with, bound to exactly one algorithm.
#[derive(Clone)]
pub struct VerificationKey {
    kid: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
}

impl std::fmt::Debug for VerificationKey {
    // The key material itself is never printed (an HS256 key is the shared secret).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerificationKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// A key could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(String);

impl KeyError {
    /// A key error with a message that says what to fix.
    pub fn new(message: impl Into<String>) -> Self {
        KeyError(message.into())
    }
}

impl VerificationKey {
    /// An HS256 shared secret (the lecture's set-up). Everyone who can verify can also sign, which
    /// is why production uses [`VerificationKey::rsa_pem`] or [`VerificationKey::ed25519_pem`].
    pub fn hs256(kid: Option<String>, secret: &[u8]) -> Result<Self, KeyError> {
        let key = DecodingKey::from_secret(secret)
            .map_err(|e| KeyError(format!("unusable HS256 secret: {e}")))?;
        Ok(VerificationKey {
            kid,
            algorithm: Algorithm::HS256,
            key,
        })
    }

    /// An RS256 public key in PEM (`-----BEGIN PUBLIC KEY-----` or `RSA PUBLIC KEY`).
    pub fn rsa_pem(kid: Option<String>, pem: &[u8]) -> Result<Self, KeyError> {
        let key = DecodingKey::from_rsa_pem(pem)
            .map_err(|e| KeyError(format!("not an RSA public key in PEM: {e}")))?;
        Ok(VerificationKey {
            kid,
            algorithm: Algorithm::RS256,
            key,
        })
    }

    /// An Ed25519 public key in PEM, for EdDSA.
    pub fn ed25519_pem(kid: Option<String>, pem: &[u8]) -> Result<Self, KeyError> {
        let key = DecodingKey::from_ed_pem(pem)
            .map_err(|e| KeyError(format!("not an Ed25519 public key in PEM: {e}")))?;
        Ok(VerificationKey {
            kid,
            algorithm: Algorithm::EdDSA,
            key,
        })
    }

    /// Every usable key of a JWKS document (RFC 7517). A key is used only with the algorithm its
    /// `alg` member names; keys without `alg`, or not for signatures, are skipped, because guessing
    /// a key's algorithm is exactly what algorithm-confusion attacks exploit.
    pub fn from_jwks(jwks: &JwkSet) -> Vec<Self> {
        jwks.keys
            .iter()
            .filter_map(|jwk| {
                let alg = jwk.common.key_algorithm?;
                let algorithm = Algorithm::from_str_opt(&alg.to_string())?;
                if !matches!(
                    algorithm,
                    Algorithm::RS256 | Algorithm::ES256 | Algorithm::EdDSA
                ) {
                    return None;
                }
                let key = DecodingKey::from_jwk(jwk).ok()?;
                Some(VerificationKey {
                    kid: jwk.common.key_id.clone(),
                    algorithm,
                    key,
                })
            })
            .collect()
    }

    /// The key id, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The one algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

/// Small extension so JWKS `alg` strings map onto [`Algorithm`] without panicking.
trait FromStrOpt: Sized {
    fn from_str_opt(s: &str) -> Option<Self>;
}

impl FromStrOpt for Algorithm {
    fn from_str_opt(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

/// A key with its validation rules prepared once, so verifying allocates nothing for set-up.
#[derive(Clone)]
struct PreparedKey {
    key: VerificationKey,
    validation: Validation,
}

/// Verifies access tokens against a fixed set of keys. Cheap to share (`Arc`); a service that
/// refreshes its keys (from a JWKS URL) builds a new verifier and swaps it in.
#[derive(Clone)]
pub struct TokenVerifier {
    settings: VerifierSettings,
    keys: Vec<PreparedKey>,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("settings", &self.settings)
            .field(
                "keys",
                &self.keys.iter().map(|k| &k.key).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl TokenVerifier {
    /// A verifier that accepts tokens signed by any of `keys`, issued by and for `settings`.
    pub fn new(settings: VerifierSettings, keys: Vec<VerificationKey>) -> Self {
        let keys = keys
            .into_iter()
            .map(|key| {
                let mut validation = Validation::new(key.algorithm);
                validation.set_issuer(&[&settings.issuer]);
                validation.set_audience(&[&settings.audience]);
                validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
                validation.validate_exp = true;
                validation.validate_nbf = true;
                validation.leeway = settings.leeway.as_secs();
                PreparedKey { key, validation }
            })
            .collect();
        TokenVerifier { settings, keys }
    }

    /// The issuer and audience this verifier expects.
    pub fn settings(&self) -> &VerifierSettings {
        &self.settings
    }

    /// The keys this verifier accepts.
    pub fn keys(&self) -> impl Iterator<Item = &VerificationKey> {
        self.keys.iter().map(|prepared| &prepared.key)
    }

    /// True when a key with this `kid` is known (a JWKS cache uses it to decide whether to refetch).
    pub fn knows_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.key.kid.as_deref() == Some(kid))
    }

    /// Checks `token` and returns its claims, or the reason it is refused.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        let header = decode_header(token).map_err(|_| classify_unparsable_header(token))?;

        // The key is chosen by `kid`; a token without `kid` may only use a key without one
        // (the lecture's single shared secret).
        let prepared = self
            .keys
            .iter()
            .find(|k| k.key.kid.as_deref() == header.kid.as_deref())
            .ok_or(TokenError::UnknownKid)?;
        if prepared.key.algorithm != header.alg {
            return Err(TokenError::AlgorithmNotAllowed);
        }

        let claims = decode::<Claims>(token, &prepared.key.key, &prepared.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidSignature => TokenError::BadSignature,
                ErrorKind::ExpiredSignature => TokenError::Expired,
                ErrorKind::ImmatureSignature => TokenError::NotYetValid,
                ErrorKind::InvalidIssuer => TokenError::IssuerMismatch,
                ErrorKind::InvalidAudience => TokenError::AudienceMismatch,
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                    TokenError::AlgorithmNotAllowed
                }
                ErrorKind::MissingRequiredClaim(_) | ErrorKind::InvalidClaimFormat(_) => {
                    TokenError::InvalidClaims
                }
                // Claims that are valid JSON but do not fit [`Claims`] (e.g. a role we do not
                // know, or `exp` as a string — CVE-2026-25537's trick) are refused too.
                ErrorKind::Json(_) => TokenError::InvalidClaims,
                _ => TokenError::Malformed,
            })?;
        self.check_lifetime(&claims, now_secs())?;
        Ok(claims)
    }

    /// Step 4, after the signature and the standard claims: `iat` not in the future, and a life
    /// no longer than [`VerifierSettings::max_lifetime`].
    fn check_lifetime(&self, claims: &Claims, now: u64) -> Result<(), TokenError> {
        let leeway = self.settings.leeway.as_secs();
        let max_life = self.settings.max_lifetime.as_secs();
        if claims.iat > now.saturating_add(leeway) {
            return Err(TokenError::IssuedInTheFuture);
        }
        let life = claims.exp.saturating_sub(claims.iat);
        let left = claims.exp.saturating_sub(now);
        if life > max_life || left > max_life.saturating_add(leeway) {
            return Err(TokenError::LifetimeTooLong);
        }
        Ok(())
    }
}

/// Now, in seconds since the Unix epoch: the clock `jsonwebtoken` checks `exp` and `nbf` with.
fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `decode_header` failed. Tell `alg: none` and other unknown algorithms apart from garbage, so
/// the reason a user sees is the real one.
fn classify_unparsable_header(token: &str) -> TokenError {
    let Some(first) = token.split('.').next() else {
        return TokenError::Malformed;
    };
    let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(first) else {
        return TokenError::Malformed;
    };
    match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(header) if header.get("alg").is_some_and(|alg| alg.is_string()) => {
            TokenError::AlgorithmNotAllowed
        }
        _ => TokenError::Malformed,
    }
}
