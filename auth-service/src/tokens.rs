//! Issuing access tokens: the JWT of the lecture, signed with the newest configured key.
//!
//! An access token is *stateless*: the gateway and the backends verify its signature and claims
//! without calling us, which is why it lives only minutes. Long-lived sessions are refresh tokens
//! (see [`crate::refresh`]), which *are* stored and can be revoked.

use crate::keys::KeyRing;
use jsonwebtoken::{Header, encode};
use shared::{Claims, Role};
use std::sync::Arc;

/// Who a token is for. Users come from the database; OAuth clients from the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// `sub`: the user's id, or the OAuth client's id.
    pub id: String,
    /// `name`.
    pub name: String,
    /// `role`.
    pub role: Role,
    /// `email` (users only).
    pub email: Option<String>,
}

/// Signs access tokens.
#[derive(Debug, Clone)]
pub struct TokenIssuer {
    keys: Arc<KeyRing>,
    issuer: String,
    audience: String,
    ttl_secs: u64,
}

/// A signed access token and its lifetime.
#[derive(Debug, Clone)]
pub struct AccessToken {
    /// The compact JWT (`header.payload.signature`).
    pub token: String,
    /// Its `jti`: how the service refers to it later (introspection, revocation).
    pub jti: String,
    /// Its `iat` (epoch seconds).
    pub issued_at: u64,
    /// Seconds until it expires (the `expires_in` of the response).
    pub expires_in: u64,
}

impl TokenIssuer {
    /// An issuer signing with `keys`, stamping `issuer`/`audience`, valid for `ttl_secs`.
    pub fn new(keys: Arc<KeyRing>, issuer: String, audience: String, ttl_secs: u64) -> Self {
        TokenIssuer {
            keys,
            issuer,
            audience,
            ttl_secs,
        }
    }

    /// Signs a token for `subject` at time `now` (epoch seconds), with an optional OAuth `scope`.
    pub fn issue(
        &self,
        subject: &Subject,
        scope: Option<String>,
        now: u64,
    ) -> Result<AccessToken, jsonwebtoken::errors::Error> {
        let jti = uuid::Uuid::new_v4().to_string();
        let claims = Claims {
            sub: subject.id.clone(),
            name: subject.name.clone(),
            role: subject.role,
            exp: now + self.ttl_secs,
            iat: now,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            jti: jti.clone(),
            email: subject.email.clone(),
            scope,
        };
        let (kid, algorithm, key) = self.keys.current();
        // `Header::new` gives `{"alg": …, "typ": "JWT"}`: exactly the lecture's header when the
        // key has no kid.
        let mut header = Header::new(algorithm);
        header.kid = kid.map(str::to_owned);
        Ok(AccessToken {
            token: encode(&header, &claims, key)?,
            jti,
            issued_at: now,
            expires_in: self.ttl_secs,
        })
    }
}

/// The body of a successful login, refresh or OAuth token response (RFC 6749 §5.1).
#[derive(Debug, Clone, serde::Serialize)]
pub struct TokenResponse {
    /// The JWT.
    pub access_token: String,
    /// Always `Bearer` (RFC 6750).
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The opaque refresh token (not for `client_credentials`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The granted OAuth scope, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl TokenResponse {
    /// Wraps a signed token.
    pub fn new(access: AccessToken, refresh_token: Option<String>, scope: Option<String>) -> Self {
        TokenResponse {
            access_token: access.token,
            token_type: "Bearer",
            expires_in: access.expires_in,
            refresh_token,
            scope,
        }
    }
}
