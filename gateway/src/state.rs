//! [`Gateway`]: everything a request needs, compiled once from the configuration.
//!
//! Shared read-only by all requests (behind an `Arc`): the route table, the aggregates, the
//! upstreams with their pools and breakers, the token verifier and its cache, the rate limiter,
//! the metrics and the ring of recent decisions, and the one clock all of them read. No locks on the hot path; the parts that change
//! (breakers, pools, counters) are atomics or short-lived mutexes inside their own types.

use crate::{
    aggregate::table::Aggregates,
    auth::Checker,
    config::Config,
    decision::Ring,
    forwarded::TrustedProxies,
    metrics::Metrics,
    otlp::{self, Exporter},
    ratelimit::Limiter,
    routing::RouteTable,
    token_cache::TokenCache,
    upstream::Upstream,
};
use shared::{
    Verifier,
    clock::{SharedClock, SystemClock},
};
use std::sync::Arc;

/// The compiled gateway.
#[derive(Debug)]
pub struct Gateway {
    /// The route table.
    pub routes: RouteTable,
    /// The aggregates, by exact path (looked up before the routes).
    pub aggregates: Aggregates,
    /// The upstreams, indexed by `Route::upstream`. Shared with their health-check tasks.
    pub upstreams: Arc<[Upstream]>,
    /// Token verification (static keys or a JWKS cache).
    pub verifier: Verifier,
    /// Claims of recently verified tokens.
    pub token_cache: TokenCache,
    /// Peers whose forwarding headers are believed.
    pub trusted_proxies: TrustedProxies,
    /// Longest request target, in bytes.
    pub max_uri_bytes: usize,
    /// Largest request head (request line and headers), in bytes.
    pub max_header_bytes: usize,
    /// Largest request body, in bytes.
    pub max_body_bytes: u64,
    /// Rate limits and quotas, with their stores ([`crate::ratelimit`]).
    pub limiter: Limiter,
    /// The one clock: breakers, rate-limit buckets and the token cache's expiry read it.
    pub clock: SharedClock,
    /// What the gateway counts (`GET /metrics` on the admin listener).
    pub metrics: Metrics,
    /// The most recent decision records (`GET /decisions/{id}`).
    pub decisions: Ring,
    /// Demo mode: a caller may read their own decision records on the public port.
    pub demo: bool,
    /// Whether a client's `traceparent` is continued (`[tracing] accept_incoming`).
    pub accept_incoming_trace: bool,
    /// Where request spans go, when a collector is configured (`[tracing] otlp_endpoint`).
    pub otlp: Option<Exporter>,
}

/// The OTLP exporter `[tracing] otlp_endpoint` (or `OTEL_EXPORTER_OTLP_ENDPOINT`) asks for.
fn otlp_exporter(config: &Config) -> anyhow::Result<Option<Exporter>> {
    let endpoint = config
        .tracing
        .otlp_endpoint
        .clone()
        .or_else(|| std::env::var(otlp::ENDPOINT_ENV).ok())
        .filter(|e| !e.trim().is_empty());
    endpoint
        .map(|e| Exporter::new(&e).map_err(|m| anyhow::anyhow!("`tracing.otlp_endpoint`: {m}")))
        .transpose()
}

impl Gateway {
    /// Validates `config` and compiles it, on the system clock.
    pub fn new(config: &Config) -> anyhow::Result<Gateway> {
        Self::with_clock(config, SystemClock::shared())
    }

    /// [`Gateway::new`] on `clock`, so tests can move time by hand (a
    /// [`shared::clock::ManualClock`]).
    pub fn with_clock(config: &Config, clock: SharedClock) -> anyhow::Result<Gateway> {
        config.validate()?;
        let verifier = config
            .auth
            .build()
            .map_err(|e| anyhow::anyhow!("[auth]: {e}"))?;
        let metrics = Metrics::new(
            config
                .routes
                .iter()
                .map(|r| r.name.as_str())
                .chain(config.aggregates.iter().map(|a| a.name.as_str())),
            config.aggregates.iter().map(|a| a.name.as_str()),
        );
        let mut limiter = Limiter::new(config, Arc::clone(&clock))?;
        limiter.register_metrics(&metrics);
        Ok(Gateway {
            routes: RouteTable::compile(config),
            aggregates: Aggregates::compile(config),
            upstreams: config
                .upstreams
                .iter()
                .map(|u| {
                    let mut upstream = Upstream::new(u, Arc::clone(&clock));
                    upstream.metrics = metrics.upstream(&u.name);
                    upstream
                })
                .collect(),
            verifier,
            token_cache: TokenCache::default(),
            trusted_proxies: TrustedProxies::new(&config.trusted_proxies),
            max_uri_bytes: config.server.max_uri_bytes,
            max_header_bytes: config.server.limits.max_header_bytes,
            max_body_bytes: config.server.max_body_bytes,
            limiter,
            clock,
            metrics,
            decisions: Ring::default(),
            demo: config.demo,
            accept_incoming_trace: config.tracing.accept_incoming,
            otlp: otlp_exporter(config)?,
        })
    }

    /// How this request's token is checked: the verifier, its cache, and now.
    pub fn checker(&self) -> Checker<'_> {
        Checker {
            verifier: &self.verifier,
            cache: &self.token_cache,
            now: self.clock.unix_secs(),
        }
    }
}
