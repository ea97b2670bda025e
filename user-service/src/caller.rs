//! [`Caller`]: the extractor every `/users/*` handler starts with.
//!
//! It verifies the bearer token ([`shared::Authenticated`] — the forwarded `X-User-*` headers are
//! ignored, because anyone who reaches this service directly could forge them), then *reads* the
//! caller's stored profile. The token says who calls; the profile says what is true about them.
//! Nothing here writes: a token whose `sub` has no profile gets 404 `profile_not_found`, and
//! the caller's role for every rule below is the stored one, so a forged or stale token cannot
//! change a profile, nor act with a role the account store never gave.

use crate::{error::ApiError, error::UserError, profiles, profiles::Profile, state::AppState};
use axum::extract::FromRequestParts;
use http::request::Parts;
use shared::{Authenticated, Claims, Problem, Role};

/// The authenticated caller and their stored profile.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The verified token's claims.
    pub claims: Claims,
    /// Their profile, as stored.
    pub profile: Profile,
}

impl Caller {
    /// True when the caller may act on any user's record: the *stored* role is ADMIN (not the
    /// token's: a token minted with `"role":"ADMIN"` for a student's `sub` stays a student here).
    pub fn is_admin(&self) -> bool {
        self.profile.role == Role::Admin.as_str()
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Authenticated(claims) = Authenticated::from_request_parts(parts, state).await?;
        if claims.role == Role::Service {
            // A `client_credentials` token names an OAuth client, not a person: it has no
            // profile, or machine clients would fill the user list.
            return Err(Problem::forbidden(
                "user_token_required",
                "machine clients (SERVICE tokens) have no user profile; call with a user's token",
            )
            .into());
        }
        let profile = profiles::find(&state.db, &claims.sub)
            .await?
            .ok_or(UserError::ProfileNotFound)?;
        Ok(Caller { claims, profile })
    }
}
