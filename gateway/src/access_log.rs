//! The access log: one structured `tracing` line per request, written when the response head
//! leaves the gateway.
//!
//! Fields: method, normalised path, route, upstream, status, latency (to the response head),
//! user id, request id, W3C trace id (the same in the logs of every service the request crossed),
//! the decision record's id ([`crate::decision`]), and — for requests the gateway answered itself — the stable reason and
//! whose fault it was (`side`). Together with the reason in the problem+json body, a user's "why
//! was I refused?" is answered by grepping one request id. The token and the `Authorization`
//! header are never logged.

use crate::{cors::Cors, decision::Record};
use http::{HeaderValue, Method, StatusCode};
use shared::trace_context::TraceId;
use std::time::Duration;

/// What the pipeline learned about a request, filled in as it goes.
#[derive(Debug)]
pub struct Trace<'a> {
    /// The matched route's name.
    pub route: Option<&'a str>,
    /// The chosen upstream's name.
    pub upstream: Option<&'a str>,
    /// The verified caller's id (`sub`).
    pub user: Option<String>,
    /// The matched route speaks OAuth: the gateway's own errors there also carry RFC 6749's
    /// `error` (see `oauth_errors.rs`).
    pub oauth_errors: bool,
    /// The decision record: each check and upstream attempt, for `GET /decisions/{id}`.
    pub decision: Record,
    /// The matched route's CORS policy and the request's `Origin`: every answer, the
    /// gateway's refusals too, gets its CORS headers from them ([`crate::cors`]).
    pub cors: Option<(&'a Cors, Option<HeaderValue>)>,
}

impl Trace<'_> {
    /// A trace with nothing learned yet but its decision record.
    pub fn new(decision: Record) -> Trace<'static> {
        Trace {
            route: None,
            upstream: None,
            user: None,
            oauth_errors: false,
            decision,
            cors: None,
        }
    }
}

/// Everything one log line needs.
pub struct Entry<'a> {
    /// From the request's arrival to its response head (measured once, for the metrics and the
    /// decision record too).
    pub latency: Duration,
    /// Request method.
    pub method: &'a Method,
    /// Normalised path (or the raw one when normalisation refused it).
    pub path: &'a str,
    /// Response status.
    pub status: StatusCode,
    /// Request id.
    pub request_id: &'a str,
    /// The request's W3C trace id.
    pub trace_id: TraceId,
    /// What the pipeline learned.
    pub trace: &'a Trace<'a>,
    /// Reason and side of an error the gateway answered itself.
    pub error: Option<(&'static str, &'static str)>,
}

/// Writes the line (target `gateway::access`, level info).
pub fn write(entry: &Entry<'_>) {
    let latency_ms = entry.latency.as_secs_f64() * 1000.0;
    let (reason, side) = entry.error.unwrap_or(("-", "-"));
    tracing::info!(
        target: "gateway::access",
        method = %entry.method,
        path = %entry.path,
        route = entry.trace.route.unwrap_or("-"),
        upstream = entry.trace.upstream.unwrap_or("-"),
        status = entry.status.as_u16(),
        latency_ms = (latency_ms * 1000.0).round() / 1000.0,
        user = entry.trace.user.as_deref().unwrap_or("-"),
        request_id = entry.request_id,
        trace_id = %entry.trace_id,
        decision = %entry.trace.decision.id,
        reason,
        side,
        "request"
    );
}
