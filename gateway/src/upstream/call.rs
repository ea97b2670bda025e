//! One exchange with an upstream: lease a target, send, record the outcome with the target's
//! breaker, and retry when the [`retry`](super::retry) policy and budget allow.
//!
//! The proxy and the aggregates both call [`exchange`], so a dashboard call gets the same load
//! balancing, circuit breaking and retries as a proxied request — and the same record: every
//! attempt is counted in the upstream's metrics and written to the request's decision record
//! (target, status, latency), here and nowhere else.

use super::{
    ProxyBody, Target, Upstream,
    failure::{ClientBody, Failure},
    pool::{PooledBody, SendError},
};
use crate::{
    decision::UpstreamCall,
    limits::{BodyError, LimitedBody},
    metrics::UpstreamOutcome,
};
use http::{Request, Response};
use shared::trace_context::{SpanId, TraceContext};
use std::time::{Duration, Instant};

/// What to do with a failure or response: the decision, separated so it can be read at once.
enum Last {
    Failure(Failure),
    Response(Response<PooledBody>),
}

/// Sends one request to `upstream`. `head` builds the request (without body) for the chosen
/// target once a connection to it is ready; `body` goes with the first request built, and
/// retries — which only happen when `retryable` says the request is idempotent and bodiless —
/// send an empty body. A request that never left (its target refused the connection) is not
/// built again for the next target, so `head` is called a second time only to retry a status
/// listed in `retry.statuses`. `timeout` bounds each attempt, connecting included, up to the
/// response head. Each attempt is appended to `attempts`.
///
/// Each attempt is a span of the request's `trace` with its own new span id, sent as the parent
/// id in `traceparent` (the trace id stays the request's): the target's logs then name the very
/// attempt that reached it, and a retry is told apart from the first try.
pub async fn exchange(
    upstream: &Upstream,
    retryable: bool,
    timeout: Duration,
    mut head: impl FnMut(&Target) -> Request<()>,
    body: ProxyBody,
    trace: &TraceContext,
    attempts: &mut Vec<UpstreamCall>,
) -> Result<Response<PooledBody>, Failure> {
    upstream.retry.deposit();
    let mut body = Some(body);
    let mut retries_left = if retryable {
        upstream.retry.attempts
    } else {
        0
    };
    let mut excluded = 0u64;
    let mut last: Option<Last> = None;
    // A request built for a target whose connection failed before it was sent: it goes to the
    // next target as it is (only its `Host` changes).
    let mut unsent: Option<Request<ProxyBody>> = None;
    loop {
        let lease = match upstream.lease(excluded) {
            Ok(lease) => lease,
            Err(_) => {
                if last.is_none() {
                    upstream.metrics.attempt(UpstreamOutcome::CircuitOpen, None);
                    attempts.push(UpstreamCall {
                        upstream: upstream.name.clone(),
                        target: None,
                        status: None,
                        outcome: UpstreamOutcome::CircuitOpen.as_str(),
                        latency: Duration::ZERO,
                        retry: false,
                        span_id: None,
                    });
                }
                return match last {
                    None => Err(Failure::CircuitOpen),
                    Some(Last::Failure(failure)) => Err(failure),
                    Some(Last::Response(response)) => Ok(response),
                };
            }
        };
        let index = lease.index();
        let may_retry = |retries_left: u32| retries_left > 0 && upstream.retry.withdraw();
        // This attempt's span of the request's trace.
        let span = SpanId::random();
        // One attempt on this target: a connection first, then the request is built (or the
        // unsent one reused) and sent. A stale pooled connection gives the request back, and
        // it goes out on the next one.
        let attempt = async {
            loop {
                let connection = match lease.pool().idle_connection() {
                    Some(connection) => connection,
                    None => lease.pool().new_connection().await?,
                };
                let mut request = match unsent.take() {
                    Some(mut request) => {
                        let host = lease.target().host_header.clone();
                        request.headers_mut().insert(http::header::HOST, host);
                        request
                    }
                    None => {
                        let body = body
                            .take()
                            .unwrap_or_else(|| LimitedBody::new(axum::body::Body::empty(), 0));
                        head(lease.target()).map(|()| body)
                    }
                };
                trace.stamp(request.headers_mut(), span);
                match connection.send(request).await {
                    Err(SendError::Stale(request)) => unsent = Some(*request),
                    outcome => return outcome,
                }
            }
        };
        let started = Instant::now();
        let outcome = tokio::time::timeout(timeout, attempt).await;
        let mut record = |status: Option<u16>, outcome: UpstreamOutcome| {
            let latency = started.elapsed();
            upstream.metrics.attempt(outcome, Some(latency));
            attempts.push(UpstreamCall {
                upstream: upstream.name.clone(),
                target: Some(lease.target().authority.clone()),
                status,
                outcome: outcome.as_str(),
                latency,
                retry: last.is_some(),
                span_id: Some(span),
            });
        };
        match outcome {
            Err(_elapsed) => {
                record(None, UpstreamOutcome::Timeout);
                lease.failed();
                tracing::warn!(upstream = %upstream.name, target = index, "upstream timed out");
                // Not retried: the target may still be working on it.
                return Err(Failure::Timeout {
                    timeout_ms: timeout.as_millis(),
                });
            }
            Ok(Ok(response)) => {
                let status = response.status().as_u16();
                record(Some(status), UpstreamOutcome::Status(status / 100));
                if matches!(status, 502..=504) {
                    lease.failed();
                } else {
                    lease.succeeded();
                }
                if upstream.retry.retries_status(status) && may_retry(retries_left) {
                    tracing::info!(upstream = %upstream.name, target = index, status, "retrying");
                    upstream.metrics.retry();
                    retries_left -= 1;
                    excluded |= 1 << index;
                    last = Some(Last::Response(response));
                    continue;
                }
                return Ok(response);
            }
            Ok(Err(error)) => {
                if let Some(client) = client_body_error(&error) {
                    // The client's fault: the lease is dropped without blaming the target (nor
                    // counting the attempt against it).
                    return Err(Failure::ClientBody(client));
                }
                record(None, UpstreamOutcome::Unavailable);
                lease.failed();
                let connect = error.is_connect();
                tracing::warn!(
                    upstream = %upstream.name,
                    target = index,
                    connect,
                    error = %ErrorChain(&error),
                    "upstream request failed"
                );
                // Only a failed connection proves the request never reached the target.
                if connect && may_retry(retries_left) {
                    upstream.metrics.retry();
                    retries_left -= 1;
                    excluded |= 1 << index;
                    last = Some(Last::Failure(Failure::Unavailable { connect }));
                    continue;
                }
                return Err(Failure::Unavailable { connect });
            }
        }
    }
}

/// Our own [`BodyError`] somewhere in the chain means the client's body failed.
fn client_body_error(error: &SendError) -> Option<ClientBody> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(body_error) = e.downcast_ref::<BodyError>() {
            tracing::info!(error = %body_error, "request body refused while forwarding");
            return Some(ClientBody::from(body_error));
        }
        source = e.source();
    }
    None
}

/// Displays an error with all its causes: `a: b: c`.
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(e) = source {
            write!(f, ": {e}")?;
            source = e.source();
        }
        Ok(())
    }
}
