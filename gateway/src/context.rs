//! What every step may need to know about a request besides the request itself, and the names of
//! the headers the gateway itself writes.
//!
//! A leaf: it depends on nothing above it, so the error module, the steps, the proxy and the
//! aggregates can all share these names without importing one another.

use crate::forwarded::Peer;
use http::HeaderName;
use shared::{request_id::Assigned, trace_context::TraceContext};

/// Who sent a request and what it is called, known before the pipeline starts: the client
/// connection's peer, the request's id and its place in a W3C trace.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    /// The client end of the connection (see [`crate::forwarded::Peer`]).
    pub peer: &'a Peer,
    /// The request's id (`X-Request-Id`).
    pub request_id: &'a Assigned,
    /// The request's trace: the client's continued or a new one, with the gateway's own span id
    /// ([`shared::trace_context`]). Every upstream call carries it on.
    pub trace: &'a TraceContext,
}

/// The verified caller's id (`sub`), set by the gateway for the backends.
pub static X_USER_ID: HeaderName = HeaderName::from_static("x-user-id");
/// The verified caller's role.
pub static X_USER_ROLE: HeaderName = HeaderName::from_static("x-user-role");
/// The verified caller's display name, percent-encoded where it is not printable ASCII.
pub static X_USER_NAME: HeaderName = HeaderName::from_static("x-user-name");
/// Every header whose name starts with this is the gateway's to set: a client's are removed.
pub const IDENTITY_PREFIX: &str = "x-user-";

/// On an aggregate's answer: `true` when some optional sections are missing.
pub static X_GATEWAY_PARTIAL: HeaderName = HeaderName::from_static("x-gateway-partial");
/// On a failed aggregate: the key of the required call that failed.
pub static X_GATEWAY_FAILED_CALL: HeaderName = HeaderName::from_static("x-gateway-failed-call");

/// On a refused request's answer (and on every answer in demo mode): the id of its decision
/// record ([`crate::decision`]).
pub static X_GATEWAY_DECISION: HeaderName = HeaderName::from_static("x-gateway-decision");
/// Where a caller reads their own decision records on the public port, in demo mode
/// (`/gateway/decisions/{id}`); the admin listener serves every record at `/decisions/{id}`.
pub const DECISIONS_PATH: &str = "/gateway/decisions/";

/// In demo mode (or with the console), on every answer to a forwarded request: who answered it,
/// `gateway` for an answer the gateway made itself (a refusal, an aggregate) or the upstream's
/// name for one a service wrote. A gateway's 401 and a backend's 401 look alike otherwise.
pub static X_ANSWERED_BY: HeaderName = HeaderName::from_static("x-answered-by");
/// In demo mode (or with the console), on an answer a service wrote: the path and query the
/// gateway forwarded to it, after normalising and rewriting the prefix (`/users/me` for
/// `/api/users/me`), so the rewrite a route makes can be seen.
pub static X_UPSTREAM_PATH: HeaderName = HeaderName::from_static("x-upstream-path");
