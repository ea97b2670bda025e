//! Authentication: who is calling, decided once at the front door.
//!
//! Only `Authorization: Bearer <jwt>` is read (`shared::bearer::token_from_headers`); a token in
//! the query string is ignored, never accepted — query strings end up in logs and `Referer`s.
//! The route's mode decides what happens:
//!
//! | mode | no token | valid token | invalid token |
//! |---|---|---|---|
//! | `public` | passes | passes (not even looked at) | passes |
//! | `required` | 401 `token_missing` | identity | 401 with the reason |
//! | `optional` | passes anonymously | identity | 401 with the reason |
//!
//! A 401 carries `WWW-Authenticate: Bearer error="invalid_token", error_description="…"` and the
//! stable reason (`token_expired`, `bad_signature`, `algorithm_not_allowed`, …): "why did I get
//! 401?" is the question users of other gateways ask most. A request that presented no token at
//! all gets the bare challenge `Bearer realm="api"` instead (RFC 6750 §3.1; see
//! [`crate::error`]).
//!
//! A token that verified recently is not verified again: its claims come from the
//! [`TokenCache`] (keyed on the whole token, bounded, never past `exp`; see
//! [`crate::token_cache`]).

use crate::{config::AuthMode, token_cache::TokenCache};
use http::HeaderMap;
use shared::{
    Claims, TokenError, Verifier,
    bearer::{as_token, bearer_credentials},
};
use std::sync::Arc;

/// How tokens are checked: the keys, the cache of recent successes, and the time (Unix seconds,
/// from the gateway's clock) the cache compares expiries with.
#[derive(Clone, Copy)]
pub struct Checker<'a> {
    /// Static keys or a JWKS cache.
    pub verifier: &'a Verifier,
    /// Claims of recently verified tokens.
    pub cache: &'a TokenCache,
    /// Now, in seconds since the Unix epoch.
    pub now: u64,
}

/// A verified caller.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The token's claims.
    pub claims: Arc<Claims>,
    /// True when the claims came from the [`TokenCache`] (the signature was checked before).
    pub cached: bool,
}

/// The verified caller under the route's (or aggregate's) `mode`, or `None` for an anonymous
/// request on a public/optional one.
pub async fn authenticate(
    mode: AuthMode,
    headers: &HeaderMap,
    checker: Checker<'_>,
) -> Result<Option<Verified>, TokenError> {
    match mode {
        AuthMode::Public => Ok(None),
        AuthMode::Required => {
            let credentials = bearer_credentials(headers)?;
            verify(credentials, checker).await.map(Some)
        }
        AuthMode::Optional => match bearer_credentials(headers) {
            Err(TokenError::Missing) => Ok(None),
            Err(e) => Err(e),
            Ok(credentials) => verify(credentials, checker).await.map(Some),
        },
    }
}

/// The cached claims of the bearer `credentials`, or a full verification (whose success is then
/// cached).
async fn verify(credentials: &[u8], checker: Checker<'_>) -> Result<Verified, TokenError> {
    let Checker {
        verifier,
        cache,
        now,
    } = checker;
    // Looked up before the token's syntax is checked: only tokens that verified are in the
    // cache, so the same bytes would pass the same check again (the saving is measured in
    // docs/performance.md). Anything else is checked, then verified.
    if let Some(claims) = cache.get(credentials, now) {
        return Ok(Verified {
            claims,
            cached: true,
        });
    }
    let token = as_token(credentials)?;
    let claims = Arc::new(verifier.verify(token).await?);
    cache.insert(token, &claims, now);
    Ok(Verified {
        claims,
        cached: false,
    })
}
