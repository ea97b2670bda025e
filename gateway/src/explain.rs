//! `gateway explain-route METHOD PATH [--config FILE]`: which route a request would take and
//! which policies apply to it, worked out from the configuration alone — no gateway running, no
//! upstream called. The same normalisation, aggregate lookup and route table as the pipeline
//! ([`crate::handler`]), so the answer is the one the gateway would give.
//!
//! ```text
//! $ gateway explain-route GET /api/users/me
//! GET /api/users/me
//!   path         /api/users/me
//!   route        users (prefix /api/users)
//!   upstream     users: http://127.0.0.1:8082, forwarded as /users/me
//!   token        required: Authorization: Bearer, checked for signature, expiry, issuer, audience
//!   roles        any valid token
//!   scopes       profile (403 insufficient_scope otherwise; a user token without a scope claim: its role decides)
//!   rate limits  per-user (600 per 60 s, by user), daily (10000 per 86400 s, by user)
//!   cache        no-store: Cache-Control: no-store on every answer
//! ```

use crate::{
    aggregate::table::Aggregates,
    config::{AuthMode, CacheMode, Config},
    error::GatewayError,
    normalize::normalize,
    routing::{RoleSet, RouteTable, ScopeSet},
};
use http::Method;
use std::fmt::Write;

/// The explanation, and whether a request would be forwarded (`false`: the gateway would
/// refuse it whatever the caller sends).
pub fn explain(config: &Config, method: &str, path: &str) -> (String, bool) {
    let mut out = format!("{method} {path}\n");
    let line = |out: &mut String, key: &str, value: &str| {
        let _ = writeln!(out, "  {key:<12} {value}");
    };
    let Ok(method) = Method::from_bytes(method.to_ascii_uppercase().as_bytes()) else {
        line(&mut out, "refused", "400: not an HTTP method");
        return (out, false);
    };
    let (path_only, query) = path.split_once('?').unwrap_or((path, ""));
    let normalised = match normalize(path_only) {
        Ok(p) => p,
        Err(e) => {
            let error = GatewayError::BadPath(e);
            line(&mut out, "refused", &refusal(&error));
            return (out, false);
        }
    };
    line(&mut out, "path", &normalised);
    if !query.is_empty() {
        line(&mut out, "query", "forwarded unchanged, never read");
    }

    let aggregates = Aggregates::compile(config);
    if let Some(aggregate) = aggregates.find(&normalised) {
        let Some(declared) = config
            .aggregates
            .iter()
            .find(|a| *a.name == *aggregate.name)
        else {
            return (out, false);
        };
        line(
            &mut out,
            "aggregate",
            &format!("{} (exact path {})", declared.name, declared.path),
        );
        if !matches!(method, Method::GET | Method::HEAD) {
            line(
                &mut out,
                "refused",
                "405 method_not_allowed: aggregates answer GET and HEAD",
            );
            return (out, false);
        }
        for call in &aggregate.calls {
            let upstream = &config.upstreams[call.upstream];
            let required = if call.required {
                "required"
            } else {
                "optional"
            };
            line(
                &mut out,
                "call",
                &format!(
                    "{} → {} {} ({required}, {} ms)",
                    call.key,
                    upstream.name,
                    call.path,
                    call.timeout.as_millis()
                ),
            );
        }
        policies(
            &mut out,
            config,
            declared.auth,
            aggregate.roles,
            &aggregate.scopes,
            &declared.rate_limits,
        );
        cache_line(&mut out, aggregate.cache);
        return (out, true);
    }

    let table = RouteTable::compile(config);
    let route = match table.find(&method, &normalised) {
        Ok(route) => route,
        Err(miss) => {
            line(&mut out, "refused", &refusal(&GatewayError::from(miss)));
            return (out, false);
        }
    };
    let exact = if route.exact { ", exact" } else { "" };
    line(
        &mut out,
        "route",
        &format!("{} (prefix {}{exact})", route.name, route.prefix),
    );
    let upstream = &config.upstreams[route.upstream];
    line(
        &mut out,
        "upstream",
        &format!(
            "{}: {}, forwarded as {}",
            upstream.name,
            upstream.targets.join(", "),
            route.forward_path(&normalised)
        ),
    );
    let rate_limits = config
        .routes
        .iter()
        .find(|r| *r.name == *route.name)
        .map_or(&[][..], |r| &r.rate_limits[..]);
    policies(
        &mut out,
        config,
        route.auth,
        route.roles,
        &route.scopes,
        rate_limits,
    );
    if route.oauth_errors {
        line(
            &mut out,
            "errors",
            "problem+json with RFC 6749 `error` and `error_description` (an OAuth endpoint)",
        );
    }
    cache_line(&mut out, route.cache);
    if let Some(configured) = config.routes.iter().find(|r| *r.name == *route.name) {
        features(&mut out, configured);
    }
    (out, true)
}

/// The route's optional sections, one line each (docs/route-features.md).
fn features(out: &mut String, route: &crate::config::RouteConfig) {
    let line = |out: &mut String, key: &str, value: &str| {
        let _ = writeln!(out, "  {key:<12} {value}");
    };
    if let Some(cors) = &route.cors {
        let what = format!(
            "origins {}; methods {}; preflights answered by the gateway",
            cors.allow_origins.join(", "),
            cors.allow_methods.join(", ")
        );
        line(out, "cors", &what);
    }
    if let Some(headers) = &route.headers {
        let names = |r: &crate::config::HeaderRewrites| {
            let mut parts = Vec::new();
            if !r.remove.is_empty() {
                parts.push(format!("remove {}", r.remove.join(", ")));
            }
            for (verb, map) in [("set", &r.set), ("add", &r.add)] {
                if !map.is_empty() {
                    let keys: Vec<&str> = map.keys().map(String::as_str).collect();
                    parts.push(format!("{verb} {}", keys.join(", ")));
                }
            }
            if parts.is_empty() {
                "-".to_owned()
            } else {
                parts.join("; ")
            }
        };
        let what = format!(
            "request: {}; response: {}",
            names(&headers.request),
            names(&headers.response)
        );
        line(out, "headers", &what);
    }
    if let Some(split) = &route.split {
        let weights: Vec<String> = split
            .weights
            .iter()
            .map(|w| format!("{} {}", w.upstream, w.weight))
            .collect();
        let how = if split.sticky {
            "sticky per user"
        } else {
            "by count"
        };
        line(out, "split", &format!("{} ({how})", weights.join(", ")));
    }
    if let Some(cache) = &route.response_cache {
        let whose = if cache.shared { "shared" } else { "per user" };
        let what = format!(
            "GET answers kept {} ms, {whose} (X-Gateway-Cache)",
            cache.ttl_ms
        );
        line(out, "cached", &what);
    }
}

/// The `Cache-Control` the answers get (`crate::security_headers`).
fn cache_line(out: &mut String, cache: CacheMode) {
    let what = match cache {
        CacheMode::NoStore => "no-store: Cache-Control: no-store on every answer",
        CacheMode::Backend => "backend: the backend's Cache-Control passes",
    };
    let _ = writeln!(out, "  {:<12} {what}", "cache");
}

/// The token, role, scope and rate-limit lines.
fn policies(
    out: &mut String,
    config: &Config,
    auth: AuthMode,
    roles: RoleSet,
    scopes: &ScopeSet,
    limits: &[String],
) {
    let token = match auth {
        AuthMode::Public => "public: the token is not read",
        AuthMode::Required => {
            "required: Authorization: Bearer, checked for signature, expiry, issuer, audience \
             (401 otherwise)"
        }
        AuthMode::Optional => {
            "optional: none passes anonymously; one that is sent must be valid (401 otherwise)"
        }
    };
    let _ = writeln!(out, "  {:<12} {token}", "token");
    let roles = if roles.is_empty() {
        match auth {
            AuthMode::Public => "none".to_owned(),
            _ => "any valid token".to_owned(),
        }
    } else {
        format!("{} (403 role_required otherwise)", roles.describe())
    };
    let _ = writeln!(out, "  {:<12} {roles}", "roles");
    if !scopes.is_empty() {
        let _ = writeln!(
            out,
            "  {:<12} {} (403 insufficient_scope otherwise; a user token without a scope \
             claim: its role decides)",
            "scopes",
            scopes.describe()
        );
    }
    let described: Vec<String> = limits
        .iter()
        .map(|name| {
            if let Some(p) = config.rate_limits.iter().find(|p| p.name == *name) {
                let by: Vec<String> = p
                    .key
                    .iter()
                    .map(|k| format!("{k:?}").to_lowercase())
                    .collect();
                format!(
                    "{name} ({} per {} s, by {})",
                    p.rate,
                    p.period_secs(),
                    by.join("+")
                )
            } else if let Some(q) = config.quotas.iter().find(|q| q.name == *name) {
                let as_limit = q.as_rate_limit();
                format!(
                    "{name} ({} per {} s, by user)",
                    q.limit,
                    as_limit.period_secs()
                )
            } else {
                name.clone()
            }
        })
        .collect();
    let limits = if described.is_empty() {
        "none".to_owned()
    } else {
        described.join(", ")
    };
    let _ = writeln!(out, "  {:<12} {limits}", "rate limits");
}

/// `404 no_route: …`.
fn refusal(error: &GatewayError) -> String {
    let status = error.to_problem().status();
    format!("{} {}: {error}", status.as_u16(), error.reason())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_protected_route_names_its_policies() {
        let (text, forwarded) = explain(&Config::demo(), "GET", "/api/users/me");
        assert!(forwarded);
        assert!(
            text.contains("route        users (prefix /api/users)"),
            "{text}"
        );
        assert!(text.contains("forwarded as /users/me"), "{text}");
        assert!(text.contains("per-user (600 per 60 s, by user)"), "{text}");
    }

    #[test]
    fn an_unknown_path_is_refused_with_its_reason() {
        let (text, forwarded) = explain(&Config::demo(), "GET", "/nowhere");
        assert!(!forwarded);
        assert!(text.contains("404 no_route"), "{text}");
    }
}
