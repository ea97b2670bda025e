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
//! 401?" is the question users of other gateways ask most.
//!
//! A token that verified recently is not verified again: its claims come from the
//! [`TokenCache`] (keyed on the whole token, bounded, never past `exp`; see
//! [`crate::token_cache`]).

use crate::{
    config::AuthMode,
    routing::Route,
    token_cache::{self, TokenCache},
};
use http::HeaderMap;
use shared::{
    Claims, TokenError, Verifier,
    bearer::{as_token, bearer_credentials},
};
use std::sync::Arc;

/// The verified caller, or `None` for an anonymous request on a public/optional route.
pub async fn authenticate(
    route: &Route,
    headers: &HeaderMap,
    verifier: &Verifier,
    cache: &TokenCache,
) -> Result<Option<Arc<Claims>>, TokenError> {
    authenticate_mode(route.auth, headers, verifier, cache).await
}

/// [`authenticate`] for anything with an auth mode (routes and aggregates).
pub async fn authenticate_mode(
    mode: AuthMode,
    headers: &HeaderMap,
    verifier: &Verifier,
    cache: &TokenCache,
) -> Result<Option<Arc<Claims>>, TokenError> {
    match mode {
        AuthMode::Public => Ok(None),
        AuthMode::Required => {
            let credentials = bearer_credentials(headers)?;
            verify(credentials, verifier, cache).await.map(Some)
        }
        AuthMode::Optional => match bearer_credentials(headers) {
            Err(TokenError::Missing) => Ok(None),
            Err(e) => Err(e),
            Ok(credentials) => verify(credentials, verifier, cache).await.map(Some),
        },
    }
}

/// The cached claims of the bearer `credentials`, or a full verification (whose success is then
/// cached).
async fn verify(
    credentials: &[u8],
    verifier: &Verifier,
    cache: &TokenCache,
) -> Result<Arc<Claims>, TokenError> {
    let now = token_cache::now_secs();
    // Looked up before the token's syntax is checked: only tokens that verified are in the
    // cache, so the same bytes would pass the same check again (~1,000 instructions saved on
    // every hit, `docs/performance.md`). Anything else is checked, then verified.
    if let Some(claims) = cache.get(credentials, now) {
        return Ok(claims);
    }
    let token = as_token(credentials)?;
    let claims = Arc::new(verifier.verify(token).await?);
    cache.insert(token, &claims, now);
    Ok(claims)
}
