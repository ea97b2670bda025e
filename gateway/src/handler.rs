//! The gateway's request pipeline: every request that is not one of the gateway's own endpoints
//! goes through [`handle`], in this order:
//!
//! 1. **limits** — the request target's length (414), the head's size (431) and its `Host`
//!    (400) are checked before anything else;
//! 2. **normalise** — one canonical path, or 400 `bad_path` ([`crate::normalize`]);
//! 3. **route** — an aggregate's exact path first ([`crate::aggregate`], which admits the request
//!    as below and then runs its calls), else the longest segment prefix, then the method
//!    (404 / 405) ([`crate::routing`]); a CORS preflight for a route with `[routes.cors]` is
//!    answered here, 204 or 403 `cors_refused` ([`crate::cors`]);
//! 4. **body limit by `Content-Length`** — 413 before a byte is read ([`crate::limits`]);
//! 5. **admission** — authenticate (401), authorize (403), identity headers, rate limit (429, or
//!    503 when Redis fails closed), whose `RateLimit` headers go on the response
//!    ([`crate::admission`]);
//! 6. **route features**, each only where configured — the upstream chosen by the route's
//!    split ([`crate::split`]), the request's header rewrites ([`crate::headers_rewrite`]), a
//!    fresh cached answer instead of the upstream's ([`crate::response_cache`]);
//! 7. **proxy** — rewrite the prefix, clean the headers, stream both ways, with the
//!    per-request timeout (502 / 504, 413 for a streamed body over the limit) ([`crate::proxy`]),
//!    then the answer's header rewrites;
//! 8. **security headers** — the route's `Cache-Control` on its answers, `no-store` on every
//!    error the gateway makes ([`crate::security_headers`]; `nosniff` is the front door's),
//!    and the route's CORS headers on every answer, refusals included ([`crate::cors`]);
//! 9. **record** — one access-log line ([`crate::access_log`]), the request's metrics
//!    ([`crate::metrics`]) and its decision record ([`crate::decision`]), whatever happened.
//!
//! A refusal is problem+json ([`crate::error`]); on a route with `oauth_errors` it also carries
//! RFC 6749's `error` and `error_description` ([`crate::oauth_errors`]).
//!
//! The decision record gets the route here (or why none matched) and the check that refused
//! the request when it is not one of admission's (which records its own checks, in order); the
//! upstream layer adds its attempts. A refused request's answer carries `X-Gateway-Decision`,
//! the record's id, and in demo mode a `Link` to the record on the public port. With the
//! console on, the finished record's summary also goes to its live feed.

use crate::{
    access_log::{self, Trace},
    admission::{self, Guard},
    aggregate,
    context::{Caller, DECISIONS_PATH, X_ANSWERED_BY, X_GATEWAY_DECISION, X_UPSTREAM_PATH},
    cors::{self, Cors},
    decision::{Outcome, Record},
    error::GatewayError,
    limits,
    normalize::normalize,
    oauth_errors, otlp, proxy, security_headers,
    state::Gateway,
};
use axum::{
    extract::Request,
    response::{IntoResponse, Response},
};
use http::{HeaderValue, header};
use std::{
    borrow::Cow,
    sync::Arc,
    time::{Instant, SystemTime},
};

/// Everything the gateway forwards (all but its own endpoints; see [`crate::front_door`]),
/// from `caller`, with its id already assigned.
pub async fn handle(gateway: &Gateway, caller: Caller<'_>, request: Request) -> Response {
    let started = Instant::now();
    // Cheap clones: a standard `Method` is a tag, a `Uri` shares its bytes.
    let method = request.method().clone();
    let uri = request.uri().clone();
    let id = gateway.decisions.next_id();
    let request_id = Arc::clone(caller.request_id.id());
    let trace_id = caller.trace.trace_id();
    let mut trace = Trace::new(Record::new(id, request_id, trace_id, &method));
    if gateway.explains_to_callers() {
        // Who may read this record on the public port: whoever sends the same credentials.
        let credentials = request.headers().get(header::AUTHORIZATION);
        trace.decision.owner = credentials.map(|c| gateway.decisions.owner_of(c.as_bytes()));
    }

    let (path, result) = match precheck(gateway, &uri, &request) {
        Err(e) => (Cow::Borrowed(uri.path()), Err(e)),
        Ok(path) => {
            let result = pipeline(gateway, caller, request, &path, uri.query(), &mut trace).await;
            (path, result)
        }
    };
    let (mut response, error) = match result {
        Ok(response) => (response, None),
        Err(e) => {
            // Admission records its own failing check; any other refusal is named here.
            trace.decision.refused(failed_check(&e), e.reason());
            let tag = (e.reason(), e.side().as_str());
            let mut response = e.into_response();
            security_headers::on_error(response.headers_mut());
            // One flag on the common path; the rewrite only for an OAuth route's refusal.
            let response = if trace.oauth_errors {
                oauth_errors::annotate(response).await
            } else {
                response
            };
            (response, Some(tag))
        }
    };
    if let Some((policy, origin)) = &trace.cors {
        policy.on_answer(origin.as_ref(), response.headers_mut());
    }
    let elapsed = started.elapsed();
    let reason = error.map(|(reason, _)| reason);
    gateway
        .metrics
        .request(trace.route, &method, response.status(), reason, elapsed);
    let explains = gateway.explains_to_callers();
    if error.is_some() || explains {
        label(&mut response, explains, &id.to_string());
    }
    if explains {
        // Whatever the pipeline did not mark as a service's answer, the gateway wrote.
        response
            .headers_mut()
            .entry(X_ANSWERED_BY.clone())
            .or_insert(HeaderValue::from_static("gateway"));
    }
    access_log::write(&access_log::Entry {
        latency: elapsed,
        method: &method,
        path: &path,
        status: response.status(),
        request_id: caller.request_id.id(),
        trace_id,
        trace: &trace,
        error,
    });
    if let Some(otlp) = &gateway.otlp {
        otlp.record(&otlp::RequestSpan {
            trace: caller.trace,
            started: SystemTime::now() - elapsed,
            latency: elapsed,
            method: method.as_str(),
            path: &path,
            route: trace.route,
            status: response.status().as_u16(),
            request_id: caller.request_id.id(),
            reason,
        });
    }
    let mut record = trace.decision;
    record.finish(&path, response.status(), reason, elapsed);
    if gateway.console {
        // The console's live feed: a few fields of the finished record, nothing when no page
        // watches ([`crate::console::feed`]).
        gateway.feed.publish(&record);
    }
    gateway.decisions.store(record);
    response
}

/// Names the decision record on the response; in demo mode (or with the console), links to it
/// (RFC 8288 `describedby`), readable on the public port by the same caller.
fn label(response: &mut Response, explains: bool, id: &str) {
    let refused = response.status().is_client_error() || response.status().is_server_error();
    if let Ok(value) = HeaderValue::from_str(id) {
        response
            .headers_mut()
            .insert(X_GATEWAY_DECISION.clone(), value);
    }
    if explains
        && refused
        && let Ok(link) = HeaderValue::from_str(&format!(
            "<{DECISIONS_PATH}{id}>; rel=\"describedby\"; type=\"application/json\""
        ))
    {
        response.headers_mut().append(header::LINK, link);
    }
}

/// The check a failure belongs to, when admission did not record it (it records its own).
fn failed_check(error: &GatewayError) -> &'static str {
    match error {
        GatewayError::UriTooLong { .. } => "uri_length",
        GatewayError::HeadersTooLarge { .. } | GatewayError::BadHost => "head",
        GatewayError::BadPath(_) => "path",
        GatewayError::NoRoute | GatewayError::MethodNotAllowed(_) => "route",
        GatewayError::CorsRefused(_) => "cors",
        GatewayError::Token(_) => "token",
        GatewayError::RoleRequired(_) => "role",
        GatewayError::InsufficientScope { .. } => "scope",
        GatewayError::BodyTooLarge { .. } | GatewayError::BodyUnreadable => "body",
        GatewayError::BadIdentity => "identity",
        GatewayError::RateLimited(_) | GatewayError::RateLimiterUnavailable { .. } => "rate_limit",
        GatewayError::UpstreamUnavailable { .. }
        | GatewayError::UpstreamTimeout { .. }
        | GatewayError::CircuitOpen { .. }
        | GatewayError::AggregateCallFailed { .. } => "upstream",
    }
}

/// Steps 1–2: the URI length, the head's size and `Host`, then the canonical path.
fn precheck<'u>(
    gateway: &Gateway,
    uri: &'u http::Uri,
    request: &Request,
) -> Result<Cow<'u, str>, GatewayError> {
    let target_len = uri.path_and_query().map_or(0, |pq| pq.as_str().len());
    if target_len > gateway.max_uri_bytes {
        return Err(GatewayError::UriTooLong {
            limit: gateway.max_uri_bytes,
        });
    }
    limits::check_head(request, gateway.max_header_bytes)?;
    normalize(uri.path()).map_err(GatewayError::BadPath)
}

/// Steps 3–8.
async fn pipeline<'g>(
    gateway: &'g Gateway,
    caller: Caller<'_>,
    request: Request,
    path: &str,
    query: Option<&str>,
    trace: &mut Trace<'g>,
) -> Result<Response, GatewayError> {
    // Aggregates are exact paths, looked up before the route table.
    if let Some(aggregate) = gateway.aggregates.find(path) {
        trace.decision.check("route", Outcome::Pass, None);
        trace.decision.route = Some(Arc::clone(&aggregate.name));
        let mut response = aggregate::serve(gateway, aggregate, caller, request, trace).await?;
        security_headers::cache(aggregate.cache, response.headers_mut());
        return Ok(response);
    }
    // A CORS preflight is matched to the route of the method it announces, and answered here:
    // before authentication (a browser sends no credentials on a preflight), never forwarded.
    if let Some(asked) = cors::Preflight::of(request.method(), request.headers())
        && let Ok(route) = gateway.routes.find(&asked.method, path)
        && let Some(policy) = &route.features.cors
    {
        trace.decision.check("route", Outcome::Pass, None);
        trace.decision.route = Some(Arc::clone(&route.name));
        trace.route = Some(&route.name);
        return preflight(policy, &asked, trace);
    }
    let route = gateway.routes.find(request.method(), path)?;
    trace.decision.check("route", Outcome::Pass, None);
    trace.decision.route = Some(Arc::clone(&route.name));
    trace.route = Some(&route.name);
    trace.upstream = Some(&gateway.upstreams[route.upstream].name);
    trace.oauth_errors = route.oauth_errors;
    let features = &route.features;
    if let Some(policy) = &features.cors {
        // Every answer from here on, refusals included, gets the route's CORS headers.
        let origin = request.headers().get(header::ORIGIN).cloned();
        trace.cors = Some((policy, origin));
    }

    let (mut parts, body) = request.into_parts();
    if limits::content_length(&parts.headers).is_some_and(|len| len > gateway.max_body_bytes) {
        return Err(GatewayError::BodyTooLarge {
            limit: gateway.max_body_bytes,
        });
    }

    // Room for the headers the gateway adds (identity, forwarding): the map grows once, not
    // once per insert that crosses its capacity.
    parts.headers.reserve(8);
    // Hop-by-hop headers go first, before the gateway adds its own: a client that lists
    // `X-User-Id` in `Connection` must not make the proxy drop the identity the gateway sets.
    proxy::strip_hop_by_hop(&mut parts.headers);
    let guard = Guard {
        name: &route.name,
        auth: route.auth,
        roles: route.roles,
        scopes: &route.scopes,
    };
    let admitted = admission::admit(gateway, guard, caller, &mut parts, body, trace).await?;

    // The upstream: the route's, or the one its split chooses for this caller.
    let upstream_index = match &features.split {
        None => route.upstream,
        Some(split) => {
            let sub = admitted.claims.as_deref().map(|c| c.sub.as_str());
            let choice = split.choose(sub);
            let (weight, total) = split.share_of(choice.upstream);
            let name = &gateway.upstreams[choice.upstream].name;
            let how = if choice.sticky { "by user" } else { "by count" };
            let detail = format!("{name}: weight {weight} of {total}, {how}");
            trace
                .decision
                .check("split", Outcome::Pass, Some(detail.into()));
            choice.upstream
        }
    };
    let upstream = &gateway.upstreams[upstream_index];
    trace.upstream = Some(&upstream.name);
    if let Some(rewrite) = &features.headers {
        rewrite.request.apply(&mut parts.headers);
    }

    let forward_path = route.forward_path(path);
    let forward = |parts, body, attempts| {
        proxy::forward(
            proxy::Forward {
                upstream,
                path: &forward_path,
                query,
                caller,
                max_body_bytes: gateway.max_body_bytes,
                attempts,
            },
            parts,
            body,
        )
    };
    let mut response = match &features.response_cache {
        Some(cache) if parts.method == http::Method::GET => {
            let target = match query {
                Some(q) => Cow::Owned(format!("{forward_path}?{q}")),
                None => Cow::Borrowed(&*forward_path),
            };
            let who = admitted
                .claims
                .as_deref()
                .map(|c| (c.sub.as_str(), c.role.as_str()));
            let key = cache.key(upstream_index, &target, who);
            let asked = parts.headers.clone();
            let attempts = &mut trace.decision.upstream_calls;
            let clock = &gateway.clock;
            // Boxed: the cache's future (a lookup, a coalesced load) is large, and inline it
            // would make every request's future larger — and moved, memcpy by memcpy, on routes
            // that never cache. On the heap it costs one allocation where it is used.
            let (response, outcome) = Box::pin(cache.serve(
                key,
                &asked,
                || clock.now_ms(),
                || forward(parts, admitted.body, attempts),
            ))
            .await?;
            let outcome_detail = outcome.detail();
            trace
                .decision
                .check("cache", Outcome::Pass, Some(outcome_detail.into()));
            response
        }
        _ => forward(parts, admitted.body, &mut trace.decision.upstream_calls).await?,
    };
    if let Some(rewrite) = &features.headers {
        rewrite.response.apply(response.headers_mut());
    }
    admitted.verdict.annotate(response.headers_mut());
    security_headers::cache(route.cache, response.headers_mut());
    if gateway.explains_to_callers() {
        show_upstream(response.headers_mut(), &upstream.name, &forward_path, query);
    }
    Ok(response)
}

/// Demo mode's view of step 7: which upstream wrote this answer and what path it was asked
/// for. Set by the gateway, over anything the service sent under these names.
fn show_upstream(headers: &mut http::HeaderMap, upstream: &str, path: &str, query: Option<&str>) {
    if let Ok(name) = HeaderValue::from_str(upstream) {
        headers.insert(X_ANSWERED_BY.clone(), name);
    }
    let forwarded = match query {
        Some(query) => HeaderValue::from_str(&format!("{path}?{query}")),
        None => HeaderValue::from_str(path),
    };
    match forwarded {
        Ok(value) => headers.insert(X_UPSTREAM_PATH.clone(), value),
        Err(_) => headers.remove(&X_UPSTREAM_PATH),
    };
}

/// A CORS preflight for a route with a policy: 204 with the policy's headers, or 403
/// `cors_refused` with none.
fn preflight(
    policy: &Cors,
    asked: &cors::Preflight<'_>,
    trace: &mut Trace<'_>,
) -> Result<Response, GatewayError> {
    match policy.preflight(asked) {
        Ok(headers) => {
            trace
                .decision
                .check("cors", Outcome::Pass, Some("preflight answered".into()));
            let mut response = http::StatusCode::NO_CONTENT.into_response();
            response.headers_mut().extend(headers);
            Ok(response)
        }
        Err(refusal) => {
            trace
                .decision
                .check("cors", Outcome::Fail, Some(refusal.detail().into()));
            Err(GatewayError::CorsRefused(refusal))
        }
    }
}
