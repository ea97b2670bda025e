//! CORS per route: which browser origins may call a route, answered by the gateway.
//!
//! A browser lets a page on `https://shop.example.edu` read an answer from the gateway only if
//! the answer says so (`Access-Control-Allow-Origin`). Before a request that is not "simple"
//! (a `PUT`, or one carrying `Authorization`), it first asks with a **preflight**: `OPTIONS`
//! with `Origin`, `Access-Control-Request-Method` and `Access-Control-Request-Headers`.
//!
//! - A **preflight** for a route with `[routes.cors]` is answered here, before authentication
//!   (a browser never sends credentials on a preflight) and without touching the backend:
//!   204 with the allowed methods, headers, credentials and `max-age` when the origin, the
//!   method and every header are allowed; otherwise 403 `cors_refused`, carrying no CORS
//!   header, so the browser stops there.
//! - An **actual request** from an allowed origin gets `Access-Control-Allow-Origin` (the
//!   origin itself, never `*`), `…-Allow-Credentials` and `…-Expose-Headers` on its answer —
//!   errors included, so a page can read why it was refused. A disallowed origin gets no CORS
//!   header at all: the request still runs (CORS protects the page's reader, not the server),
//!   but the browser will not show the answer to the page.
//! - Every answer of a CORS route carries `Vary: Origin`: it depends on the origin, and a cache
//!   in between must not give one origin's answer to another.
//!
//! Origins are compared byte for byte with the configured ones (lower-cased when compiled, as
//! browsers serialise them): no patterns, no suffix matching, no `null`.
//!
//! Why not tower-http's `CorsLayer`: it is a layer around one service, configured once, while
//! here the policy is chosen per route after the route table has answered — and a preflight
//! must be matched to the route of the method it announces, not to `OPTIONS`. The checks are a
//! few comparisons; what the configuration linter refuses (wildcards, `null`, credentials with
//! a pattern) `CorsLayer` would only find when it panics at run time.

use crate::config::CorsConfig;
use http::{HeaderMap, HeaderName, HeaderValue, Method, header};

/// `Vary` on every answer of a CORS route.
const VARY_ORIGIN: HeaderValue = HeaderValue::from_static("origin");
/// `Vary` on a preflight's answer: it depends on all three request headers.
const VARY_PREFLIGHT: HeaderValue = HeaderValue::from_static(
    "origin, access-control-request-method, access-control-request-headers",
);

/// A route's compiled CORS policy.
#[derive(Debug)]
pub struct Cors {
    origins: Box<[HeaderValue]>,
    methods: Box<[Method]>,
    allow_methods: HeaderValue,
    /// Lower-case names (a preflight lists them lower-case, Fetch §4.8).
    allow_headers: Box<[HeaderName]>,
    allow_headers_value: Option<HeaderValue>,
    expose_headers: Option<HeaderValue>,
    credentials: bool,
    max_age: HeaderValue,
}

/// Why a preflight was refused (the 403's detail).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The origin is not one of the route's.
    Origin,
    /// The announced method is not allowed.
    Method,
    /// One of the announced headers is not allowed.
    Header,
}

impl Refusal {
    /// The detail of the refusal.
    pub const fn detail(self) -> &'static str {
        match self {
            Refusal::Origin => "the origin is not allowed to call this route",
            Refusal::Method => "the method is not allowed for cross-origin requests here",
            Refusal::Header => "a requested header is not allowed for cross-origin requests here",
        }
    }
}

/// What a preflight asks: the origin, the method and the headers it announces.
#[derive(Debug, Clone)]
pub struct Preflight<'r> {
    /// `Origin`.
    pub origin: &'r HeaderValue,
    /// `Access-Control-Request-Method`.
    pub method: Method,
    headers: Option<&'r HeaderValue>,
}

impl<'r> Preflight<'r> {
    /// The preflight `method` and `headers` describe, if they describe one: `OPTIONS` with
    /// `Origin` and a valid `Access-Control-Request-Method`.
    pub fn of(method: &Method, headers: &'r HeaderMap) -> Option<Preflight<'r>> {
        if method != Method::OPTIONS {
            return None;
        }
        let origin = headers.get(header::ORIGIN)?;
        let announced = headers.get(header::ACCESS_CONTROL_REQUEST_METHOD)?;
        let method = Method::from_bytes(announced.as_bytes()).ok()?;
        Some(Preflight {
            origin,
            method,
            headers: headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS),
        })
    }
}

impl Cors {
    /// Compiles a validated `[routes.cors]`.
    pub fn compile(config: &CorsConfig) -> Cors {
        let join = |names: &[String]| -> Option<HeaderValue> {
            (!names.is_empty())
                .then(|| HeaderValue::from_str(&names.join(", ").to_ascii_lowercase()).ok())
                .flatten()
        };
        Cors {
            origins: config
                .allow_origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(&o.to_ascii_lowercase()).ok())
                .collect(),
            // `GET` brings `HEAD` along, as on a route.
            methods: config
                .allow_methods
                .iter()
                .filter_map(|m| Method::from_bytes(m.as_bytes()).ok())
                .flat_map(|m| {
                    let head = (m == Method::GET).then_some(Method::HEAD);
                    std::iter::once(m).chain(head)
                })
                .collect(),
            allow_methods: HeaderValue::from_str(&config.allow_methods.join(", "))
                .unwrap_or(HeaderValue::from_static("GET")),
            allow_headers: config
                .allow_headers
                .iter()
                .filter_map(|h| HeaderName::from_bytes(h.as_bytes()).ok())
                .collect(),
            allow_headers_value: join(&config.allow_headers),
            expose_headers: join(&config.expose_headers),
            credentials: config.allow_credentials,
            max_age: HeaderValue::from(config.max_age_s),
        }
    }

    fn allows_origin(&self, origin: &HeaderValue) -> bool {
        self.origins.iter().any(|o| o == origin)
    }

    /// The answer's headers for an allowed preflight, or why it is refused.
    pub fn preflight(&self, asked: &Preflight<'_>) -> Result<HeaderMap, Refusal> {
        if !self.allows_origin(asked.origin) {
            return Err(Refusal::Origin);
        }
        if !self.methods.contains(&asked.method) {
            return Err(Refusal::Method);
        }
        if let Some(requested) = asked.headers {
            let list = requested.to_str().map_err(|_| Refusal::Header)?;
            let all_allowed = list
                .split(',')
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .all(|name| {
                    self.allow_headers
                        .iter()
                        .any(|allowed| allowed.as_str().eq_ignore_ascii_case(name))
                });
            if !all_allowed {
                return Err(Refusal::Header);
            }
        }
        let mut headers = HeaderMap::with_capacity(7);
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, asked.origin.clone());
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            self.allow_methods.clone(),
        );
        if let Some(allowed) = &self.allow_headers_value {
            headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, allowed.clone());
        }
        if self.credentials {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        headers.insert(header::ACCESS_CONTROL_MAX_AGE, self.max_age.clone());
        headers.insert(header::VARY, VARY_PREFLIGHT);
        Ok(headers)
    }

    /// The CORS headers of an actual request's answer (success or refusal): allowed origin →
    /// the origin, credentials, exposed headers; any origin → `Vary: Origin`. Whatever the
    /// backend said about CORS is replaced: the route's policy is the gateway's.
    pub fn on_answer(&self, origin: Option<&HeaderValue>, headers: &mut HeaderMap) {
        for name in [
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            header::ACCESS_CONTROL_ALLOW_METHODS,
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            header::ACCESS_CONTROL_MAX_AGE,
        ] {
            headers.remove(name);
        }
        headers.append(header::VARY, VARY_ORIGIN);
        let Some(origin) = origin.filter(|o| self.allows_origin(o)) else {
            return;
        };
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        if self.credentials {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        if let Some(expose) = &self.expose_headers {
            headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, expose.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cors() -> Cors {
        Cors::compile(&CorsConfig {
            allow_origins: vec!["https://Shop.example.edu".into()],
            allow_methods: vec!["GET".into(), "PUT".into()],
            allow_headers: vec!["Authorization".into()],
            expose_headers: vec!["X-Request-Id".into()],
            allow_credentials: true,
            max_age_s: 600,
        })
    }

    fn preflight(origin: &str, method: &str, headers: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ORIGIN, origin.parse().unwrap());
        h.insert(
            header::ACCESS_CONTROL_REQUEST_METHOD,
            method.parse().unwrap(),
        );
        if let Some(list) = headers {
            h.insert(
                header::ACCESS_CONTROL_REQUEST_HEADERS,
                list.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn an_allowed_preflight_gets_the_policy() {
        let h = preflight("https://shop.example.edu", "PUT", Some("authorization"));
        let asked = Preflight::of(&Method::OPTIONS, &h).unwrap();
        let answer = cors().preflight(&asked).unwrap();
        assert_eq!(
            answer["access-control-allow-origin"],
            "https://shop.example.edu"
        );
        assert_eq!(answer["access-control-allow-methods"], "GET, PUT");
        assert_eq!(answer["access-control-allow-headers"], "authorization");
        assert_eq!(answer["access-control-allow-credentials"], "true");
        assert_eq!(answer["access-control-max-age"], "600");
    }

    #[test]
    fn origin_method_and_headers_are_each_checked() {
        let c = cors();
        for (origin, method, headers, why) in [
            (
                "https://shop.example.edu.evil.test",
                "GET",
                None,
                Refusal::Origin,
            ),
            ("http://shop.example.edu", "GET", None, Refusal::Origin),
            ("null", "GET", None, Refusal::Origin),
            ("https://shop.example.edu", "DELETE", None, Refusal::Method),
            (
                "https://shop.example.edu",
                "GET",
                Some("authorization, x-debug"),
                Refusal::Header,
            ),
        ] {
            let h = preflight(origin, method, headers);
            let asked = Preflight::of(&Method::OPTIONS, &h).unwrap();
            assert_eq!(c.preflight(&asked).unwrap_err(), why, "{origin} {method}");
        }
    }

    #[test]
    fn a_disallowed_origin_gets_only_vary() {
        let mut answer = HeaderMap::new();
        answer.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*".parse().unwrap());
        cors().on_answer(Some(&"https://evil.test".parse().unwrap()), &mut answer);
        assert_eq!(answer.len(), 1, "{answer:?}");
        assert_eq!(answer["vary"], "origin");
    }
}
