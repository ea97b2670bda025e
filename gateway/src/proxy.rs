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
//! - **`X-Request-Id`** is forwarded so the backend's logs carry the gateway's id.
//!
//! Failures are classified by side: a body the client broke off or made too large is the
//! client's (400/413); a refused connection or a broken exchange is the upstream's (502); no
//! response head within the upstream's `request_timeout_ms` is 504.

use crate::{
    error::GatewayError,
    forwarded,
    limits::{BodyError, LimitedBody},
    upstream::Upstream,
};
use axum::{body::Body, extract::ConnectInfo, response::Response};
use http::{HeaderMap, HeaderName, HeaderValue, Uri, Version, header, request::Parts, uri};
use shared::request_id::{RequestId, X_REQUEST_ID};
use std::net::SocketAddr;

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
    /// True when the peer is a trusted proxy (its forwarding headers are kept and extended).
    pub trusted_peer: bool,
    /// Most body bytes forwarded.
    pub max_body_bytes: u64,
}

/// Sends the request upstream and returns the upstream's response with its body streaming.
pub async fn forward(
    how: Forward<'_>,
    mut parts: Parts,
    body: Body,
) -> Result<Response, GatewayError> {
    let upstream = how.upstream;
    let target = upstream.pick();

    let client_host = parts.headers.get(header::HOST).cloned().or_else(|| {
        parts
            .uri
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
    });
    strip_hop_by_hop(&mut parts.headers);
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    forwarded::apply(&mut parts.headers, peer, how.trusted_peer, client_host);
    parts
        .headers
        .insert(header::HOST, target.host_header.clone());
    // The id again, in case the client listed `X-Request-Id` in `Connection`.
    if !parts.headers.contains_key(&X_REQUEST_ID)
        && let Some(id) = parts.extensions.get::<RequestId>()
        && let Ok(value) = HeaderValue::from_str(&id.0)
    {
        parts.headers.insert(X_REQUEST_ID.clone(), value);
    }
    parts.uri = upstream_uri(target.authority.clone(), how.path, how.query)?;
    // The pooled client speaks HTTP/1.1 to upstreams whatever the client used.
    parts.version = Version::HTTP_11;

    let request = http::Request::from_parts(parts, LimitedBody::new(body, how.max_body_bytes));
    let sent =
        tokio::time::timeout(upstream.request_timeout, upstream.client.request(request)).await;
    let response = match sent {
        Err(_elapsed) => {
            tracing::warn!(upstream = %upstream.name, "upstream timed out");
            return Err(GatewayError::UpstreamTimeout {
                upstream: upstream.name.clone(),
                timeout_ms: upstream.request_timeout.as_millis(),
            });
        }
        Ok(Err(error)) => return Err(classify(upstream, &error)),
        Ok(Ok(response)) => response,
    };
    let (mut head, incoming) = response.into_parts();
    strip_hop_by_hop(&mut head.headers);
    Ok(Response::from_parts(head, Body::new(incoming)))
}

/// `http://authority/path?query`.
fn upstream_uri(
    authority: uri::Authority,
    path: &str,
    query: Option<&str>,
) -> Result<Uri, GatewayError> {
    let path_and_query = match query {
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
    .map_err(|_| GatewayError::BadPath(crate::normalize::PathError::InvalidEscape))?;
    Uri::builder()
        .scheme(uri::Scheme::HTTP)
        .authority(authority)
        .path_and_query(path_and_query)
        .build()
        .map_err(|_| GatewayError::BadPath(crate::normalize::PathError::InvalidEscape))
}

/// Finds whose fault a failed exchange was. Our own [`BodyError`] somewhere in the chain means
/// the client's body failed; anything else is the upstream's.
fn classify(upstream: &Upstream, error: &hyper_util::client::legacy::Error) -> GatewayError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(body_error) = e.downcast_ref::<BodyError>() {
            tracing::info!(error = %body_error, "request body refused while forwarding");
            return GatewayError::from(body_error);
        }
        source = e.source();
    }
    tracing::warn!(
        upstream = %upstream.name,
        connect = error.is_connect(),
        error = %ErrorChain(error),
        "upstream request failed"
    );
    GatewayError::UpstreamUnavailable {
        upstream: upstream.name.clone(),
    }
}

/// Displays an error with all its causes: `a: b: c`.
struct ErrorChain<'a>(&'a (dyn std::error::Error + 'static));

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

/// Removes the hop-by-hop headers and those named in `Connection`. Allocates only when
/// `Connection` names a non-standard header.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
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
    fn the_upstream_uri_keeps_the_query() {
        let uri = upstream_uri(
            "127.0.0.1:9".parse().unwrap(),
            "/users/7",
            Some("a=1&b=%20"),
        )
        .unwrap();
        assert_eq!(uri.to_string(), "http://127.0.0.1:9/users/7?a=1&b=%20");
    }
}
