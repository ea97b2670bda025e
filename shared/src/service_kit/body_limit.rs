//! Request body size limit, answered with 413 problem+json.
//!
//! Two checks, because a body can announce its size or not:
//!
//! - a `Content-Length` over the limit is refused *before* the body is read (this middleware), so
//!   a client cannot make us buffer 1 GiB just to be told no;
//! - a body without a length (chunked) is counted while it is read: axum's
//!   [`DefaultBodyLimit`] stops the extractor at the limit and [`crate::AppJson`] turns that into
//!   the same 413 problem.
//!
//! tower-http's `RequestBodyLimitLayer` does the first check too, but answers in plain text; every
//! error here must be problem+json.

use crate::Problem;
use axum::{
    Router,
    extract::{DefaultBodyLimit, Request, State},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use http::{StatusCode, header};

/// The 413 every over-size body gets, whichever check caught it.
pub fn too_large(limit: usize) -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!("the request body is larger than this service accepts ({limit} bytes)"),
    )
}

/// Adds both checks to `router`.
pub fn apply(router: Router, limit: usize) -> Router {
    router
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(limit, check_content_length))
}

async fn check_content_length(
    State(limit): State<usize>,
    request: Request,
    next: Next,
) -> Response {
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    match announced {
        Some(length) if length > limit as u64 => too_large(limit).into_response(),
        _ => next.run(request).await,
    }
}
