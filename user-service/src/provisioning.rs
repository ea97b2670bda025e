//! `PUT /internal/profiles/{id}`: the auth-service creates or updates a profile from its account
//! store (see [`shared::provisioning`] for the whole design).
//!
//! Only a token with role `SERVICE` and the scope [`shared::provisioning::SCOPE`] may call it —
//! the auth-service signs one for itself per call. A user's token, even an ADMIN's, gets 403:
//! people change their profile through `PUT /users/me`, and roles change only in the account
//! store. The gateway does not route `/internal/*`, so from outside the path does not exist.
//!
//! It sits outside the teaching toggles (latency, error rate): a class slowing down
//! `/users/*` should not make registrations fail.

use crate::{error::ApiError, profiles, profiles::Profile, routes::validate_name, state::AppState};
use axum::{
    Router,
    extract::{Path, State},
    routing::put,
};
use shared::{AppJson, Authenticated, Problem, Role, provisioning};

/// Longest account id accepted (ids are UUIDs or the demo's 10-digit numbers).
const MAX_ID_CHARS: usize = 64;

/// The provisioning route.
pub fn router() -> Router<AppState> {
    Router::new().route("/internal/profiles/{id}", put(provision))
}

async fn provision(
    State(state): State<AppState>,
    Authenticated(claims): Authenticated,
    Path(id): Path<String>,
    AppJson(record): AppJson<provisioning::ProfileRecord>,
) -> Result<AppJson<Profile>, ApiError> {
    let granted = claims
        .scope
        .as_deref()
        .is_some_and(|scope| scope.split(' ').any(|s| s == provisioning::SCOPE));
    if claims.role != Role::Service || !granted {
        return Err(Problem::forbidden(
            "provisioning_scope_required",
            "profiles are provisioned by the auth-service only (a SERVICE token with scope \
             `profiles:provision`)",
        )
        .into());
    }
    if id.is_empty() || id.chars().count() > MAX_ID_CHARS || id.chars().any(char::is_control) {
        return Err(ApiError::Validation(format!(
            "the account id must be 1 to {MAX_ID_CHARS} characters, without control characters"
        )));
    }
    if record.role == Role::Service {
        return Err(ApiError::Validation(
            "`role` must be STUDENT or ADMIN: machine clients have no profile".to_owned(),
        ));
    }
    let name = validate_name(&record.name)?;
    let record = provisioning::ProfileRecord {
        name: name.to_owned(),
        ..record
    };
    let profile = profiles::provision(&state.db, &id, &record).await?;
    tracing::info!(user_id = %id, role = %record.role, "profile provisioned");
    Ok(AppJson(profile))
}
