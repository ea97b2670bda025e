//! Forwarding a request to an upstream and streaming its response back.
//!
//! Bodies stream both ways: the gateway never holds a whole request or response in memory, so a
//! 1 GB download costs it a few buffers, not a gigabyte. What the proxy changes on the way:
//!
//! - **hop-by-hop headers** (RFC 9110 §7.6.1) describe one connection, not the message, so they
//!   are removed in both directions: `Connection`, `Keep-Alive`, `Proxy-Connection`, `TE`,
//!   `Trailer`, `Transfer-Encoding`, `Upgrade`, `Proxy-Authorization`, `Proxy-Authenticate`, and
//!   every header that `Connection` names;
//! - **forwarding headers** (`X-Forwarded-*`, `Forwarded`) — see [`crate::forwarded`];
//! - **`Host`** becomes the upstream's own authority, and the URI the rewritten path plus the
//!   client's query string, unchanged;
//! - **`X-Request-Id`** is forwarded so the backend's logs carry the gateway's id;
//! - **`traceparent`** is replaced: same trace id, the upstream attempt's own span id as the
//!   parent ([`crate::upstream::call`]); `tracestate` goes on only when it was valid.
//!
//! Failures are classified by side: a body the client broke off or made too large is the
//! client's (400/413); a refused connection or a broken exchange is the upstream's (502); no
//! response head within the upstream's `request_timeout_ms` is 504; every target's circuit open
//! is 503 `circuit_open`. Choosing the target, breakers and retries live in
//! [`crate::upstream::call`].

use crate::{
    context::Caller,
    decision::UpstreamCall,
    error::GatewayError,
    forwarded,
    limits::LimitedBody,
    normalize::PathError,
    upstream::{Target, Upstream, call},
};
use axum::{body::Body, response::Response};
use http::{HeaderMap, HeaderName, HeaderValue, Uri, Version, header, request::Parts, uri};
use http_body::Body as _;
use shared::request_id::X_REQUEST_ID;

/// Hop-by-hop headers, always removed.
static HOP_BY_HOP: [HeaderName; 9] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::PROXY_AUTHORIZATION,
    header::PROXY_AUTHENTICATE,
];

/// What the proxy needs to know besides the request itself.
pub struct Forward<'a> {
    /// The upstream to send to.
    pub upstream: &'a Upstream,
    /// The rewritten, normalised path.
    pub path: &'a str,
    /// The client's query string, forwarded unchanged.
    pub query: Option<&'a str>,
    /// Who sent the request (its forwarding headers are rewritten for that peer) and its id.
    pub caller: Caller<'a>,
    /// Most body bytes forwarded.
    pub max_body_bytes: u64,
    /// Where each upstream attempt is recorded (the request's decision record).
    pub attempts: &'a mut Vec<UpstreamCall>,
}

/// Sends the request upstream (through [`call::exchange`]: target choice, circuit breakers,
/// retries) and returns the upstream's response with its body streaming.
pub async fn forward(
    how: Forward<'_>,
    mut parts: Parts,
    body: Body,
) -> Result<Response, GatewayError> {
    let upstream = how.upstream;

    let client_host = parts.headers.get(header::HOST).cloned().or_else(|| {
        parts
            .uri
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
    });
    // The request's hop-by-hop headers were removed by the handler, before identity headers were
    // added (see `handler::route`).
    forwarded::apply(&mut parts.headers, how.caller.peer, client_host);
    // The id again, in case the client listed `X-Request-Id` in `Connection`.
    if !parts.headers.contains_key(&X_REQUEST_ID) {
        let id = how.caller.request_id.header().clone();
        parts.headers.insert(X_REQUEST_ID.clone(), id);
    }
    // Checked once, before anything is sent: a body that has started streaming can never be
    // sent again, so only bodiless idempotent requests are retryable.
    let retryable =
        upstream
            .retry
            .request_is_retryable(&parts.method, &parts.headers, body.is_end_stream());
    // Usually the path goes upstream as the client wrote it (already canonical, no prefix
    // rewrite): then the client's own `path?query` is shared, not copied and validated again.
    let path_and_query = match parts.uri.path_and_query() {
        Some(original) if original.path() == how.path && original.query() == how.query => {
            original.clone()
        }
        _ => path_and_query(how.path, how.query)?,
    };
    let method = parts.method;
    let mut headers = Some(parts.headers);
    // A request that may be sent twice (a retried status) needs its headers twice; otherwise
    // they are given away, not copied: `head` runs once (see `call::exchange`).
    let keep_headers = retryable && upstream.retry.retries_some_status();
    let head = |target: &Target| {
        let mut request = http::Request::new(());
        *request.method_mut() = method.clone();
        *request.headers_mut() = if keep_headers {
            headers.clone().unwrap_or_default()
        } else {
            let taken = headers.take();
            debug_assert!(taken.is_some(), "built twice without keeping the headers");
            taken.unwrap_or_default()
        };
        request
            .headers_mut()
            .insert(header::HOST, target.host_header.clone());
        // Origin form (`/path?query`), as HTTP/1.1 speaks to an origin server; the target's
        // authority is in `Host`.
        *request.uri_mut() = Uri::from(path_and_query.clone());
        // The pool speaks HTTP/1.1 to upstreams whatever the client used.
        *request.version_mut() = Version::HTTP_11;
        request
    };
    let body = LimitedBody::new(body, how.max_body_bytes);
    let timeout = upstream.request_timeout;
    let trace = how.caller.trace;
    let response = call::exchange(
        upstream,
        retryable,
        timeout,
        head,
        body,
        trace,
        how.attempts,
    )
    .await
    .map_err(|failure| GatewayError::from_upstream(failure, &upstream.name))?;
    let (mut head, incoming) = response.into_parts();
    strip_hop_by_hop(&mut head.headers);
    Ok(Response::from_parts(head, Body::new(incoming)))
}

/// `path?query`.
fn path_and_query(path: &str, query: Option<&str>) -> Result<uri::PathAndQuery, GatewayError> {
    match query {
        None => uri::PathAndQuery::try_from(path),
        Some(q) => {
            let mut s = String::with_capacity(path.len() + 1 + q.len());
            s.push_str(path);
            s.push('?');
            s.push_str(q);
            uri::PathAndQuery::try_from(s)
        }
    }
    // Cannot happen: the path is normalised and the query came from a parsed URI.
    .map_err(|_| GatewayError::BadPath(PathError::InvalidEscape))
}

/// Removes the hop-by-hop headers and those named in `Connection`. Allocates only when
/// `Connection` names a non-standard header.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Most messages carry none of them: one pass over the names (comparisons of known headers
    // are cheap) spares the nine hashed removals below.
    if !headers.keys().any(|name| HOP_BY_HOP.contains(name)) {
        return;
    }
    let mut named: Vec<HeaderName> = Vec::new();
    for value in headers.get_all(header::CONNECTION) {
        let Ok(value) = value.to_str() else { continue };
        for token in value.split(',') {
            let token = token.trim();
            if token.is_empty()
                || token.eq_ignore_ascii_case("close")
                || token.eq_ignore_ascii_case("keep-alive")
            {
                continue;
            }
            if let Ok(name) = HeaderName::from_bytes(token.as_bytes()) {
                named.push(name);
            }
        }
    }
    for name in named {
        headers.remove(name);
    }
    for name in &HOP_BY_HOP {
        headers.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_and_those_named_in_connection_go() {
        let mut h = HeaderMap::new();
        h.insert(
            "connection",
            "keep-alive, X-Secret-Hop, close".parse().unwrap(),
        );
        h.insert("x-secret-hop", "1".parse().unwrap());
        h.insert("keep-alive", "timeout=5".parse().unwrap());
        h.insert("te", "trailers".parse().unwrap());
        h.insert("transfer-encoding", "chunked".parse().unwrap());
        h.insert("upgrade", "websocket".parse().unwrap());
        h.insert("proxy-authorization", "Basic x".parse().unwrap());
        h.insert("authorization", "Bearer x".parse().unwrap());
        h.insert("accept", "*/*".parse().unwrap());
        strip_hop_by_hop(&mut h);
        let left: Vec<&str> = h.keys().map(HeaderName::as_str).collect();
        assert_eq!(left, ["authorization", "accept"]);
    }

    #[test]
    fn the_upstream_path_keeps_the_query() {
        let pq = path_and_query("/users/7", Some("a=1&b=%20")).unwrap();
        assert_eq!(pq.as_str(), "/users/7?a=1&b=%20");
    }
}
