//! `POST /oauth/token`: the token endpoint (RFC 6749 §3.2). Four grants:
//!
//! | `grant_type` | parameters | who |
//! |---|---|---|
//! | `authorization_code` (§4.1.3, RFC 7636 §4.5) | `code`, `redirect_uri` (if the authorization request had it), `code_verifier` | the client the code was issued to, after a user signed in at `/oauth/authorize` |
//! | `password` (§4.3) | `username`, `password`, optional `scope` | a user, through a client (legacy; shown for the lecture) |
//! | `refresh_token` (§6) | `refresh_token`, optional narrower `scope` | the client the token was issued to |
//! | `client_credentials` (§4.4) | client authentication, optional `scope` | a confidential machine client |
//!
//! Each client may use only the grants configured for it (`unauthorized_client` otherwise).

use super::{OAuthError, Params, allowed, client_auth, parse_scope};
use crate::{
    AppState, access, accounts,
    codes::{self, RedeemError},
    error::AuthError,
    refresh,
    routes::no_store,
    tokens::{Subject, TokenResponse},
};
use axum::{
    Json,
    body::Bytes,
    extract::{State, rejection::BytesRejection},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use secrecy::SecretString;
use shared::Role;

pub(super) async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match handle(&state, &headers, body).await {
        Ok(response) => no_store(Json(response)),
        Err(error) => error.into_response(),
    }
}

async fn handle(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<TokenResponse, OAuthError> {
    let params = Params::parse(headers, body)?;
    let grant_type = params.require("grant_type")?;
    if !matches!(
        grant_type,
        "authorization_code" | "password" | "refresh_token" | "client_credentials"
    ) {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "supported grant types: authorization_code, password, refresh_token, \
             client_credentials",
        ));
    }
    let requested = parse_scope(params.get("scope"))?;
    // Every grant names its client: tokens are issued to a client, and a refresh token can be
    // redeemed only by the client it was issued to.
    let client = client_auth::authenticate(state, headers, &params)
        .await?
        .ok_or_else(|| {
            OAuthError::invalid_client(
                "name the client: HTTP Basic or client_id and client_secret (confidential \
                 clients), or client_id alone (public clients)",
            )
        })?;
    if !client.may_use(grant_type) {
        return Err(OAuthError::unauthorized_client(format!(
            "this client may not use the `{grant_type}` grant"
        )));
    }
    match grant_type {
        "authorization_code" => {
            let redemption = codes::Redemption {
                code: params.require("code")?,
                client_id: &client.id,
                redirect_uri: params.get("redirect_uri"),
                code_verifier: params.require("code_verifier")?,
            };
            codes::redeem(state, redemption).await.map_err(|e| match e {
                RedeemError::Internal(e) => OAuthError::from(e),
                other => OAuthError::invalid_grant(other.to_string()),
            })
        }
        "password" => {
            let username = params.require("username")?;
            let password = SecretString::from(params.require("password")?);
            let scope = match requested {
                Some(scopes) => {
                    allowed(&scopes, &state.settings.user_scopes)?;
                    Some(scopes.join(" "))
                }
                None => None,
            };
            let user = accounts::authenticate(state, username, password).await?;
            Ok(refresh::start_session(state, &user, &client.id, scope).await?)
        }
        "refresh_token" => {
            let presented = params.require("refresh_token")?;
            let mut scope_error = None;
            let result =
                refresh::rotate(state, presented, &client.id, |original| match requested {
                    None => Ok(original),
                    Some(scopes) => {
                        let granted: Vec<String> = original
                            .as_deref()
                            .unwrap_or("")
                            .split(' ')
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned)
                            .collect();
                        match allowed(&scopes, &granted) {
                            Ok(()) => Ok(Some(scopes.join(" "))),
                            Err(e) => {
                                scope_error = Some(e);
                                // Any AuthError stops the rotation; the real error is `scope_error`.
                                Err(AuthError::RefreshUnknown)
                            }
                        }
                    }
                })
                .await;
            match (result, scope_error) {
                (_, Some(e)) => Err(e),
                (result, None) => Ok(result?),
            }
        }
        _client_credentials => {
            let scope = match requested {
                Some(scopes) => {
                    allowed(&scopes, &client.scopes)?;
                    scopes.join(" ")
                }
                None => client.scopes.join(" "),
            };
            let subject = Subject {
                id: client.id.clone(),
                name: client.id.clone(),
                role: Role::Service,
                email: None,
            };
            let scope = (!scope.is_empty()).then_some(scope);
            let access = access::issue(state, &subject, &client.id, None, scope.clone()).await?;
            tracing::info!(client_id = %client.id, "client_credentials token issued");
            // No refresh token for client_credentials (§4.4.3): the client can simply ask again.
            Ok(TokenResponse::new(access, None, scope))
        }
    }
}
