//! [`ApiError`]: every way a billing-service request can fail, and the problem+json it becomes.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use shared::Problem;

/// A failed request. Each variant's doc names the status and reason code the client sees.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 404 `invoice_not_found`: no such invoice — *or one that belongs to someone else*. The two
    /// cases get the same answer on purpose, so nobody can probe which invoice ids exist.
    #[error("no such invoice")]
    InvoiceNotFound,
    /// 422 `validation_failed`: the body parsed but values break the rules; the text lists them.
    #[error("{0}")]
    Validation(String),
    /// 400 `invalid_query`: a query parameter is malformed.
    #[error("{0}")]
    InvalidQuery(String),
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
            ApiError::InvoiceNotFound => Problem::new(
                StatusCode::NOT_FOUND,
                "invoice_not_found",
                "you have no invoice with this id",
            ),
            ApiError::Validation(detail) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                detail,
            ),
            ApiError::InvalidQuery(detail) => Problem::bad_request("invalid_query", detail),
            ApiError::Problem(problem) => problem,
            ApiError::Database(error) => {
                tracing::error!(error = %error, "database error");
                Problem::internal()
            }
        }
        .into_response()
    }
}
