//! [`Caller`]: the extractor every `/users/*` handler starts with.
//!
//! It verifies the bearer token ([`shared::Authenticated`] — the forwarded `X-User-*` headers are
//! ignored, because anyone who reaches this service directly could forge them), then creates or
//! syncs the caller's profile from the verified claims. A handler that takes a `Caller` therefore
//! always has a genuine user with a stored profile.

use crate::{error::ApiError, profiles, profiles::Profile, state::AppState};
use axum::extract::FromRequestParts;
use http::request::Parts;
use shared::{Authenticated, Claims, Problem, Role};

/// The authenticated caller and their (just synced) profile.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The verified token's claims.
    pub claims: Claims,
    /// Their profile, as stored after this request's sync.
    pub profile: Profile,
}

impl Caller {
    /// True when the caller may act on any user's record.
    pub fn is_admin(&self) -> bool {
        self.claims.role == Role::Admin
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Authenticated(claims) = Authenticated::from_request_parts(parts, state).await?;
        if claims.role == Role::Service {
            // A `client_credentials` token names an OAuth client, not a person: it gets no
            // profile, or machine clients would fill the user list.
            return Err(Problem::forbidden(
                "user_token_required",
                "machine clients (SERVICE tokens) have no user profile; call with a user's token",
            )
            .into());
        }
        let profile = profiles::sync_from_claims(&state.db, &claims).await?;
        Ok(Caller { claims, profile })
    }
}
