//! The `/users/*` handlers. Each one starts from a [`Caller`] (token verified, stored profile
//! read) and decides *authorisation* itself: own record, or ADMIN by the stored role.

use crate::{
    caller::Caller,
    error::{ApiError, UserError},
    profiles,
    profiles::Profile,
    state::AppState,
};
use axum::{
    Router,
    extract::{Path, State},
    routing::get,
};
use serde::Deserialize;
use shared::AppJson;

/// Longest display name, in characters (not bytes: "María" is 5 characters, 6 bytes).
pub const MAX_NAME_CHARS: usize = 100;

/// The business routes (wrapped in the fault injection by [`crate::router`]).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users", get(list_users))
        .route("/users/me", get(me).put(rename_me))
        .route("/users/{id}", get(user_by_id))
}

/// `GET /users/me`: the caller's profile.
async fn me(caller: Caller) -> AppJson<Profile> {
    AppJson(caller.profile)
}

/// `PUT /users/me` body. Unknown fields are refused: a client cannot slip in `"role":"ADMIN"`
/// and hope it sticks (mass assignment).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rename {
    name: String,
}

/// `PUT /users/me`: the caller changes their display name. From then on it wins over the token's.
async fn rename_me(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<Rename>,
) -> Result<AppJson<Profile>, ApiError> {
    let name = validate_name(&body.name)?;
    let profile = profiles::rename(&state.db, &caller.profile.id, name)
        .await?
        .ok_or(UserError::UserNotFound)?;
    Ok(AppJson(profile))
}

/// `GET /users/{id}`: your own profile, or anyone's for an ADMIN.
///
/// Choice: another user's id gets **403 `not_owner`**, decided *before* the database is asked,
/// so the answer is the same whether that id exists or not — a student learns nothing about
/// which ids are taken, and the error says plainly what rule was hit. Only an ADMIN can get 404.
async fn user_by_id(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<AppJson<Profile>, ApiError> {
    if id != caller.profile.id && !caller.is_admin() {
        return Err(UserError::NotOwner.into());
    }
    let profile = profiles::find(&state.db, &id)
        .await?
        .ok_or(UserError::UserNotFound)?;
    Ok(AppJson(profile))
}

/// `GET /users`: every profile, ADMIN only (a STUDENT gets 403 `role_required`).
async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<AppJson<Vec<Profile>>, ApiError> {
    if !caller.is_admin() {
        return Err(UserError::AdminRequired.into());
    }
    Ok(AppJson(profiles::list(&state.db).await?))
}

/// Trims the name and checks it: 1 to 100 characters, no control characters (a newline in a name
/// breaks every log line and e-mail header it is printed in).
pub fn validate_name(raw: &str) -> Result<&str, ApiError> {
    let name = raw.trim();
    let chars = name.chars().count();
    if chars == 0 {
        return Err(ApiError::Validation(
            "`name` must not be empty or only spaces".to_owned(),
        ));
    }
    if chars > MAX_NAME_CHARS {
        return Err(ApiError::Validation(format!(
            "`name` must be at most {MAX_NAME_CHARS} characters (it has {chars})"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(ApiError::Validation(
            "`name` must not contain control characters such as line breaks".to_owned(),
        ));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(validate_name("  Ada  ").unwrap(), "Ada");
        assert!(validate_name("   ").is_err());
        assert!(validate_name("").is_err());
        assert!(validate_name(&"é".repeat(100)).is_ok());
        assert!(validate_name(&"é".repeat(101)).is_err());
        assert!(validate_name("Ada\nAdmin").is_err());
    }
}
