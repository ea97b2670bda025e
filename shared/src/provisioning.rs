//! Profile provisioning: how the auth-service tells the user-service that an account exists.
//!
//! The user-service's stored profile is the truth about a user (name, e-mail, role) as far as
//! the API is concerned; a token only says *who* is calling. Profiles therefore come from the
//! one place accounts are created — the auth-service — never from a token's claims: a forged
//! or stale token must not be able to change what every admin sees in `GET /api/users`.
//!
//! The auth-service calls `PUT /internal/profiles/{id}` on the user-service with this body when
//! an account is registered, and again at each successful login (so a profile lost with an
//! in-memory database, or a role changed in the account store, is back in line at the next
//! login). It authenticates with an access token it signs for itself: role `SERVICE`, scope
//! [`SCOPE`], lifetime [`TOKEN_TTL_SECS`]. The path is not routed by the gateway (which forwards
//! only `/api/users/*` → `/users/*`), so a client cannot reach it from outside; and even a
//! machine client's `client_credentials` token cannot use it unless an operator granted that
//! client this scope.
//!
//! Seeded accounts (the demo's two, the classroom's forty) are seeded by both services from the
//! same constants ([`crate::demo`]), so they exist before anyone logs in.

use serde::{Deserialize, Serialize};

/// The scope a provisioning token carries, and the only one the endpoint accepts.
pub const SCOPE: &str = "profiles:provision";

/// The `sub` (and `name`) of the auth-service's own provisioning tokens.
pub const SUBJECT: &str = "auth-service";

/// How long a provisioning token lives: one call, with room for a slow network.
pub const TOKEN_TTL_SECS: u64 = 60;

/// The user-service's path for the profile of account `id`.
pub fn path(id: &str) -> String {
    format!("/internal/profiles/{id}")
}

/// The body of `PUT /internal/profiles/{id}`: what the account store says about the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileRecord {
    /// The account's e-mail (normalised).
    pub email: String,
    /// The account's display name (the user-service keeps a name the user chose themself).
    pub name: String,
    /// `STUDENT` or `ADMIN`.
    pub role: crate::Role,
}
