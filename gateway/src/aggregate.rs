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
//!       "profile":  {"upstream": "users", "status": 200, "latency_ms": 4.1},
//!       "invoices": {"upstream": "billing", "status": null, "latency_ms": 1.2,
//!                    "reason": "upstream_unavailable", "detail": "…"},
//!       …
//!     }
//!   }
//! }
//! ```
//!
//! Rules, in the order they apply:
//!
//! - **Concurrency**: every call starts at once, so the aggregate costs about its slowest call.
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
//! breakers and retries exactly like proxied requests.

use crate::{
    Gateway,
    access_log::Trace,
    auth,
    config::{AggregateConfig, AuthMode, Config},
    error::GatewayError,
    forwarded,
    handler::Caller,
    identity, policy, ratelimit,
    routing::{MethodSet, RoleSet},
    upstream::{Target, call},
};
use axum::{
    body::Body,
    extract::Request,
    response::{IntoResponse, Response},
};
use futures::stream::{FuturesUnordered, StreamExt};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use serde_json::{Map, Value, json};
use shared::request_id::X_REQUEST_ID;
use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

/// The header that says an answer lacks some optional sections.
pub static X_GATEWAY_PARTIAL: HeaderName = HeaderName::from_static("x-gateway-partial");
/// On a failed aggregate: the key of the required call that failed.
pub static X_GATEWAY_FAILED_CALL: HeaderName = HeaderName::from_static("x-gateway-failed-call");

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

/// One compiled call.
#[derive(Debug)]
struct Call {
    key: Box<str>,
    upstream: usize,
    path: Box<str>,
    required: bool,
    timeout: Duration,
}

/// One compiled aggregate.
#[derive(Debug)]
pub struct Aggregate {
    /// Name (access log).
    pub name: Box<str>,
    auth: AuthMode,
    roles: RoleSet,
    budget: Duration,
    max_call_bytes: usize,
    calls: Vec<Call>,
}

/// Every aggregate, by exact path.
#[derive(Debug, Default)]
pub struct Aggregates {
    /// Looked up on every request: `foldhash`, as the route table (keys from the
    /// configuration only).
    by_path: HashMap<Box<str>, Aggregate, foldhash::fast::RandomState>,
}

impl Aggregates {
    /// Compiles the validated configuration's aggregates.
    pub fn compile(config: &Config) -> Aggregates {
        let by_path = config
            .aggregates
            .iter()
            .map(|a| (a.path.as_str().into(), compile_one(config, a)))
            .collect();
        Aggregates { by_path }
    }

    /// The aggregate answering this normalised path, if any.
    pub fn find(&self, path: &str) -> Option<&Aggregate> {
        if self.by_path.is_empty() {
            return None;
        }
        self.by_path.get(path)
    }
}

fn compile_one(config: &Config, a: &AggregateConfig) -> Aggregate {
    let budget = Duration::from_millis(a.timeout_ms);
    Aggregate {
        name: a.name.as_str().into(),
        auth: a.auth,
        roles: RoleSet::parse(&a.roles),
        budget,
        max_call_bytes: a.max_call_bytes,
        calls: a
            .calls
            .iter()
            .map(|c| Call {
                key: c.key.as_str().into(),
                upstream: config
                    .upstreams
                    .iter()
                    .position(|u| u.name == c.upstream)
                    .expect("validation checked every call's upstream"),
                path: c.path.as_str().into(),
                required: c.required,
                timeout: c
                    .timeout_ms
                    .map_or(budget, Duration::from_millis)
                    .min(budget),
            })
            .collect(),
    }
}

/// Why one call produced no section.
#[derive(Debug)]
struct CallFailure {
    /// The aggregate's status if this call was required.
    status: StatusCode,
    reason: &'static str,
    detail: String,
}

/// What one call produced.
struct Outcome {
    index: usize,
    /// The upstream's status, when it answered.
    status: Option<u16>,
    latency: Duration,
    result: Result<Value, CallFailure>,
}

/// Answers `request` with `aggregate`: authenticate, authorise, run the calls, merge.
pub async fn serve<'g>(
    gateway: &'g Gateway,
    aggregate: &'g Aggregate,
    caller: &Caller<'_>,
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
    let claims = auth::authenticate_mode(
        aggregate.auth,
        &parts.headers,
        &gateway.verifier,
        &gateway.token_cache,
    )
    .await?;
    policy::authorize_roles(aggregate.roles, claims.as_deref())?;
    identity::apply(&mut parts.headers, claims.as_deref())?;
    // The aggregate's own rate limits, counted once per dashboard request (not per call).
    let (_body, verdict) = ratelimit::admit(
        gateway,
        &aggregate.name,
        &parts,
        caller.peer,
        claims.as_deref(),
        body,
    )
    .await?;
    let sub = claims.map(|c| c.sub.clone());
    trace.user.clone_from(&sub);

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
            run_call(
                gateway,
                aggregate,
                index,
                call,
                &headers,
                sub.as_deref(),
                started,
            )
        })
        .collect();
    let mut outcomes: Vec<Option<Outcome>> = (0..aggregate.calls.len()).map(|_| None).collect();
    while let Some(outcome) = running.next().await {
        let call = &aggregate.calls[outcome.index];
        if call.required
            && let Err(failure) = &outcome.result
        {
            // Fail fast: the answer is decided, the other calls are cancelled by the drop.
            drop(running);
            return Err(GatewayError::AggregateCallFailed {
                aggregate: aggregate.name.clone(),
                key: call.key.clone(),
                upstream: gateway.upstreams[call.upstream].name.clone(),
                status: failure.status,
                reason: failure.reason,
                detail: failure.detail.clone(),
            });
        }
        let index = outcome.index;
        outcomes[index] = Some(outcome);
    }
    let mut response = merge(gateway, aggregate, outcomes, started.elapsed());
    verdict.annotate(response.headers_mut());
    Ok(response)
}

/// Builds the 200 answer from every call's outcome.
fn merge(
    gateway: &Gateway,
    aggregate: &Aggregate,
    outcomes: Vec<Option<Outcome>>,
    elapsed: Duration,
) -> Response {
    let mut body = Map::new();
    let mut calls = Map::new();
    let mut partial = false;
    for (call, outcome) in aggregate.calls.iter().zip(outcomes) {
        let Some(outcome) = outcome else { continue };
        let mut meta = json!({
            "upstream": &*gateway.upstreams[call.upstream].name,
            "required": call.required,
            "status": outcome.status,
            "latency_ms": millis(outcome.latency),
        });
        let section = match outcome.result {
            Ok(value) => value,
            Err(failure) => {
                partial = true;
                meta["reason"] = failure.reason.into();
                meta["detail"] = failure.detail.into();
                Value::Null
            }
        };
        body.insert(call.key.to_string(), section);
        calls.insert(call.key.to_string(), meta);
    }
    body.insert(
        "_meta".to_owned(),
        json!({
            "partial": partial,
            "latency_ms": millis(elapsed),
            "budget_ms": aggregate.budget.as_millis(),
            "calls": calls,
        }),
    );
    let mut response = axum::Json(Value::Object(body)).into_response();
    let h = response.headers_mut();
    h.insert(
        X_GATEWAY_PARTIAL.clone(),
        HeaderValue::from_static(if partial { "true" } else { "false" }),
    );
    // Per-user data is never for shared caches; a partial answer is not for any cache, or the
    // missing sections would outlive the outage.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if partial {
            "no-store"
        } else {
            "private, no-cache"
        }),
    );
    response
}

fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// Runs one call within its deadline.
async fn run_call(
    gateway: &Gateway,
    aggregate: &Aggregate,
    index: usize,
    call: &Call,
    headers: &HeaderMap,
    sub: Option<&str>,
    started: Instant,
) -> Outcome {
    let deadline = started + call.timeout;
    let attempt = fetch(gateway, aggregate, call, headers, sub, deadline);
    let (status, result) = match tokio::time::timeout_at(deadline.into(), attempt).await {
        Ok(done) => done,
        Err(_elapsed) => (
            None,
            Err(CallFailure {
                status: StatusCode::GATEWAY_TIMEOUT,
                reason: "upstream_timeout",
                detail: format!(
                    "no complete answer within the call's {} ms",
                    call.timeout.as_millis()
                ),
            }),
        ),
    };
    Outcome {
        index,
        status,
        latency: started.elapsed(),
        result,
    }
}

/// Sends the call and reads its JSON body, bounded.
async fn fetch(
    gateway: &Gateway,
    aggregate: &Aggregate,
    call: &Call,
    headers: &HeaderMap,
    sub: Option<&str>,
    deadline: Instant,
) -> (Option<u16>, Result<Value, CallFailure>) {
    let upstream = &gateway.upstreams[call.upstream];
    let path = match sub {
        Some(sub) if call.path.contains("{sub}") => call.path.replace("{sub}", &encode(sub)),
        _ => call.path.to_string(),
    };
    let Ok(path_and_query) = http::uri::PathAndQuery::try_from(path) else {
        return (
            None,
            Err(failure(
                StatusCode::BAD_GATEWAY,
                "upstream_unavailable",
                "the call's path is not a valid URI path".into(),
            )),
        );
    };
    let head = |target: &Target| {
        let mut request = http::Request::new(());
        *request.headers_mut() = headers.clone();
        request
            .headers_mut()
            .insert(header::HOST, target.host_header.clone());
        // Origin form (`/path?query`): HTTP/1.1 to an origin server.
        *request.uri_mut() = http::Uri::from(path_and_query.clone());
        request
    };
    let timeout = upstream
        .request_timeout
        .min(deadline.saturating_duration_since(Instant::now()));
    let empty = crate::limits::LimitedBody::new(Body::empty(), 0);
    let response = match call::exchange(upstream, true, timeout, head, empty).await {
        Ok(response) => response,
        Err(f) => {
            let error = f.into_error(upstream);
            let status = error.to_problem().status();
            return (
                None,
                Err(failure(status, error.reason(), error.to_string())),
            );
        }
    };
    let status = response.status();
    let code = Some(status.as_u16());
    if !status.is_success() {
        let (aggregate_status, reason) = if status.is_client_error() {
            (status, "upstream_rejected")
        } else {
            (StatusCode::BAD_GATEWAY, "upstream_error")
        };
        let detail = format!("`{}` answered {status}", upstream.name);
        return (code, Err(failure(aggregate_status, reason, detail)));
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let media = v.split(';').next().unwrap_or("").trim();
            media == "application/json" || media.ends_with("+json")
        });
    if !is_json {
        let detail = format!("`{}` answered with a body that is not JSON", upstream.name);
        return (
            code,
            Err(failure(StatusCode::BAD_GATEWAY, "not_json", detail)),
        );
    }
    let limit = aggregate.max_call_bytes;
    let too_large = || {
        failure(
            StatusCode::BAD_GATEWAY,
            "response_too_large",
            format!("`{}` answered more than {limit} bytes", upstream.name),
        )
    };
    let declared = response
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return (code, Err(too_large()));
    }
    let bytes = match Limited::new(response.into_body(), limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return (code, Err(too_large())),
        Err(_) => {
            let detail = format!("`{}` broke off its answer", upstream.name);
            return (
                code,
                Err(failure(
                    StatusCode::BAD_GATEWAY,
                    "upstream_unavailable",
                    detail,
                )),
            );
        }
    };
    match serde_json::from_slice(&bytes) {
        Ok(value) => (code, Ok(value)),
        Err(_) => {
            let detail = format!("`{}` answered invalid JSON", upstream.name);
            (
                code,
                Err(failure(StatusCode::BAD_GATEWAY, "not_json", detail)),
            )
        }
    }
}

fn failure(status: StatusCode, reason: &'static str, detail: String) -> CallFailure {
    CallFailure {
        status,
        reason,
        detail,
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so an id can never add a
/// path segment or a query.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_in_paths_are_percent_encoded() {
        assert_eq!(encode("1905551042"), "1905551042");
        assert_eq!(encode("../admin?x=1"), "..%2Fadmin%3Fx%3D1");
    }

    #[test]
    fn the_demo_dashboard_compiles_with_call_timeouts_within_the_budget() {
        let aggregates = Aggregates::compile(&Config::demo());
        let dashboard = aggregates.find("/api/dashboard").unwrap();
        let keys: Vec<&str> = dashboard.calls.iter().map(|c| &*c.key).collect();
        assert_eq!(keys, ["profile", "invoices", "summary"]);
        assert!(dashboard.calls[0].required && !dashboard.calls[1].required);
        assert!(
            dashboard
                .calls
                .iter()
                .all(|c| c.timeout <= dashboard.budget)
        );
        assert!(aggregates.find("/api/dashboard/x").is_none());
    }
}
