//! The user-service's own failures, and the problem+json each becomes. The common ones (422
//! `validation_failed`, a problem made elsewhere, a database failure) are
//! [`shared::service_kit::ServiceError`]'s, shared by every service.

use http::StatusCode;
use shared::{Problem, service_kit::ServiceError};

/// A failed user-service request: one of [`UserError`] or a common failure.
pub type ApiError = ServiceError<UserError>;

/// What only the user-service can get wrong. Each variant's doc names the status and reason code.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// 404 `user_not_found`: no profile has this id.
    #[error("no such user")]
    UserNotFound,
    /// 403 `not_owner`: a non-ADMIN asked for someone else's profile.
    #[error("not the caller's own record")]
    NotOwner,
    /// 404 `profile_not_found`: the token is valid, but its `sub` has no profile here (profiles
    /// come from the auth-service's accounts, never from a token).
    #[error("the caller has no profile")]
    ProfileNotFound,
    /// 403 `role_required`: the stored profile is not an ADMIN's (whatever the token says).
    #[error("not an admin")]
    AdminRequired,
}

impl From<UserError> for Problem {
    fn from(error: UserError) -> Problem {
        match error {
            UserError::UserNotFound => Problem::new(
                StatusCode::NOT_FOUND,
                "user_not_found",
                "no user has this id",
            ),
            UserError::NotOwner => Problem::forbidden(
                "not_owner",
                "you may read only your own profile; ADMIN may read any",
            ),
            UserError::ProfileNotFound => Problem::new(
                StatusCode::NOT_FOUND,
                "profile_not_found",
                "your token is valid, but no profile exists for its subject: profiles are \
                 created from the auth-service's accounts (at registration and at login), \
                 never from a token",
            ),
            UserError::AdminRequired => Problem::forbidden(
                "role_required",
                "this endpoint needs the ADMIN role (as stored in your profile)",
            ),
        }
    }
}

impl From<UserError> for ApiError {
    fn from(error: UserError) -> ApiError {
        ServiceError::Domain(error)
    }
}
