//! `POST /oauth/introspect`: token introspection (RFC 7662), for resource servers that want to
//! know more than a signature says: is this token still active?
//!
//! Only confidential clients configured with `introspect = true` may ask (§2.1: the endpoint
//! must not become a way to probe tokens). The answer holds what a resource server needs —
//! `active`, `scope`, `client_id`, `sub`, `exp`, `iat`, `iss`, `token_type` — and nothing about
//! the user beyond their id (no e-mail, no name). An inactive, unknown, expired or revoked token
//! is just `{"active": false}` (§2.2), whatever the reason.
//!
//! Access tokens are active while their signature verifies, `exp` is ahead and their `jti` was
//! not revoked ([`crate::access`]); their `token_type` is `Bearer`. Refresh tokens are active
//! while unused, unrevoked and unexpired; RFC 6749 gives them no token type, so theirs says
//! `refresh_token`. An access token issued before `jti`s were recorded is reported inactive.

use super::{OAuthError, Params, client_auth};
use crate::{AppState, error::AuthError, refresh::hash_token, routes::no_store};
use axum::{
    Json,
    body::Bytes,
    extract::{State, rejection::BytesRejection},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

pub(super) async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match handle(&state, &headers, body).await {
        Ok(answer) => no_store(Json(answer)),
        Err(error) => error.into_response(),
    }
}

async fn handle(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Value, OAuthError> {
    let params = Params::parse(headers, body)?;
    let client = client_auth::authenticate(state, headers, &params)
        .await?
        .filter(|c| !c.is_public())
        .ok_or_else(|| {
            OAuthError::invalid_client("introspection needs a confidential client's credentials")
        })?;
    if !client.introspect {
        return Err(OAuthError::new(
            StatusCode::FORBIDDEN,
            "unauthorized_client",
            "this client may not introspect tokens",
        ));
    }
    let token = params.require("token")?;
    let now = state.clock.unix_secs() as i64;
    let inactive = json!({ "active": false });

    if let Some(record) = state
        .store
        .refresh_by_hash(&hash_token(token))
        .await
        .map_err(AuthError::from)?
    {
        let active =
            record.used_at.is_none() && record.revoked_at.is_none() && record.expires_at > now;
        if !active {
            return Ok(inactive);
        }
        let mut answer = json!({
            "active": true,
            "client_id": record.client_id,
            "sub": record.user_id,
            "exp": record.expires_at,
            "iat": record.created_at,
            "iss": state.settings.issuer,
            "token_type": "refresh_token",
        });
        if let Some(scope) = record.scope {
            answer["scope"] = json!(scope);
        }
        return Ok(answer);
    }
    let Ok(claims) = state.keys.verifier().verify(token) else {
        return Ok(inactive);
    };
    let Some(record) = state
        .store
        .access_by_jti(&claims.jti)
        .await
        .map_err(AuthError::from)?
    else {
        return Ok(inactive);
    };
    if record.revoked_at.is_some() || record.expires_at <= now {
        return Ok(inactive);
    }
    let mut answer = json!({
        "active": true,
        "client_id": record.client_id,
        "sub": claims.sub,
        "exp": claims.exp,
        "iat": claims.iat,
        "iss": claims.iss,
        "aud": claims.aud,
        "token_type": "Bearer",
    });
    if let Some(scope) = claims.scope {
        answer["scope"] = json!(scope);
    }
    Ok(answer)
}
