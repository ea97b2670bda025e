//! The gateway's request pipeline: every request that is not `/healthz` or `/readyz` goes
//! through [`handle`], in this order:
//!
//! 1. **limits** — the request target's length (414) is checked before anything else;
//! 2. **normalise** — one canonical path, or 400 `bad_path` ([`crate::normalize`]);
//! 3. **route** — an aggregate's exact path first ([`crate::aggregate`], which then runs its
//!    own steps 5–7 and its calls), else the longest segment prefix, then method (404 / 405) ([`crate::routing`]);
//! 4. **body limit by `Content-Length`** — 413 before a byte is read ([`crate::limits`]);
//! 5. **authenticate** — per the route's mode (401) ([`crate::auth`]);
//! 6. **authorize** — the route's roles (403) ([`crate::policy`]);
//! 7. **identity** — strip client `X-User-*`, set the verified ones ([`crate::identity`]),
//!    then **rate limit** — the route's policies and quotas (429, or 503 when Redis fails
//!    closed), whose `RateLimit` headers go on the response ([`crate::ratelimit`]);
//! 8. **proxy** — rewrite the prefix, clean the headers, stream both ways, with the
//!    per-request timeout (502 / 504, 413 for a streamed body over the limit) ([`crate::proxy`]);
//! 9. **access log** — one line, whatever happened ([`crate::access_log`]).

use crate::{
    Gateway,
    access_log::{self, Trace},
    aggregate, auth,
    error::GatewayError,
    forwarded::Peer,
    identity, limits,
    normalize::normalize,
    policy, proxy, ratelimit,
};
use axum::{
    extract::Request,
    response::{IntoResponse, Response},
};
use shared::request_id::Assigned;
use std::{borrow::Cow, sync::Arc, time::Instant};

/// Who sent a request and what it is called, known before the pipeline starts: the client
/// connection's peer and the request's id.
pub struct Caller<'a> {
    /// The client end of the connection (see [`crate::forwarded::Peer`]).
    pub peer: &'a Peer,
    /// The request's id (`X-Request-Id`).
    pub request_id: &'a Assigned,
}

/// Everything the gateway forwards (all but its own endpoints; see [`crate::FrontDoor`]), from
/// `peer`, with its id already assigned.
pub async fn handle(
    gateway: Arc<Gateway>,
    peer: Arc<Peer>,
    request_id: Assigned,
    request: Request,
) -> Response {
    let started = Instant::now();
    // Cheap clones: a standard `Method` is a tag, a `Uri` shares its bytes.
    let method = request.method().clone();
    let uri = request.uri().clone();
    let caller = Caller {
        peer: &peer,
        request_id: &request_id,
    };
    let mut trace = Trace::default();

    let (path, result) = match precheck(&gateway, &uri) {
        Err(e) => (Cow::Borrowed(uri.path()), Err(e)),
        Ok(path) => {
            let result = pipeline(&gateway, &caller, request, &path, uri.query(), &mut trace).await;
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
        request_id: request_id.id(),
        trace: &trace,
        error,
    });
    response
}

/// Steps 1–2: the URI length, then the canonical path.
fn precheck<'u>(gateway: &Gateway, uri: &'u http::Uri) -> Result<Cow<'u, str>, GatewayError> {
    let target_len = uri.path_and_query().map_or(0, |pq| pq.as_str().len());
    if target_len > gateway.max_uri_bytes {
        return Err(GatewayError::UriTooLong {
            limit: gateway.max_uri_bytes,
        });
    }
    normalize(uri.path()).map_err(GatewayError::BadPath)
}

/// Steps 3–8.
async fn pipeline<'g>(
    gateway: &'g Gateway,
    caller: &Caller<'_>,
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
    let claims = auth::authenticate(
        route,
        &parts.headers,
        &gateway.verifier,
        &gateway.token_cache,
    )
    .await?;
    // Known before the role check, so a 403 line in the access log names the caller.
    trace.user = claims.as_deref().map(|c| c.sub.clone());
    policy::authorize(route, claims.as_deref())?;
    identity::apply(&mut parts.headers, claims.as_deref())?;
    let (body, verdict) = ratelimit::admit(
        gateway,
        &route.name,
        &parts,
        caller.peer,
        claims.as_deref(),
        body,
    )
    .await?;

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
        body,
    )
    .await?;
    verdict.annotate(response.headers_mut());
    Ok(response)
}
