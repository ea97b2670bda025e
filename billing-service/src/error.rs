//! The billing-service's own failures, and the problem+json each becomes. The common ones (422
//! `validation_failed`, a problem made elsewhere, a database failure) are
//! [`shared::service_kit::ServiceError`]'s, shared by every service.

use http::StatusCode;
use shared::{Problem, service_kit::ServiceError};

/// A failed billing-service request: one of [`BillingError`] or a common failure.
pub type ApiError = ServiceError<BillingError>;

/// What only the billing-service can get wrong. Each variant's doc names the status and reason.
#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    /// 404 `invoice_not_found`: no such invoice — *or one that belongs to someone else*. The two
    /// cases get the same answer on purpose, so nobody can probe which invoice ids exist.
    #[error("no such invoice")]
    InvoiceNotFound,
    /// 400 `invalid_query`: a query parameter is malformed.
    #[error("{0}")]
    InvalidQuery(String),
}

impl From<BillingError> for Problem {
    fn from(error: BillingError) -> Problem {
        match error {
            BillingError::InvoiceNotFound => Problem::new(
                StatusCode::NOT_FOUND,
                "invoice_not_found",
                "you have no invoice with this id",
            ),
            BillingError::InvalidQuery(detail) => Problem::bad_request("invalid_query", detail),
        }
    }
}

impl From<BillingError> for ApiError {
    fn from(error: BillingError) -> ApiError {
        ServiceError::Domain(error)
    }
}
