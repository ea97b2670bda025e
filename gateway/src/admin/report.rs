//! What the admin listener reports beyond the counters: the loaded configuration (secrets
//! redacted) and the gauges read from the upstreams when `/metrics` is scraped.

use crate::{
    config::{AuthMode, Config, HeaderRewrites},
    metrics::{CIRCUIT_STATE, TARGET_HEALTHY},
    state::Gateway,
    upstream,
};
use metrics::Label;
use serde_json::{Value, json};

/// The header names a rewrite removes, sets and adds (never the values).
fn rewrite_names(rewrites: &HeaderRewrites) -> Value {
    json!({
        "remove": rewrites.remove,
        "set": rewrites.set.keys().collect::<Vec<_>>(),
        "add": rewrites.add.keys().collect::<Vec<_>>(),
    })
}

/// The routes, aggregates, upstreams and policies as loaded. The `[auth]` section shows where
/// keys come from, never a key or a secret: `hs256_secret` is `"[redacted]"`.
pub fn loaded(config: &Config) -> Value {
    let auth_mode = |mode: AuthMode| match mode {
        AuthMode::Public => "public",
        AuthMode::Required => "required",
        AuthMode::Optional => "optional",
    };
    let routes: Vec<Value> = config
        .routes
        .iter()
        .map(|r| {
            json!({
                "name": r.name, "prefix": r.prefix, "exact": r.exact, "methods": r.methods,
                "upstream": r.upstream, "rewrite_prefix": r.rewrite_prefix,
                "strip_prefix": r.strip_prefix, "auth": auth_mode(r.auth), "roles": r.roles,
                "scopes": r.scopes, "oauth_errors": r.oauth_errors, "rate_limits": r.rate_limits, "cache": r.cache_mode().as_str(),
                "cors": r.cors.as_ref().map(|c| json!({
                    "allow_origins": c.allow_origins, "allow_methods": c.allow_methods,
                    "allow_headers": c.allow_headers, "expose_headers": c.expose_headers,
                    "allow_credentials": c.allow_credentials, "max_age_s": c.max_age_s,
                })),
                // Header names only: a value set on the way (an upstream's API key) may be secret.
                "headers": r.headers.as_ref().map(|h| json!({
                    "request": rewrite_names(&h.request), "response": rewrite_names(&h.response),
                })),
                "split": r.split.as_ref().map(|s| json!({
                    "sticky": s.sticky,
                    "weights": s.weights.iter().map(|w| json!({"upstream": w.upstream, "weight": w.weight})).collect::<Vec<_>>(),
                })),
                "response_cache": r.response_cache.as_ref().map(|c| json!({
                    "ttl_ms": c.ttl_ms, "shared": c.shared, "max_entries": c.max_entries,
                    "max_bytes": c.max_bytes, "max_entry_bytes": c.max_entry_bytes,
                })),
            })
        })
        .collect();
    let aggregates: Vec<Value> = config
        .aggregates
        .iter()
        .map(|a| {
            let calls: Vec<Value> = a
                .calls
                .iter()
                .map(|c| {
                    json!({"key": c.key, "upstream": c.upstream, "path": c.path,
                                "required": c.required, "timeout_ms": c.timeout_ms})
                })
                .collect();
            json!({
                "name": a.name, "path": a.path, "auth": auth_mode(a.auth), "roles": a.roles,
                "scopes": a.scopes, "timeout_ms": a.timeout_ms, "rate_limits": a.rate_limits, "calls": calls,
                "cache": a.cache_mode().as_str(),
            })
        })
        .collect();
    let upstreams: Vec<Value> = config
        .upstreams
        .iter()
        .map(|u| {
            json!({
                "name": u.name, "targets": u.targets, "connect_timeout_ms": u.connect_timeout_ms,
                "request_timeout_ms": u.request_timeout_ms,
                "health_check": u.health_check.as_ref().map(|h| &h.path),
                "breaker": {"consecutive_failures": u.breaker.consecutive_failures,
                            "open_ms": u.breaker.open_ms},
                "retry": {"attempts": u.retry.attempts, "statuses": u.retry.statuses},
            })
        })
        .collect();
    let policies: Vec<Value> = config
        .rate_limits
        .iter()
        .map(|p| {
            json!({"name": p.name, "rate": p.rate, "period_secs": p.period_secs(),
                   "burst": p.burst(), "key": format!("{:?}", p.key),
                   "backend": format!("{:?}", p.backend)})
        })
        .collect();
    let quotas: Vec<Value> = config
        .quotas
        .iter()
        .map(|q| json!({"name": q.name, "limit": q.limit, "per": format!("{:?}", q.per)}))
        .collect();
    let auth = &config.auth;
    json!({
        "demo": config.demo,
        "auth": {
            "issuer": auth.issuer,
            "audience": auth.audience,
            "hs256_secret": auth.hs256_secret.as_ref().map(|_| "[redacted]"),
            "public_keys": auth.public_keys.iter().map(|k| &k.kid).collect::<Vec<_>>(),
            "jwks_url": auth.jwks_url,
        },
        "routes": routes,
        "aggregates": aggregates,
        "upstreams": upstreams,
        "rate_limits": policies,
        "quotas": quotas,
        "redis": config.redis.is_some(),
    })
}

/// Sets the health and circuit gauges of every target from the readiness report (the same
/// facts `/readyz` shows: the active health check, or a TCP connect without one), and copies
/// the verifier's JWKS counts.
pub async fn refresh_gauges(gateway: &Gateway) {
    if let Some(stats) = gateway.verifier.jwks_stats() {
        gateway.metrics.set_jwks(stats);
    }
    let (_, upstreams) = upstream::probe::report(&gateway.upstreams).await;
    for (name, upstream) in upstreams.as_object().into_iter().flatten() {
        for target in upstream["targets"].as_array().into_iter().flatten() {
            let labels = || {
                vec![
                    Label::new("upstream", name.clone()),
                    Label::new(
                        "target",
                        target["target"].as_str().unwrap_or("?").to_owned(),
                    ),
                ]
            };
            let healthy = if target["healthy"] == true { 1.0 } else { 0.0 };
            let circuit = match target["circuit"].as_str() {
                Some("open") => 2.0,
                Some("half_open") => 1.0,
                _ => 0.0,
            };
            let metrics = &gateway.metrics;
            metrics.set_gauge(TARGET_HEALTHY, labels(), healthy);
            metrics.set_gauge(CIRCUIT_STATE, labels(), circuit);
        }
    }
}
