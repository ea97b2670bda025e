//! `X-Request-Id`: one id per request, from the edge to every log line and error body.
//!
//! The gateway assigns the id (or keeps a well-formed one the client sent), forwards it to the
//! backends, and returns it in the response. Every service runs this same layer, so a backend
//! reached through the gateway keeps the gateway's id and its logs line up with the gateway's.
//!
//! The id is also put in a task-local for the duration of the request, so a [`crate::Problem`]
//! built anywhere in a handler can quote it without the id being threaded through every function.
//!
//! The request id names one request at one service; the trace id ([`crate::trace_context`])
//! names its whole journey across services. Both are set here, at the edge of every service, and
//! both go on the request's span, so every log line written while handling it carries them.

use crate::trace_context::{self, TraceContext};
use axum::{extract::Request, middleware::Next, response::Response};
use http::{HeaderName, HeaderValue};
use std::sync::Arc;
use tracing::Instrument;

/// The header name, lower-case as HTTP/2 requires.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest client-supplied id we keep; longer ones are replaced (they would bloat every log).
const MAX_LEN: usize = 128;

tokio::task_local! {
    static CURRENT: Arc<str>;
}

/// A request's id, stored in the request extensions by [`layer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub Arc<str>);

/// The id of the request being handled on this task, if [`layer`] (or [`scope`]) set one.
pub fn current() -> Option<Arc<str>> {
    CURRENT.try_with(Arc::clone).ok()
}

/// Runs `fut` with `id` as the current request id (used by the layer, and by tests).
pub async fn scope<F: Future>(id: Arc<str>, fut: F) -> F::Output {
    CURRENT.scope(id, fut).await
}

/// A fresh id: a UUIDv7, so ids sort by time in logs. Encoded into a stack buffer rather than
/// through `Display` (`to_string`), which goes through the formatting machinery on every request.
pub fn generate() -> Arc<str> {
    let mut buffer = uuid::Uuid::encode_buffer();
    Arc::from(&*uuid::Uuid::now_v7().hyphenated().encode_lower(&mut buffer))
}

/// Accepts a client-supplied id only if it is short and made of safe characters, so nobody can
/// inject log lines or header tricks through it.
pub fn is_acceptable(value: &[u8]) -> bool {
    !value.is_empty()
        && value.len() <= MAX_LEN
        && value
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// A request's id, decided: the client's if it is acceptable, else a fresh one.
#[derive(Debug, Clone)]
pub struct Assigned {
    id: Arc<str>,
    header: HeaderValue,
}

/// Keeps or assigns the id of `request` and sets its `X-Request-Id` header (what the backends
/// get). The caller hands the id on: [`layer`] as the [`RequestId`] extension, the gateway as an
/// argument of its pipeline.
pub fn assign<B>(request: &mut http::Request<B>) -> Assigned {
    let id = request
        .headers()
        .get(&X_REQUEST_ID)
        .map(HeaderValue::as_bytes)
        .filter(|value| is_acceptable(value))
        .and_then(|value| std::str::from_utf8(value).ok())
        .map(Arc::<str>::from)
        .unwrap_or_else(generate);
    let header = HeaderValue::from_str(&id).expect("request ids are checked header-safe");
    request
        .headers_mut()
        .insert(X_REQUEST_ID.clone(), header.clone());
    Assigned { id, header }
}

impl Assigned {
    /// The id.
    pub fn id(&self) -> &Arc<str> {
        &self.id
    }

    /// The id as a header value (shared, not copied, when cloned).
    pub fn header(&self) -> &HeaderValue {
        &self.header
    }

    /// Runs the handling of the request with the id and `trace`'s trace id as the current ones
    /// (task-locals, and the fields of the request's tracing span) and echoes the id on the
    /// response.
    pub async fn run<F, B>(self, trace: &TraceContext, handling: F) -> http::Response<B>
    where
        F: Future<Output = http::Response<B>>,
    {
        let span = tracing::info_span!(
            "request",
            request_id = %self.id,
            trace_id = %trace.trace_id(),
            span_id = %trace.span_id(),
        );
        let handling = trace_context::scope(trace.trace_id(), handling);
        let mut response = scope(self.id, handling).instrument(span).await;
        response
            .headers_mut()
            .insert(X_REQUEST_ID.clone(), self.header);
        response
    }
}

/// Middleware (use with `axum::middleware::from_fn`): keeps or assigns the id, continues the
/// caller's trace (or starts one: [`TraceContext::from_headers`]) with this service's own span
/// id, exposes both to the handler (extensions + task-locals + tracing span) and echoes the id on
/// the response. A service behind the gateway believes the gateway's `traceparent`: that is how
/// one trace spans the gateway and the services.
pub async fn layer(mut request: Request, next: Next) -> Response {
    let assigned = assign(&mut request);
    let trace = TraceContext::from_headers(request.headers(), true);
    request
        .extensions_mut()
        .insert(RequestId(Arc::clone(&assigned.id)));
    request.extensions_mut().insert(trace.clone());
    assigned.run(&trace, next.run(request)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_safe_ids_are_kept() {
        assert!(is_acceptable(b"0190f3c2-7a1b-7c3d-9e8f-123456789abc"));
        assert!(!is_acceptable(b""));
        assert!(!is_acceptable(b"abc\r\nX-Injected: 1"));
        assert!(!is_acceptable(b"a b"));
        assert!(!is_acceptable(&[b'a'; 129]));
    }

    #[test]
    fn a_generated_id_is_a_hyphenated_uuid_v7_and_ids_differ() {
        let (a, b) = (generate(), generate());
        assert_ne!(a, b);
        let parsed = uuid::Uuid::parse_str(&a).unwrap();
        assert_eq!(parsed.get_version_num(), 7);
        assert_eq!(
            parsed.hyphenated().to_string(),
            *a,
            "lower-case, hyphenated"
        );
        assert!(
            is_acceptable(a.as_bytes()),
            "our own ids pass our own check"
        );
    }
}
