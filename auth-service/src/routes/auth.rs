//! `/auth/*`: the JSON API the demo's clients use (`/api/auth/*` through the gateway).
//!
//! register → 201 user; login → token pair; refresh → next pair (rotation); logout → 204.
//! Sessions started here belong to the first-party client
//! ([`crate::clients::FIRST_PARTY_CLIENT_ID`]): `/auth/refresh` redeems only their refresh tokens.

use crate::{
    AppState, accounts, clients::FIRST_PARTY_CLIENT_ID, error::AuthError, refresh, routes::no_store,
};
use axum::{
    Router,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::post,
};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use shared::{AppJson, Authenticated, Role};

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

/// The public view of a user: never the hash.
#[derive(Serialize)]
struct UserView {
    id: String,
    email: String,
    name: String,
    role: Role,
}

async fn register(
    State(state): State<AppState>,
    AppJson(body): AppJson<RegisterBody>,
) -> Result<Response, AuthError> {
    let user = accounts::register(&state, &body.email, body.password, &body.name).await?;
    tracing::info!(user_id = %user.id, "registered");
    let view = UserView {
        id: user.id,
        email: user.email,
        name: user.name,
        role: user.role,
    };
    Ok((StatusCode::CREATED, AppJson(view)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    email: String,
    password: SecretString,
}

async fn login(
    State(state): State<AppState>,
    AppJson(body): AppJson<LoginBody>,
) -> Result<Response, AuthError> {
    let user = accounts::authenticate(&state, &body.email, body.password).await?;
    let pair = refresh::start_session(&state, &user, FIRST_PARTY_CLIENT_ID, None).await?;
    tracing::info!(user_id = %user.id, "logged in");
    Ok(no_store(AppJson(pair)))
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
