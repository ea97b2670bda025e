//! What `Cache-Control`, `Vary` and `Authorization` allow the response cache to do (RFC 9111).
//!
//! On the **request**: `no-store` → neither served from nor stored in the cache; `no-cache` →
//! not served from the cache (the upstream is asked), but its answer may be stored.
//!
//! On the **answer**, it is stored only when all of these hold:
//!
//! - the status is 200 — never an error, a redirect or a partial answer;
//! - no `Set-Cookie`: a cookie is for one browser, not for the next caller;
//! - `Cache-Control` has none of `no-store`, `no-cache` (every use needs revalidation, which
//!   this cache does not do) and, on a shared route, `private`; on a per-user route, `private`
//!   is exactly what it does (an entry is only ever served to the user it was made for);
//! - `Vary` does not hold `*`;
//! - on a shared route, a request that carried `Authorization` is stored only when the answer
//!   says `public` or `s-maxage` (RFC 9111 §3.5): the backend must say that an authenticated
//!   answer may go to others.
//!
//! It stays fresh for the route's `ttl_ms`, or the answer's `s-maxage` (else `max-age`) when
//! shorter.

use http::{HeaderMap, HeaderValue, StatusCode, header};

/// The request's own `Cache-Control`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Asked {
    /// `no-store`: bypass the cache entirely.
    pub no_store: bool,
    /// `no-cache` (or `Pragma: no-cache`): do not serve from the cache.
    pub no_cache: bool,
}

impl Asked {
    /// Reads the request's directives.
    pub fn of(headers: &HeaderMap) -> Asked {
        let mut asked = Asked::default();
        for directive in directives(headers) {
            match directive.0.as_str() {
                "no-store" => asked.no_store = true,
                "no-cache" => asked.no_cache = true,
                _ => {}
            }
        }
        if headers
            .get(header::PRAGMA)
            .is_some_and(|p| p.as_bytes().eq_ignore_ascii_case(b"no-cache"))
        {
            asked.no_cache = true;
        }
        asked
    }
}

/// Why an answer was not stored, or for how long it may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storable {
    /// Fresh for this many milliseconds.
    For(u64),
    /// Not stored, and why (the decision record's detail).
    No(&'static str),
}

/// Whether an answer may be stored, and for how long (at most `ttl_ms`).
pub fn storable(
    status: StatusCode,
    headers: &HeaderMap,
    ttl_ms: u64,
    shared: bool,
    had_authorization: bool,
) -> Storable {
    if status != StatusCode::OK {
        return Storable::No("not stored: only 200 answers are kept");
    }
    if headers.contains_key(header::SET_COOKIE) {
        return Storable::No("not stored: the answer sets a cookie");
    }
    if headers.get_all(header::VARY).iter().any(|v| {
        v.to_str()
            .is_ok_and(|v| v.split(',').any(|n| n.trim() == "*"))
    }) {
        return Storable::No("not stored: Vary: *");
    }
    let mut fresh_ms = ttl_ms;
    let mut public = false;
    let mut s_maxage = None;
    let mut max_age = None;
    for (name, value) in directives(headers) {
        match name.as_str() {
            "no-store" => return Storable::No("not stored: Cache-Control: no-store"),
            "no-cache" => return Storable::No("not stored: Cache-Control: no-cache"),
            "private" if shared => {
                return Storable::No("not stored: Cache-Control: private on a shared route");
            }
            "public" => public = true,
            "s-maxage" => s_maxage = value.and_then(|v| v.parse::<u64>().ok()),
            "max-age" => max_age = value.and_then(|v| v.parse::<u64>().ok()),
            _ => {}
        }
    }
    if shared && had_authorization && !public && s_maxage.is_none() {
        return Storable::No(
            "not stored: an authenticated answer on a shared route needs public or s-maxage",
        );
    }
    if let Some(secs) = s_maxage.or(max_age) {
        fresh_ms = fresh_ms.min(secs.saturating_mul(1000));
    }
    if fresh_ms == 0 {
        return Storable::No("not stored: max-age=0");
    }
    Storable::For(fresh_ms)
}

/// The request header names an answer's `Vary` lists, lower-case.
pub fn vary_names(headers: &HeaderMap) -> Vec<http::HeaderName> {
    headers
        .get_all(header::VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| http::HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect()
}

/// The `Cache-Control` directives, lower-cased, with their values (quotes removed).
fn directives(headers: &HeaderMap) -> impl Iterator<Item = (String, Option<String>)> + '_ {
    headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|v: &HeaderValue| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|d| {
            let (name, value) = match d.split_once('=') {
                Some((n, v)) => (n, Some(v.trim().trim_matches('"').to_owned())),
                None => (d, None),
            };
            (name.trim().to_ascii_lowercase(), value)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(cc: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CACHE_CONTROL, cc.parse().unwrap());
        h
    }

    #[test]
    fn the_answers_directives_decide() {
        let ok = StatusCode::OK;
        assert_eq!(
            storable(ok, &HeaderMap::new(), 5000, false, true),
            Storable::For(5000)
        );
        assert_eq!(
            storable(ok, &with("max-age=2"), 5000, false, true),
            Storable::For(2000)
        );
        assert_eq!(
            storable(
                ok,
                &with("public, s-maxage=1, max-age=60"),
                5000,
                true,
                true
            ),
            Storable::For(1000)
        );
        for cc in ["no-store", "No-Cache", "max-age=0"] {
            assert!(
                matches!(storable(ok, &with(cc), 5000, false, false), Storable::No(_)),
                "{cc}"
            );
        }
        assert_eq!(
            storable(ok, &with("private"), 5000, false, true),
            Storable::For(5000)
        );
        assert!(matches!(
            storable(ok, &with("private"), 5000, true, false),
            Storable::No(_)
        ));
        assert!(matches!(
            storable(ok, &HeaderMap::new(), 5000, true, true),
            Storable::No(_)
        ));
        assert!(matches!(
            storable(StatusCode::NOT_FOUND, &HeaderMap::new(), 5000, false, false),
            Storable::No(_)
        ));
    }

    #[test]
    fn the_requests_directives_are_read() {
        assert_eq!(
            Asked::of(&with("no-cache")),
            Asked {
                no_store: false,
                no_cache: true
            }
        );
        assert_eq!(
            Asked::of(&with("NO-STORE")),
            Asked {
                no_store: true,
                no_cache: false
            }
        );
    }
}
