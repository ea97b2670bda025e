//! `POST /oauth/revoke`: token revocation (RFC 7009).
//!
//! A client sends `token` (and maybe `token_type_hint`, which only speeds up a search, so both
//! kinds are always tried). A client may revoke only tokens issued to it (§2.1); a token of
//! another client is refused with `invalid_grant` and left alone. Revoking a refresh token ends
//! its whole session (the family, and the access tokens issued with it); revoking an access token
//! marks its `jti` revoked, which introspection reports (see [`crate::access`]). A token the
//! server does not know is answered 200 all the same (§2.2): the client wanted it gone, and it is.

use super::{OAuthError, Params, client_auth};
use crate::{AppState, error::AuthError, refresh::hash_token, routes::no_store};
use axum::{
    body::Bytes,
    extract::{State, rejection::BytesRejection},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};

pub(super) async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match handle(&state, &headers, body).await {
        Ok(()) => no_store(StatusCode::OK),
        Err(error) => error.into_response(),
    }
}

async fn handle(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(), OAuthError> {
    let params = Params::parse(headers, body)?;
    let client = client_auth::authenticate(state, headers, &params)
        .await?
        .ok_or_else(|| OAuthError::invalid_client("revocation needs the client's credentials"))?;
    let token = params.require("token")?;
    let now = state.clock.unix_secs() as i64;
    let not_yours = || OAuthError::invalid_grant("the token was issued to another client");

    if let Some(record) = state
        .store
        .refresh_by_hash(&hash_token(token))
        .await
        .map_err(AuthError::from)?
    {
        if record.client_id != client.id {
            return Err(not_yours());
        }
        state
            .store
            .revoke_family(&record.family_id, now)
            .await
            .map_err(AuthError::from)?;
        tracing::info!(client_id = %client.id, family_id = %record.family_id, "refresh token revoked");
        return Ok(());
    }
    // An access token: ours only if its signature verifies; then its record says whose it is.
    if let Ok(claims) = state.keys.verifier().verify(token)
        && let Some(record) = state
            .store
            .access_by_jti(&claims.jti)
            .await
            .map_err(AuthError::from)?
    {
        if record.client_id != client.id {
            return Err(not_yours());
        }
        state
            .store
            .revoke_access(&record.jti, now)
            .await
            .map_err(AuthError::from)?;
        tracing::info!(client_id = %client.id, jti = %record.jti, "access token revoked");
    }
    Ok(())
}
