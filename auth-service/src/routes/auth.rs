//! `/auth/*`: the JSON API the demo's clients use (`/api/auth/*` through the gateway).
//!
//! register → 201 (the same answer for a new and a taken e-mail: see [`accounts`]); login →
//! token pair and a device cookie ([`crate::device`]); refresh → next pair (rotation); logout →
//! 204.
//! Sessions started here belong to the first-party client
//! ([`crate::clients::FIRST_PARTY_CLIENT_ID`]): `/auth/refresh` redeems only their refresh tokens.

use crate::{
    AppState, accounts, clients::FIRST_PARTY_CLIENT_ID, error::AuthError, refresh, routes::no_store,
};
use axum::{
    Router,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use shared::{AppJson, Authenticated};

/// The four `/auth` routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
        .route("/auth/refresh", post(refresh_pair))
        .route("/auth/logout", post(logout))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    email: String,
    password: SecretString,
    name: String,
}

/// The answer to every accepted registration, new or taken e-mail alike: nothing in it (no id,
/// no name) differs between the two.
#[derive(Serialize)]
struct Registered {
    status: &'static str,
    email: String,
}

async fn register(
    State(state): State<AppState>,
    AppJson(body): AppJson<RegisterBody>,
) -> Result<Response, AuthError> {
    let (email, outcome) =
        accounts::register(&state, &body.email, body.password, &body.name).await?;
    match outcome {
        accounts::Registration::Created { user_id } => tracing::info!(%user_id, "registered"),
        // Where a real system would send the owner an e-mail. Never the password.
        accounts::Registration::AlreadyExists => tracing::info!(
            %email,
            "registration refused: an account with this e-mail already exists"
        ),
    }
    let body = Registered {
        status: "registered",
        email,
    };
    Ok((StatusCode::CREATED, AppJson(body)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    email: String,
    password: SecretString,
}

async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    AppJson(body): AppJson<LoginBody>,
) -> Result<Response, AuthError> {
    let login =
        accounts::authenticate_with_device(&state, &body.email, body.password, &headers).await?;
    let pair = refresh::start_session(&state, &login.user, FIRST_PARTY_CLIENT_ID, None).await?;
    tracing::info!(user_id = %login.user.id, "logged in");
    let mut response = no_store(AppJson(pair));
    response
        .headers_mut()
        .insert(header::SET_COOKIE, login.device_cookie);
    Ok(response)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshBody {
    refresh_token: String,
}

async fn refresh_pair(
    State(state): State<AppState>,
    AppJson(body): AppJson<RefreshBody>,
) -> Result<Response, AuthError> {
    let pair = refresh::rotate(&state, &body.refresh_token, FIRST_PARTY_CLIENT_ID, Ok).await?;
    Ok(no_store(AppJson(pair)))
}

async fn logout(
    State(state): State<AppState>,
    Authenticated(claims): Authenticated,
    AppJson(body): AppJson<RefreshBody>,
) -> Result<StatusCode, AuthError> {
    refresh::revoke(&state, &body.refresh_token, &claims.sub).await?;
    tracing::info!(user_id = %claims.sub, "logged out");
    Ok(StatusCode::NO_CONTENT)
}
