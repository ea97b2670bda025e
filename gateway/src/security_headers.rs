//! The security headers the gateway puts on answers, so that no backend has to remember them.
//!
//! - On **every** answer (proxied, the gateway's own errors, its own endpoints):
//!   `X-Content-Type-Options: nosniff` — a browser must believe the `Content-Type`, never guess
//!   that a JSON body holding `<script>` is HTML — and `Referrer-Policy: no-referrer`, unless
//!   the backend chose a policy — a URL followed from an API answer carries no trace of it.
//! - On the answers of a route or aggregate whose [`CacheMode`] is `no-store` (the default where a
//!   token is looked at): `Cache-Control: no-store`, replacing the backend's, so a profile or an
//!   invoice list is never kept on disk or by a shared proxy for the next person to be served.
//!   Public routes keep the backend's `Cache-Control` (`backend`).
//! - On every problem+json the gateway makes itself: `Cache-Control: no-store` — a refusal is
//!   about one request and must never be replayed from a cache.
//!
//! - On every answer, when `[server] served_by` names this replica: `X-Served-By`, so a client
//!   behind a load balancer can tell the replicas apart.
//!
//! The values are `'static` constants: setting them costs a header-map insert and no allocation,
//! on the hot path of every request.

use crate::config::CacheMode;
use http::{HeaderMap, HeaderName, HeaderValue, header};

/// `X-Content-Type-Options`.
pub const NOSNIFF: HeaderValue = HeaderValue::from_static("nosniff");
/// `Referrer-Policy`, when the backend set none.
pub const NO_REFERRER: HeaderValue = HeaderValue::from_static("no-referrer");
/// `Cache-Control` of personal answers and of the gateway's errors.
pub const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");

/// The headers every answer gets.
pub fn on_every_answer(headers: &mut HeaderMap) {
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, NOSNIFF);
    if !headers.contains_key(header::REFERRER_POLICY) {
        headers.insert(header::REFERRER_POLICY, NO_REFERRER);
    }
}

/// `X-Served-By: <replica>` on every answer, when the replica has a name.
pub fn served_by(name: Option<&HeaderValue>, headers: &mut HeaderMap) {
    if let Some(name) = name {
        headers.insert(HeaderName::from_static("x-served-by"), name.clone());
    }
}

/// The `Cache-Control` a route's or an aggregate's answer gets.
pub fn cache(mode: CacheMode, headers: &mut HeaderMap) {
    match mode {
        CacheMode::NoStore => {
            headers.insert(header::CACHE_CONTROL, NO_STORE);
        }
        CacheMode::Backend => {}
    }
}

/// The `Cache-Control` of an error the gateway answers itself.
pub fn on_error(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, NO_STORE);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_store_replaces_the_backends_and_backend_keeps_it() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("max-age=600"),
        );
        cache(CacheMode::Backend, &mut headers);
        assert_eq!(headers[header::CACHE_CONTROL], "max-age=600");
        cache(CacheMode::NoStore, &mut headers);
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        assert_eq!(headers.get_all(header::CACHE_CONTROL).iter().count(), 1);
    }

    #[test]
    fn a_backends_referrer_policy_is_kept_and_nosniff_always_set() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("bogus"),
        );
        on_every_answer(&mut headers);
        assert_eq!(headers[header::REFERRER_POLICY], "same-origin");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        let mut headers = HeaderMap::new();
        on_every_answer(&mut headers);
        assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
    }
}
