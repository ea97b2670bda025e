//! [`ServiceError`]: the ways a request can fail in any service, around the service's own.
//!
//! Every service has a few failures of its own (`user_not_found`, `invoice_not_found`, …) and
//! the same few common ones: a value out of range (422), a problem already made elsewhere (401
//! from the token check, 403 from a role check), and an internal failure (500, its cause logged,
//! never sent). The common ones live here once; a service names its own in an enum `D` that
//! turns into a [`Problem`], and writes `pub type ApiError = ServiceError<D>;`.

use crate::Problem;
use axum::response::{IntoResponse, Response};
use http::StatusCode;

/// A failed request. Each variant's doc names the status and reason code the client sees.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError<D> {
    /// The service's own failure; `D`'s conversion into a [`Problem`] says which status.
    #[error("{0}")]
    Domain(D),
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

impl<D> IntoResponse for ServiceError<D>
where
    D: Into<Problem>,
{
    fn into_response(self) -> Response {
        match self {
            ServiceError::Domain(domain) => domain.into(),
            ServiceError::Validation(detail) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                detail,
            ),
            ServiceError::Problem(problem) => problem,
            ServiceError::Database(error) => {
                tracing::error!(error = %error, "database error");
                Problem::internal()
            }
        }
        .into_response()
    }
}
