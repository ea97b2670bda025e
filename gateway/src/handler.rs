//! The gateway's request pipeline: every request that is not one of the gateway's own endpoints
//! goes through [`handle`], in this order:
//!
//! 1. **limits** — the request target's length (414), the head's size (431) and its `Host`
//!    (400) are checked before anything else;
//! 2. **normalise** — one canonical path, or 400 `bad_path` ([`crate::normalize`]);
//! 3. **route** — an aggregate's exact path first ([`crate::aggregate`], which admits the request
//!    as below and then runs its calls), else the longest segment prefix, then the method
//!    (404 / 405) ([`crate::routing`]);
//! 4. **body limit by `Content-Length`** — 413 before a byte is read ([`crate::limits`]);
//! 5. **admission** — authenticate (401), authorize (403), identity headers, rate limit (429, or
//!    503 when Redis fails closed), whose `RateLimit` headers go on the response
//!    ([`crate::admission`]);
//! 6. **proxy** — rewrite the prefix, clean the headers, stream both ways, with the
//!    per-request timeout (502 / 504, 413 for a streamed body over the limit) ([`crate::proxy`]);
//! 7. **access log** — one line, whatever happened ([`crate::access_log`]).

use crate::{
    access_log::{self, Trace},
    admission::{self, Guard},
    aggregate,
    context::Caller,
    error::GatewayError,
    limits,
    normalize::normalize,
    proxy,
    state::Gateway,
};
use axum::{
    extract::Request,
    response::{IntoResponse, Response},
};
use std::{borrow::Cow, time::Instant};

/// Everything the gateway forwards (all but its own endpoints; see [`crate::front_door`]),
/// from `caller`, with its id already assigned.
pub async fn handle(gateway: &Gateway, caller: Caller<'_>, request: Request) -> Response {
    let started = Instant::now();
    // Cheap clones: a standard `Method` is a tag, a `Uri` shares its bytes.
    let method = request.method().clone();
    let uri = request.uri().clone();
    let mut trace = Trace::default();

    let (path, result) = match precheck(gateway, &uri, &request) {
        Err(e) => (Cow::Borrowed(uri.path()), Err(e)),
        Ok(path) => {
            let result = pipeline(gateway, caller, request, &path, uri.query(), &mut trace).await;
            (path, result)
        }
    };
    let (response, error) = match result {
        Ok(response) => (response, None),
        Err(e) => {
            let tag = (e.reason(), e.side().as_str());
            (e.into_response(), Some(tag))
        }
    };
    access_log::write(&access_log::Entry {
        started,
        method: &method,
        path: &path,
        status: response.status(),
        request_id: caller.request_id.id(),
        trace: &trace,
        error,
    });
    response
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

/// Steps 3–6.
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
        return aggregate::serve(gateway, aggregate, caller, request, trace).await;
    }
    let route = gateway.routes.find(request.method(), path)?;
    let upstream = &gateway.upstreams[route.upstream];
    trace.route = Some(&route.name);
    trace.upstream = Some(&upstream.name);

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
    };
    let admitted = admission::admit(gateway, guard, caller, &mut parts, body, trace).await?;

    let forward_path = route.forward_path(path);
    let mut response = proxy::forward(
        proxy::Forward {
            upstream,
            path: &forward_path,
            query,
            caller,
            max_body_bytes: gateway.max_body_bytes,
        },
        parts,
        admitted.body,
    )
    .await?;
    admitted.verdict.annotate(response.headers_mut());
    Ok(response)
}
