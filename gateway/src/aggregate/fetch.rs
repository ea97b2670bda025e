//! One call of an aggregate: sent through the upstream layer (load balancing, breakers, retries),
//! bounded by its deadline, its answer read (bounded) and parsed as JSON. Each call is its own
//! span of the request's trace: the same trace id, its own parent id in `traceparent`.

use super::{
    CallFailure, Outcome,
    table::{Aggregate, Call},
};
use crate::{
    decision::UpstreamCall,
    error::GatewayError,
    limits::LimitedBody,
    state::Gateway,
    upstream::{Target, call},
};
use axum::body::Body;
use http::{HeaderMap, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use serde_json::value::RawValue;
use shared::trace_context::TraceContext;
use std::time::Instant;

/// Runs one call within its deadline.
#[allow(clippy::too_many_arguments)] // each is a different thing the call needs; a struct would only rename them
pub async fn run_call(
    gateway: &Gateway,
    aggregate: &Aggregate,
    index: usize,
    call: &Call,
    headers: &HeaderMap,
    sub: Option<&str>,
    trace: &TraceContext,
    started: Instant,
) -> Outcome {
    let deadline = started + call.timeout;
    let mut attempts = Vec::new();
    let attempt = fetch(
        gateway,
        aggregate,
        call,
        headers,
        sub,
        trace,
        deadline,
        &mut attempts,
    );
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
    if status.is_none() && attempts.is_empty() {
        // Cut off by the deadline before an attempt ended: the record still shows the call.
        attempts.push(UpstreamCall {
            upstream: gateway.upstreams[call.upstream].name.clone(),
            target: None,
            status: None,
            outcome: "timeout",
            latency: started.elapsed(),
            retry: false,
            span_id: None,
        });
    }
    Outcome {
        index,
        status,
        latency: started.elapsed(),
        result,
        attempts,
    }
}

/// Sends the call and reads its JSON body, bounded.
#[allow(clippy::too_many_arguments)] // as `run_call`
async fn fetch(
    gateway: &Gateway,
    aggregate: &Aggregate,
    call: &Call,
    headers: &HeaderMap,
    sub: Option<&str>,
    trace: &TraceContext,
    deadline: Instant,
    attempts: &mut Vec<UpstreamCall>,
) -> (Option<u16>, Result<Box<RawValue>, CallFailure>) {
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
    let empty = LimitedBody::new(Body::empty(), 0);
    let response = match call::exchange(upstream, true, timeout, head, empty, trace, attempts).await
    {
        Ok(response) => response,
        Err(f) => {
            let error = GatewayError::from_upstream(f, &upstream.name);
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
    // Checked to be JSON, and kept as the backend wrote it: parsed into numbers and printed
    // again, `12345678901234567890123` would come out as `1.2345678901234568e22` (found by the
    // `aggregate_merge` fuzz target, `fuzz/checks/aggregate_merge.rs`).
    match serde_json::from_slice::<Box<RawValue>>(&bytes) {
        Ok(section) => (code, Ok(section)),
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
}
