//! [`ApiError`]: every way a user-service request can fail, and the problem+json it becomes.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use shared::Problem;

/// A failed request. Each variant's doc names the status and reason code the client sees.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 404 `user_not_found`: no profile has this id.
    #[error("no such user")]
    UserNotFound,
    /// 403 `not_owner`: a non-ADMIN asked for someone else's profile.
    #[error("not the caller's own record")]
    NotOwner,
    /// 422 `validation_failed`: the body parsed but a value is out of range; the text says which.
    #[error("{0}")]
    Validation(String),
    /// Already a problem (401 from the token check, 403 `role_required`, …): sent as it is.
    #[error("{0}")]
    Problem(#[from] Problem),
    /// 500 `internal_error`. The cause is logged with the request id, never sent.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::UserNotFound => Problem::new(
                StatusCode::NOT_FOUND,
                "user_not_found",
                "no user has this id",
            ),
            ApiError::NotOwner => Problem::forbidden(
                "not_owner",
                "you may read only your own profile; ADMIN may read any",
            ),
            ApiError::Validation(detail) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                detail,
            ),
            ApiError::Problem(problem) => problem,
            ApiError::Database(error) => {
                tracing::error!(error = %error, "database error");
                Problem::internal()
            }
        }
        .into_response()
    }
}
