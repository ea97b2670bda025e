//! Aggregation: one client request answered by several upstream calls run at once.
//!
//! `GET /api/dashboard` becomes `GET /users/me`, `GET /billing/invoices` and
//! `GET /billing/summary` in parallel; the answer is one JSON object with a section per call and
//! a `_meta` block that says, for every call, its status, latency and — if it failed — why:
//!
//! ```json
//! {
//!   "profile":  {"id": "1905551042", …},
//!   "invoices": null,
//!   "summary":  null,
//!   "_meta": {
//!     "partial": true, "latency_ms": 12.3, "budget_ms": 3000,
//!     "calls": {
//!       "profile":  {"upstream": "users", "status": 200, "started_ms": 0.02, "latency_ms": 4.1},
//!       "invoices": {"upstream": "billing", "status": null, "started_ms": 0.03,
//!                    "latency_ms": 1.2, "reason": "upstream_unavailable", "detail": "…"},
//!       …
//!     }
//!   }
//! }
//! ```
//!
//! Rules, in the order they apply:
//!
//! - **Concurrency**: every call starts at once, so the aggregate costs about its slowest call.
//!   `_meta` shows it: each call's `started_ms` (when it really began, from the aggregate's
//!   start) and `latency_ms` (when it ended, from the same start) are the two ends of its bar on
//!   a timeline — the console draws exactly that.
//! - **Budget**: each call has its own timeout, never beyond the aggregate's `timeout_ms`; a call
//!   still running at its deadline fails with `upstream_timeout`. Nothing waits longer.
//! - **Required calls fail fast**: the first required call to fail ends the request at once with
//!   that call's status and reason (502 `upstream_unavailable`/`upstream_error`/`not_json`/
//!   `response_too_large`, 503 `circuit_open`, 504 `upstream_timeout`; a 4xx from the upstream
//!   is passed on as `upstream_rejected`), and the calls still running are cancelled.
//! - **Optional calls degrade**: their section is `null`, `_meta.partial` is `true`, the response
//!   says `X-Gateway-Partial: true` and `Cache-Control: no-store` — a partial answer is never
//!   cached.
//! - **Bounded reading**: a call's body is read up to `max_call_bytes` (by `Content-Length` first,
//!   then counted); more is `response_too_large`. A body that is not JSON is `not_json`.
//! - **Identity**: each call carries the caller's `Authorization` (so the backend verifies it
//!   again), the verified `X-User-*` headers, `X-Request-Id` and the forwarding headers; `{sub}`
//!   in a call's path is the caller's id, percent-encoded.
//!
//! Calls go through [`crate::upstream::call::exchange`], so they get load balancing, circuit
//! breakers and retries exactly like proxied requests. An aggregate is admitted exactly like a
//! route ([`crate::admission`]: token, roles, identity, rate limits), once per client request.
//!
//! # Layout
//!
//! - [`table`]: the compiled aggregates (calls, deadlines, roles);
//! - this file: [`serve`], the aggregate's pipeline;
//! - [`fetch`]: one call, within its deadline, its JSON read bounded;
//! - [`merge`]: the outcomes into one answer with `_meta`.

pub mod fetch;
pub mod merge;
pub mod table;

use crate::{
    access_log::Trace,
    admission::{self, Guard},
    context::Caller,
    decision::UpstreamCall,
    error::GatewayError,
    forwarded,
    routing::MethodSet,
    state::Gateway,
};
use axum::{extract::Request, response::Response};
use futures::stream::{FuturesUnordered, StreamExt};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use serde_json::value::RawValue;
use shared::request_id::X_REQUEST_ID;
use std::time::{Duration, Instant};
use table::Aggregate;

/// Headers copied from the client's request to every call (after identity and forwarding are
/// applied); nothing else of the client's reaches the backends.
static COPIED: [HeaderName; 10] = [
    header::AUTHORIZATION,
    header::ACCEPT_LANGUAGE,
    HeaderName::from_static("x-request-id"),
    HeaderName::from_static("x-user-id"),
    HeaderName::from_static("x-user-role"),
    HeaderName::from_static("x-user-name"),
    HeaderName::from_static("x-forwarded-for"),
    HeaderName::from_static("x-forwarded-proto"),
    HeaderName::from_static("x-forwarded-host"),
    header::FORWARDED,
];

/// Why one call produced no section.
#[derive(Debug)]
pub struct CallFailure {
    /// The aggregate's status if this call was required.
    pub status: StatusCode,
    /// The stable reason.
    pub reason: &'static str,
    /// What happened.
    pub detail: String,
}

/// What one call produced.
pub struct Outcome {
    /// The call's index in the aggregate.
    pub index: usize,
    /// The upstream's status, when it answered.
    pub status: Option<u16>,
    /// From the aggregate's start to this call's end.
    pub latency: Duration,
    /// The section — the backend's JSON text, checked but never re-encoded — or why there is
    /// none.
    pub result: Result<Box<RawValue>, CallFailure>,
    /// Its upstream attempts, for the decision record.
    pub attempts: Vec<UpstreamCall>,
}

/// Answers `request` with `aggregate`: admit it, run the calls, merge.
pub async fn serve<'g>(
    gateway: &'g Gateway,
    aggregate: &'g Aggregate,
    caller: Caller<'_>,
    request: Request,
    trace: &mut Trace<'g>,
) -> Result<Response, GatewayError> {
    trace.route = Some(&aggregate.name);
    trace.upstream = Some("(aggregate)");
    let (mut parts, body) = request.into_parts();
    if !matches!(parts.method, Method::GET | Method::HEAD) {
        return Err(GatewayError::MethodNotAllowed(
            MethodSet::parse_one("GET").unwrap_or(MethodSet::ANY),
        ));
    }
    let guard = Guard {
        name: &aggregate.name,
        auth: aggregate.auth,
        roles: aggregate.roles,
        scopes: &aggregate.scopes,
    };
    // The aggregate's own rate limits are counted once per client request (not per call). Its
    // calls send no body, so the client's is dropped here.
    let admitted = admission::admit(gateway, guard, caller, &mut parts, body, trace).await?;
    let sub = admitted.claims.map(|c| c.sub.clone());

    let host = parts.headers.get(header::HOST).cloned();
    forwarded::apply(&mut parts.headers, caller.peer, host);
    let mut headers = HeaderMap::with_capacity(COPIED.len() + 2);
    for name in &COPIED {
        if let Some(value) = parts.headers.get(name) {
            headers.insert(name.clone(), value.clone());
        }
    }
    headers.insert(X_REQUEST_ID.clone(), caller.request_id.header().clone());
    headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));

    let started = Instant::now();
    let mut running: FuturesUnordered<_> = aggregate
        .calls
        .iter()
        .enumerate()
        .map(|(index, call)| {
            let call = fetch::run_call(
                gateway,
                aggregate,
                index,
                call,
                &headers,
                sub.as_deref(),
                caller.trace,
                started,
            );
            // Its start offset is taken when the call is first polled, i.e. when it really
            // begins: proof on the timeline that the calls overlap, not an assumption.
            async move {
                let began = started.elapsed();
                (began, call.await)
            }
        })
        .collect();
    let mut outcomes: Vec<Option<Outcome>> = (0..aggregate.calls.len()).map(|_| None).collect();
    let mut began = vec![Duration::ZERO; aggregate.calls.len()];
    while let Some((started_at, mut outcome)) = running.next().await {
        let call = &aggregate.calls[outcome.index];
        let calls = &mut trace.decision.upstream_calls;
        calls.append(&mut outcome.attempts);
        if call.required
            && let Err(failure) = &outcome.result
        {
            // Fail fast: the answer is decided, the other calls are cancelled by the drop.
            drop(running);
            return Err(GatewayError::AggregateCallFailed {
                aggregate: aggregate.name.as_ref().into(),
                key: call.key.clone(),
                upstream: gateway.upstreams[call.upstream].name.as_ref().into(),
                status: failure.status,
                reason: failure.reason,
                detail: failure.detail.clone(),
            });
        }
        let index = outcome.index;
        began[index] = started_at;
        outcomes[index] = Some(outcome);
    }
    let partial = outcomes
        .iter()
        .any(|o| o.as_ref().is_none_or(|o| o.result.is_err()));
    gateway.metrics.aggregate(&aggregate.name, partial);
    let mut response = merge::merge(gateway, aggregate, outcomes, &began, started.elapsed());
    admitted.verdict.annotate(response.headers_mut());
    Ok(response)
}
