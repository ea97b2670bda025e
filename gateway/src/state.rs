//! [`Gateway`]: everything a request needs, compiled once from the configuration.
//!
//! Shared read-only by all requests (behind an `Arc`): the route table, the aggregates, the
//! upstreams with their pools and breakers, the token verifier and its cache, the rate limiter,
//! the metrics and the ring of recent decisions, and the one clock all of them read. No locks on the hot path; the parts that change
//! (breakers, pools, counters) are atomics or short-lived mutexes inside their own types.
//!
//! A reload ([`crate::live`]) compiles a new `Gateway` with [`Gateway::reloaded`], which carries
//! over what must outlive one configuration: the upstreams whose configuration did not change
//! (their pools, breakers and health-check tasks), the rate limiter's counts, the token verifier
//! and its cache, the metrics' numbers and the ring of recent decisions.

use crate::{
    aggregate::table::Aggregates,
    auth::Checker,
    config::{Config, UpstreamConfig},
    console::feed::Feed,
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
    /// The upstreams, indexed by `Route::upstream`. Shared with their health-check tasks and,
    /// when unchanged, with the configurations loaded after this one.
    pub upstreams: Arc<[Arc<Upstream>]>,
    /// Token verification (static keys or a JWKS cache).
    pub verifier: Verifier,
    /// Claims of recently verified tokens.
    pub token_cache: Arc<TokenCache>,
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
    pub decisions: Arc<Ring>,
    /// Demo mode: a caller may read their own decision records on the public port.
    pub demo: bool,
    /// The console is served (`[console] enabled`, on in demo mode): `/console`, the caller's
    /// own decision records and the live feed on the public port.
    pub console: bool,
    /// The console's live feed of finished requests ([`crate::console::feed`]); shared across
    /// reloads, so open pages keep their streams.
    pub feed: Arc<Feed>,
    /// The configuration this was compiled from (the admin listener shows it, redacted; a
    /// reload compares against it).
    pub config: Arc<Config>,
    /// Which configuration this is, and since when.
    pub generation: Generation,
    /// Whether a client's `traceparent` is continued (`[tracing] accept_incoming`).
    pub accept_incoming_trace: bool,
    /// Where request spans go, when a collector is configured (`[tracing] otlp_endpoint`).
    pub otlp: Option<Arc<Exporter>>,
    /// `X-Served-By` on every answer (`[server] served_by`), made once here, not per request.
    pub served_by: Option<http::HeaderValue>,
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

/// Which loaded configuration a [`Gateway`] is: 1 at start, one more per applied reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation {
    /// 1, 2, 3, …
    pub version: u64,
    /// When it was loaded, in Unix seconds (the gateway's clock).
    pub loaded_at: u64,
}

/// What [`Gateway::reloaded`] keeps from the gateway it replaces.
struct Carried<'a> {
    previous: &'a Gateway,
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
        let metrics = Metrics::new(route_names(config), aggregate_names(config));
        let limiter = Limiter::new(config, Arc::clone(&clock))?;
        let generation = Generation {
            version: 1,
            loaded_at: clock.unix_secs(),
        };
        Ok(Self::compile(
            config,
            Parts {
                verifier,
                token_cache: Arc::default(),
                limiter,
                metrics,
                decisions: Arc::default(),
                feed: Arc::default(),
                generation,
                clock,
                otlp: otlp_exporter(config)?.map(Arc::new),
            },
            None,
        ))
    }

    /// The gateway of a reloaded `config`, keeping what `self` has learned and holds: the
    /// upstreams whose `[[upstreams]]` entry is unchanged (their connection pools, circuit
    /// breakers and health), the rate-limit counts, the metrics' numbers, the decision ring,
    /// and the token verifier with its cache — `[auth]` is read at start only
    /// ([`crate::live::needs_restart`] says so when it changed). Nothing in `self` changes: it
    /// goes on serving the requests that hold it.
    pub fn reloaded(&self, config: &Config) -> anyhow::Result<Gateway> {
        config.validate()?;
        let metrics = self
            .metrics
            .for_reload(route_names(config), aggregate_names(config));
        let limiter = self.limiter.reloaded(config)?;
        let generation = Generation {
            version: self.generation.version + 1,
            loaded_at: self.clock.unix_secs(),
        };
        Ok(Self::compile(
            config,
            Parts {
                verifier: self.verifier.clone(),
                token_cache: Arc::clone(&self.token_cache),
                limiter,
                metrics,
                decisions: Arc::clone(&self.decisions),
                feed: Arc::clone(&self.feed),
                generation,
                clock: Arc::clone(&self.clock),
                // The same collector keeps its exporter (and the spans it is batching).
                otlp: if config.tracing.otlp_endpoint == self.config.tracing.otlp_endpoint {
                    self.otlp.clone()
                } else {
                    otlp_exporter(config)?.map(Arc::new)
                },
            },
            Some(Carried { previous: self }),
        ))
    }

    /// Builds the gateway from `config` and its parts, reusing `carried`'s unchanged upstreams.
    fn compile(config: &Config, parts: Parts, carried: Option<Carried<'_>>) -> Gateway {
        let Parts {
            verifier,
            token_cache,
            mut limiter,
            metrics,
            decisions,
            feed,
            generation,
            clock,
            otlp,
        } = parts;
        limiter.register_metrics(&metrics);
        let upstreams = config
            .upstreams
            .iter()
            .map(|u| {
                let unchanged = carried.as_ref().and_then(|c| c.unchanged_upstream(u));
                unchanged.unwrap_or_else(|| {
                    let mut upstream = Upstream::new(u, Arc::clone(&clock));
                    upstream.metrics = metrics.upstream(&u.name);
                    Arc::new(upstream)
                })
            })
            .collect();
        Gateway {
            routes: RouteTable::compile(config),
            aggregates: Aggregates::compile(config),
            upstreams,
            verifier,
            token_cache,
            trusted_proxies: TrustedProxies::new(&config.trusted_proxies),
            max_uri_bytes: config.server.max_uri_bytes,
            max_header_bytes: config.server.limits.max_header_bytes,
            max_body_bytes: config.server.max_body_bytes,
            limiter,
            clock,
            metrics,
            decisions,
            demo: config.demo,
            console: config.console_enabled(),
            feed,
            config: Arc::new(config.clone()),
            generation,
            accept_incoming_trace: config.tracing.accept_incoming,
            otlp,
            // Validation refused a name that is not a header value.
            served_by: config
                .server
                .served_by
                .as_deref()
                .and_then(|name| http::HeaderValue::from_str(name).ok()),
        }
    }

    /// Whether a caller may read their own decision records on the public port
    /// (`/gateway/decisions/{id}`, named by `X-Gateway-Decision` on every answer): in demo mode,
    /// and wherever the console is served, since that is how it shows a student *why*.
    pub fn explains_to_callers(&self) -> bool {
        self.demo || self.console
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

/// What [`Gateway::compile`] assembles besides the configuration.
struct Parts {
    verifier: Verifier,
    token_cache: Arc<TokenCache>,
    limiter: Limiter,
    metrics: Metrics,
    decisions: Arc<Ring>,
    feed: Arc<Feed>,
    generation: Generation,
    clock: SharedClock,
    otlp: Option<Arc<Exporter>>,
}

impl Carried<'_> {
    /// The previous gateway's upstream of the same name, if its configuration is the same.
    fn unchanged_upstream(&self, config: &UpstreamConfig) -> Option<Arc<Upstream>> {
        let previous = self.previous;
        let index = previous
            .config
            .upstreams
            .iter()
            .position(|old| old == config)?;
        previous.upstreams.get(index).cloned()
    }
}

fn route_names(config: &Config) -> impl Iterator<Item = &str> {
    config
        .routes
        .iter()
        .map(|r| r.name.as_str())
        .chain(config.aggregates.iter().map(|a| a.name.as_str()))
}

fn aggregate_names(config: &Config) -> impl Iterator<Item = &str> {
    config.aggregates.iter().map(|a| a.name.as_str())
}
