//! The middleware stack every service wraps its router in, built in one place.
//!
//! Layers wrap inside-out: the *last* `.layer(..)` call is the *outermost*, the first to see a
//! request and the last to see its response. Read [`wrap`] bottom-up to follow a request.

use super::body_limit::{self, BodyLimit};
use crate::Problem;
use axum::{Router, response::IntoResponse};
use tower_http::{catch_panic::CatchPanicLayer, trace::TraceLayer};

/// Adds problem+json fallbacks (404, 405), the body limit, panic recovery, request tracing and
/// request ids to a finished router.
pub fn wrap(router: Router, body_limit: BodyLimit) -> Router {
    let router = router
        // A path nothing serves: problem+json 404, like every other error.
        .fallback(|| async { Problem::not_found("nothing is served at this path") })
        // A known path with the wrong method: problem+json 405 instead of axum's empty body.
        .method_not_allowed_fallback(|| async {
            Problem::new(
                http::StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this path does not accept this method",
            )
        });
    // Innermost: a body over the limit is refused (413) before a handler reads it.
    body_limit::apply(router, body_limit)
        // A panicking handler becomes a 500 problem (the panic is logged, never sent).
        .layer(CatchPanicLayer::custom(
            |_panic: Box<dyn std::any::Any + Send>| {
                tracing::error!("a handler panicked");
                Problem::internal().into_response()
            },
        ))
        // One log line per request and response, inside the request-id span.
        .layer(TraceLayer::new_for_http())
        // Outermost: every response, even a 413 or a 404, carries `X-Request-Id`.
        .layer(axum::middleware::from_fn(crate::request_id::layer))
}
