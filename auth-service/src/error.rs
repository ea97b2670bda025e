//! The service's error type. Each variant says which problem+json response it becomes; internal
//! causes are logged with the request id and answered with a fixed 500 that reveals nothing.
//!
//! The OAuth token endpoint speaks RFC 6749's own error format instead; see
//! [`crate::routes::oauth`].

use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};
use shared::Problem;

/// Everything that can go wrong in `/auth/*`.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// 401 `invalid_credentials`: unknown e-mail *or* wrong password — deliberately the same.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// 429 `too_many_attempts` with `Retry-After: <secs>`: the account is locked (or, for a
    /// browser with a device cookie, that device is).
    #[error("too many failed attempts")]
    TooManyAttempts {
        /// Seconds until the next attempt is allowed.
        retry_after: u64,
    },
    /// 422 with the given reason (`invalid_email`, `password_too_short`, …).
    #[error("{detail}")]
    Invalid {
        /// Stable reason code.
        reason: &'static str,
        /// What to fix.
        detail: String,
    },
    /// 401 `invalid_refresh_token`: no such refresh token.
    #[error("unknown refresh token")]
    RefreshUnknown,
    /// 401 `refresh_token_expired`.
    #[error("refresh token expired")]
    RefreshExpired,
    /// 401 `refresh_token_reused`: an already-rotated token was presented; its family is revoked.
    #[error("refresh token reused")]
    RefreshReused,
    /// 401 `refresh_token_revoked`: the token's family was revoked (logout or detected reuse).
    #[error("refresh token revoked")]
    RefreshRevoked,
    /// 401 `refresh_token_wrong_client`: the token was issued to another client (an OAuth client's
    /// token at `/auth/refresh`, or the reverse); its family is revoked.
    #[error("refresh token issued to another client")]
    RefreshWrongClient,
    /// 403 `refresh_token_not_yours`: logout with someone else's refresh token.
    #[error("refresh token belongs to another user")]
    NotYourToken,
    /// 500 `internal_error`; the cause is logged, never sent.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for AuthError {
    fn from(error: sqlx::Error) -> Self {
        AuthError::Internal(anyhow::Error::new(error).context("database"))
    }
}

impl From<crate::passwords::HashError> for AuthError {
    fn from(error: crate::passwords::HashError) -> Self {
        AuthError::Internal(error.into())
    }
}

impl From<jsonwebtoken::errors::Error> for AuthError {
    fn from(error: jsonwebtoken::errors::Error) -> Self {
        AuthError::Internal(anyhow::Error::new(error).context("signing a token"))
    }
}

impl AuthError {
    /// A 422 validation error.
    pub fn invalid(reason: &'static str, detail: impl Into<String>) -> Self {
        AuthError::Invalid {
            reason,
            detail: detail.into(),
        }
    }
}

impl From<AuthError> for Problem {
    fn from(error: AuthError) -> Problem {
        match error {
            AuthError::InvalidCredentials => {
                Problem::unauthorized("invalid_credentials", "the e-mail or the password is wrong")
            }
            AuthError::TooManyAttempts { retry_after } => Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                format!(
                    "too many failed logins for this account; try again in {retry_after} seconds"
                ),
            )
            .with_header(header::RETRY_AFTER, retry_after.to_string()),
            AuthError::Invalid { reason, detail } => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, reason, detail)
            }
            AuthError::RefreshUnknown => Problem::unauthorized(
                "invalid_refresh_token",
                "the refresh token is not one we issued; log in again",
            ),
            AuthError::RefreshExpired => Problem::unauthorized(
                "refresh_token_expired",
                "the refresh token has expired; log in again",
            ),
            AuthError::RefreshReused => Problem::unauthorized(
                "refresh_token_reused",
                "this refresh token was already used; as a precaution every token of this \
                 session is now revoked: log in again",
            ),
            AuthError::RefreshRevoked => Problem::unauthorized(
                "refresh_token_revoked",
                "the session of this refresh token was ended; log in again",
            ),
            AuthError::RefreshWrongClient => Problem::unauthorized(
                "refresh_token_wrong_client",
                "this refresh token was issued to another application; as a precaution every \
                 token of its session is now revoked: log in again",
            ),
            AuthError::NotYourToken => Problem::forbidden(
                "refresh_token_not_yours",
                "this refresh token belongs to another user",
            ),
            AuthError::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "internal error");
                Problem::internal()
            }
        }
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        Problem::from(self).into_response()
    }
}
