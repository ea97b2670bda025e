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
//! error here must be problem+json — or, on endpoints with an error format of their own (the
//! auth-service's OAuth endpoints), that format: [`BodyLimit::too_large`] decides the answer.

use crate::Problem;
use axum::{
    Router,
    extract::{DefaultBodyLimit, Request, State},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use http::{StatusCode, Uri, header};

/// A service's body limit: the size, and how a too-large request is answered.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit {
    /// Largest body accepted, in bytes.
    pub max_bytes: usize,
    /// The answer to a request whose `Content-Length` is over the limit. Most endpoints answer
    /// problem+json ([`too_large_response`]); a service whose endpoints speak another error
    /// format (the OAuth token endpoint: RFC 6749 §5.2) answers in that format for those paths.
    pub too_large: fn(&Uri, usize) -> Response,
}

impl BodyLimit {
    /// A limit of `max_bytes`, answered with problem+json.
    pub fn new(max_bytes: usize) -> Self {
        BodyLimit {
            max_bytes,
            too_large: too_large_response,
        }
    }

    /// The same limit, answered by `too_large`.
    pub fn answered_by(self, too_large: fn(&Uri, usize) -> Response) -> Self {
        BodyLimit { too_large, ..self }
    }
}

/// The 413 every over-size body gets, whichever check caught it.
pub fn too_large(limit: usize) -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!("the request body is larger than this service accepts ({limit} bytes)"),
    )
}

/// [`too_large`] as a response, for any path: the default of [`BodyLimit::too_large`].
pub fn too_large_response(_uri: &Uri, limit: usize) -> Response {
    too_large(limit).into_response()
}

/// Adds both checks to `router`.
pub fn apply(router: Router, limit: BodyLimit) -> Router {
    router
        .layer(DefaultBodyLimit::max(limit.max_bytes))
        .layer(middleware::from_fn_with_state(limit, check_content_length))
}

async fn check_content_length(
    State(limit): State<BodyLimit>,
    request: Request,
    next: Next,
) -> Response {
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    match announced {
        Some(length) if length > limit.max_bytes as u64 => {
            (limit.too_large)(request.uri(), limit.max_bytes)
        }
        _ => next.run(request).await,
    }
}
