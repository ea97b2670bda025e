//! Header rewriting per route: headers removed, set or added on the request to the upstream
//! and on its answer (`[routes.headers.request]`, `[routes.headers.response]`).
//!
//! Request rewrites run after admission, just before the request is forwarded: the token, the
//! rate limiter's keys and the identity headers have already been decided on, so a rewrite can
//! never change who the gateway thinks is calling. Response rewrites run on the upstream's
//! answer only; the gateway's own refusals are not the backend's to decorate.
//!
//! Some headers are the gateway's own and **cannot be named by a rewrite** (a located
//! configuration error, [`owned`]): the identity headers (`X-User-*`), `X-Request-Id`, the
//! forwarding headers (`X-Forwarded-*`, `Forwarded`, `X-Real-IP`), trace context
//! (`traceparent`, `tracestate`), `Authorization` (each backend verifies the caller's token
//! again), `Host` and the message's framing (`Content-Length`, hop-by-hop headers); on the
//! answer, besides those, the ones other steps set: `X-Gateway-*`, `RateLimit*`/`Retry-After`,
//! the cache's `Age`, the CORS headers and the security headers. A rewrite that could set
//! `X-User-Role` would be a way round authorization written in a config file.
//!
//! The values are parsed once, when the route is compiled: applying a rewrite is a few
//! header-map operations and clones of shared values.

use crate::config::HeaderRewrites;
use http::{HeaderMap, HeaderName, HeaderValue};

/// The headers no request rewrite may name (besides every `x-user-*`, `x-forwarded-*` and
/// `x-gateway-*` one).
const OWNED_ON_REQUEST: [&str; 18] = [
    "x-request-id",
    "forwarded",
    "x-real-ip",
    "traceparent",
    "tracestate",
    "authorization",
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
    "proxy-authorization",
    "proxy-authenticate",
    "expect",
];

/// Besides those, the answer's headers other steps own.
const OWNED_ON_RESPONSE: [&str; 13] = [
    "age",
    "retry-after",
    "ratelimit",
    "ratelimit-policy",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "cache-control",
    "vary",
    "x-content-type-options",
    "www-authenticate",
    "link",
    "set-cookie",
];

/// Which message a rewrite applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The request to the upstream.
    Request,
    /// The upstream's answer.
    Response,
}

/// True when `name` (any case) is one the gateway owns in `direction`: a rewrite of it is a
/// configuration error.
pub fn owned(name: &str, direction: Direction) -> bool {
    let name = name.to_ascii_lowercase();
    let prefixed = ["x-user-", "x-forwarded-", "x-gateway-", "access-control-"]
        .iter()
        .any(|p| name.starts_with(p));
    prefixed
        || OWNED_ON_REQUEST.contains(&name.as_str())
        || (direction == Direction::Response && OWNED_ON_RESPONSE.contains(&name.as_str()))
}

/// One direction's compiled rewrites.
#[derive(Debug, Default)]
pub struct Rewrites {
    remove: Box<[HeaderName]>,
    set: Box<[(HeaderName, HeaderValue)]>,
    add: Box<[(HeaderName, HeaderValue)]>,
}

impl Rewrites {
    /// Compiles validated rewrites (names and values were checked by the linter).
    pub fn compile(config: &HeaderRewrites) -> Rewrites {
        let pairs = |map: &std::collections::BTreeMap<String, String>| {
            map.iter()
                .filter_map(|(n, v)| {
                    Some((
                        HeaderName::from_bytes(n.as_bytes()).ok()?,
                        HeaderValue::from_str(v).ok()?,
                    ))
                })
                .collect()
        };
        Rewrites {
            remove: config
                .remove
                .iter()
                .filter_map(|n| HeaderName::from_bytes(n.as_bytes()).ok())
                .collect(),
            set: pairs(&config.set),
            add: pairs(&config.add),
        }
    }

    /// Applies them: remove, then set, then add.
    pub fn apply(&self, headers: &mut HeaderMap) {
        for name in &self.remove {
            headers.remove(name);
        }
        for (name, value) in &self.set {
            headers.insert(name.clone(), value.clone());
        }
        for (name, value) in &self.add {
            headers.append(name.clone(), value.clone());
        }
    }
}

/// A route's rewrites, both ways.
#[derive(Debug, Default)]
pub struct HeaderRewrite {
    /// On the request to the upstream.
    pub request: Rewrites,
    /// On the upstream's answer.
    pub response: Rewrites,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remove_then_set_then_add() {
        let config = HeaderRewrites {
            remove: vec!["X-Debug".into()],
            set: [("X-Api-Version".into(), "2".into())].into(),
            add: [("X-Tag".into(), "b".into())].into(),
        };
        let mut h = HeaderMap::new();
        h.insert("x-debug", "1".parse().unwrap());
        h.insert("x-api-version", "1".parse().unwrap());
        h.insert("x-tag", "a".parse().unwrap());
        Rewrites::compile(&config).apply(&mut h);
        assert!(!h.contains_key("x-debug"));
        assert_eq!(h["x-api-version"], "2");
        let tags: Vec<_> = h.get_all("x-tag").iter().collect();
        assert_eq!(tags, ["a", "b"]);
    }

    #[test]
    fn the_gateways_own_headers_are_owned_in_any_case() {
        for name in [
            "X-User-Role",
            "x-request-id",
            "X-Forwarded-For",
            "Forwarded",
            "Authorization",
            "traceparent",
        ] {
            assert!(owned(name, Direction::Request), "{name}");
        }
        assert!(owned("Age", Direction::Response));
        assert!(!owned("Age", Direction::Request));
        assert!(!owned("X-Api-Version", Direction::Response));
    }
}
