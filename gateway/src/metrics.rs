//! The gateway's metrics, in Prometheus's text format (`GET /metrics` on the admin listener).
//!
//! A leaf: the metric names, their help texts, and handles the steps increment. The numbers live
//! in a [`PrometheusRecorder`] owned by the gateway (state, not a static: two gateways in one
//! test process keep their own counts), and the admin listener renders them.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `gateway_requests_total` | counter | `route`, `method`, `status_class`, `reason` |
//! | `gateway_request_duration_seconds` | histogram | `route` |
//! | `gateway_upstream_requests_total` | counter | `upstream`, `outcome` |
//! | `gateway_upstream_request_duration_seconds` | histogram | `upstream` |
//! | `gateway_upstream_retries_total` | counter | `upstream` |
//! | `gateway_upstream_target_healthy` | gauge | `upstream`, `target` |
//! | `gateway_upstream_circuit_state` | gauge | `upstream`, `target` (0 closed, 1 half-open, 2 open) |
//! | `gateway_ratelimit_decisions_total` | counter | `policy`, `decision` |
//! | `gateway_token_cache_lookups_total` | counter | `result` (`hit`, `miss`) |
//! | `gateway_aggregate_responses_total` | counter | `aggregate`, `outcome` (`complete`, `partial`) |
//! | `gateway_connections_open` | gauge | |
//! | `gateway_jwks_fetches_total` | counter | `outcome` (`ok`, `failed`) |
//! | `gateway_jwks_keys` | gauge | |
//! | `gateway_config_reloads_total` | counter | `outcome` (`applied`, `rejected`) |
//! | `gateway_config_version` | gauge | |
//!
//! **Label values are bounded**: route, upstream, policy and aggregate names come from the
//! configuration, methods outside the standard nine are `OTHER`, statuses are classes, reasons
//! are the gateway's stable codes. Never a raw path, a user id or a client-chosen string: each
//! distinct label value is a new time series kept for the life of the process.
//!
//! **Cheap on the hot path**: every handle a request touches is registered once — at start for
//! upstreams and policies, at the first request of a (route, method, class, reason) — and then
//! found by a short scan under a read lock; incrementing is one atomic add. A histogram sample
//! is the dearest part (the exporter reads a clock and pushes the sample into a lock-free
//! bucket, folded into the histogram when it renders or runs its upkeep; measured in
//! docs/performance.md).
//! Health and circuit gauges are not recorded per request at all: they are read from the
//! upstreams when `/metrics` is rendered.
//!
//! **A reload keeps the counts**: the numbers live in a [`Registry`] that every configuration
//! the gateway loads shares ([`Metrics::for_reload`]); only the handles are made anew, and a
//! handle registered under a name and labels already known counts on the same number. Prometheus
//! sees no counter reset when the configuration changes.

use http::{Method, StatusCode};
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Label, Metadata, Recorder, SharedString};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
pub use shared::metric_labels::{class_label, method_label};
use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::Duration,
};

/// Requests answered, by route, method, status class and reason.
pub const REQUESTS: &str = "gateway_requests_total";
/// Time from the request's arrival to its response head, by route.
pub const REQUEST_DURATION: &str = "gateway_request_duration_seconds";
/// Upstream exchanges (each attempt), by upstream and outcome.
pub const UPSTREAM_REQUESTS: &str = "gateway_upstream_requests_total";
/// One attempt's time to the response head, by upstream.
pub const UPSTREAM_DURATION: &str = "gateway_upstream_request_duration_seconds";
/// Retries sent, by upstream.
pub const UPSTREAM_RETRIES: &str = "gateway_upstream_retries_total";
/// 1 when a target passes its health check (or accepts a connection), else 0.
pub const TARGET_HEALTHY: &str = "gateway_upstream_target_healthy";
/// A target's circuit: 0 closed, 1 half-open, 2 open.
pub const CIRCUIT_STATE: &str = "gateway_upstream_circuit_state";
/// Rate-limit checks, by policy and decision.
pub const RATELIMIT_DECISIONS: &str = "gateway_ratelimit_decisions_total";
/// Verified-token cache lookups, by result.
pub const TOKEN_CACHE_LOOKUPS: &str = "gateway_token_cache_lookups_total";
/// Aggregate answers, by aggregate and outcome.
pub const AGGREGATE_RESPONSES: &str = "gateway_aggregate_responses_total";
/// Client connections open now.
pub const CONNECTIONS_OPEN: &str = "gateway_connections_open";
/// JWKS fetches by the token verifier, by outcome (`ok`, `failed`); only with `jwks_url`.
pub const JWKS_FETCHES: &str = "gateway_jwks_fetches_total";
/// Verification keys in use (static and fetched); only with `jwks_url`.
pub const JWKS_KEYS: &str = "gateway_jwks_keys";
/// Configuration reloads, by outcome (`applied`, `rejected`).
pub const CONFIG_RELOADS: &str = "gateway_config_reloads_total";
/// The version of the configuration in use: 1 at start, one more per applied reload.
pub const CONFIG_VERSION: &str = "gateway_config_version";

/// Histogram buckets, in seconds: from a cached-token proxy hop (~1 ms) to a slow upstream.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));

/// The route label of a request that matched no route.
pub const NO_ROUTE: &str = "(none)";

/// Where the numbers live: one per gateway process, shared by every configuration it loads.
pub struct Registry {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

impl Registry {
    /// An empty registry with the help texts.
    fn new() -> Registry {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&BUCKETS)
            .expect("the bucket list is not empty")
            .build_recorder();
        describe(&recorder);
        let handle = recorder.handle();
        Registry { recorder, handle }
    }
}

/// The gateway's metrics: the registry and the handles of one configuration's routes.
pub struct Metrics {
    registry: Arc<Registry>,
    routes: HashMap<Box<str>, RouteMetrics, foldhash::fast::RandomState>,
    aggregates: HashMap<Box<str>, [Counter; 2], foldhash::fast::RandomState>,
    /// Token cache lookups that missed and hit.
    token_cache: [Counter; 2],
    /// Client connections open now.
    pub connections_open: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("routes", &self.routes.len())
            .finish_non_exhaustive()
    }
}

/// One route's (or aggregate's) request metrics.
struct RouteMetrics {
    name: SharedString,
    duration: Histogram,
    /// One counter per (method, status class, reason) seen so far: a handful per route.
    requests: RwLock<Vec<(&'static str, u16, &'static str, Counter)>>,
}

impl Metrics {
    /// A recorder with the help texts, and handles for `routes` (route and aggregate names)
    /// and `aggregates`.
    pub fn new<'a>(
        routes: impl IntoIterator<Item = &'a str>,
        aggregates: impl IntoIterator<Item = &'a str>,
    ) -> Metrics {
        Self::on(Arc::new(Registry::new()), routes, aggregates)
    }

    /// Handles for a reloaded configuration's `routes` and `aggregates`, counting on the same
    /// numbers as `self` (a route kept by the reload keeps its counts).
    pub fn for_reload<'a>(
        &self,
        routes: impl IntoIterator<Item = &'a str>,
        aggregates: impl IntoIterator<Item = &'a str>,
    ) -> Metrics {
        Self::on(Arc::clone(&self.registry), routes, aggregates)
    }

    fn on<'a>(
        registry: Arc<Registry>,
        routes: impl IntoIterator<Item = &'a str>,
        aggregates: impl IntoIterator<Item = &'a str>,
    ) -> Metrics {
        let recorder = &registry.recorder;
        let mut metrics = Metrics {
            connections_open: recorder.register_gauge(&Key::from_name(CONNECTIONS_OPEN), &METADATA),
            token_cache: ["miss", "hit"].map(|result| {
                let labels = vec![Label::from_static_parts("result", result)];
                recorder.register_counter(&Key::from_parts(TOKEN_CACHE_LOOKUPS, labels), &METADATA)
            }),
            routes: HashMap::default(),
            aggregates: HashMap::default(),
            registry,
        };
        for route in routes.into_iter().chain([NO_ROUTE]) {
            let name = SharedString::from_owned(route.to_owned());
            let duration = metrics.histogram(REQUEST_DURATION, vec![label("route", &name)]);
            let route_metrics = RouteMetrics {
                name,
                duration,
                requests: RwLock::new(Vec::new()),
            };
            metrics.routes.insert(route.into(), route_metrics);
        }
        for aggregate in aggregates {
            let counter = |outcome: &'static str| {
                metrics.counter(
                    AGGREGATE_RESPONSES,
                    vec![
                        Label::new("aggregate", aggregate.to_owned()),
                        Label::from_static_parts("outcome", outcome),
                    ],
                )
            };
            let counters = [counter("complete"), counter("partial")];
            metrics.aggregates.insert(aggregate.into(), counters);
        }
        metrics
    }

    /// Records one answered request. `route` is the route's or aggregate's name (`None`: no
    /// route matched), `reason` the gateway's reason when it answered itself.
    pub fn request(
        &self,
        route: Option<&str>,
        method: &Method,
        status: StatusCode,
        reason: Option<&'static str>,
        elapsed: Duration,
    ) {
        let Some(route) = self.routes.get(route.unwrap_or(NO_ROUTE)) else {
            return;
        };
        route.duration.record(elapsed.as_secs_f64());
        let method = method_label(method);
        let class = status.as_u16() / 100;
        let reason = reason.unwrap_or("none");
        let found = |counters: &[(&str, u16, &str, Counter)]| {
            counters
                .iter()
                .find(|(m, c, r, _)| *m == method && *c == class && *r == reason)
                .map(|(.., counter)| counter.increment(1))
                .is_some()
        };
        if found(&route.requests.read().unwrap_or_else(|e| e.into_inner())) {
            return;
        }
        let mut counters = route.requests.write().unwrap_or_else(|e| e.into_inner());
        if found(&counters) {
            return;
        }
        let counter = self.counter(
            REQUESTS,
            vec![
                label("route", &route.name),
                Label::from_static_parts("method", method),
                Label::from_static_parts("status_class", class_label(class)),
                Label::from_static_parts("reason", reason),
            ],
        );
        counter.increment(1);
        counters.push((method, class, reason, counter));
    }

    /// Counts a verified token: from the cache (`hit`) or verified now (`miss`).
    pub fn token_cache_lookup(&self, hit: bool) {
        self.token_cache[usize::from(hit)].increment(1);
    }

    /// Counts an aggregate's answer, complete or partial.
    pub fn aggregate(&self, aggregate: &str, partial: bool) {
        if let Some(counters) = self.aggregates.get(aggregate) {
            counters[usize::from(partial)].increment(1);
        }
    }

    /// The handles of one upstream's exchanges.
    pub fn upstream(&self, upstream: &str) -> UpstreamMetrics {
        let name = || Label::new("upstream", upstream.to_owned());
        let outcome = |outcome: &'static str| {
            self.counter(
                UPSTREAM_REQUESTS,
                vec![name(), Label::from_static_parts("outcome", outcome)],
            )
        };
        UpstreamMetrics {
            outcomes: UpstreamOutcome::ALL.map(|o| outcome(o.as_str())),
            duration: self.histogram(UPSTREAM_DURATION, vec![name()]),
            retries: self.counter(UPSTREAM_RETRIES, vec![name()]),
        }
    }

    /// The handles of one rate-limit policy's decisions.
    pub fn policy(&self, policy: &str) -> PolicyMetrics {
        PolicyMetrics {
            decisions: RateDecision::ALL.map(|d| {
                self.counter(
                    RATELIMIT_DECISIONS,
                    vec![
                        Label::new("policy", policy.to_owned()),
                        Label::from_static_parts("decision", d.as_str()),
                    ],
                )
            }),
        }
    }

    /// Counts a configuration reload, applied or rejected, and sets the version in use.
    pub fn config_reload(&self, applied: bool, version: u64) {
        let outcome = if applied { "applied" } else { "rejected" };
        self.counter(
            CONFIG_RELOADS,
            vec![Label::from_static_parts("outcome", outcome)],
        )
        .increment(1);
        self.set_gauge(CONFIG_VERSION, Vec::new(), version as f64);
    }

    /// Copies the verifier's JWKS counts in (read at render time: the verifier counts them).
    pub fn set_jwks(&self, stats: shared::key_source::JwksStats) {
        for (outcome, value) in [("ok", stats.fetched), ("failed", stats.failed)] {
            self.counter(
                JWKS_FETCHES,
                vec![Label::from_static_parts("outcome", outcome)],
            )
            .absolute(value);
        }
        self.set_gauge(JWKS_KEYS, Vec::new(), stats.keys as f64);
    }

    /// Sets a gauge read at render time (health, circuits).
    pub fn set_gauge(&self, name: &'static str, labels: Vec<Label>, value: f64) {
        self.registry
            .recorder
            .register_gauge(&Key::from_parts(name, labels), &METADATA)
            .set(value);
    }

    /// Everything, in the Prometheus text format.
    pub fn render(&self) -> String {
        self.registry.handle.render()
    }

    /// Folds recorded histogram samples into their buckets (run every few seconds, so samples
    /// do not pile up between two scrapes).
    pub fn run_upkeep(&self) {
        self.registry.handle.run_upkeep();
    }

    fn counter(&self, name: &'static str, labels: Vec<Label>) -> Counter {
        self.registry
            .recorder
            .register_counter(&Key::from_parts(name, labels), &METADATA)
    }

    fn histogram(&self, name: &'static str, labels: Vec<Label>) -> Histogram {
        self.registry
            .recorder
            .register_histogram(&Key::from_parts(name, labels), &METADATA)
    }
}

/// What became of one upstream attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamOutcome {
    /// An answer, by status class.
    Status(u16),
    /// No response head within the timeout.
    Timeout,
    /// Connecting failed or the exchange broke.
    Unavailable,
    /// Every target's circuit was open: nothing was sent.
    CircuitOpen,
}

impl UpstreamOutcome {
    const ALL: [UpstreamOutcome; 8] = [
        UpstreamOutcome::Status(1),
        UpstreamOutcome::Status(2),
        UpstreamOutcome::Status(3),
        UpstreamOutcome::Status(4),
        UpstreamOutcome::Status(5),
        UpstreamOutcome::Timeout,
        UpstreamOutcome::Unavailable,
        UpstreamOutcome::CircuitOpen,
    ];

    /// The label value (`2xx`, `timeout`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            UpstreamOutcome::Status(class) => class_label(class),
            UpstreamOutcome::Timeout => "timeout",
            UpstreamOutcome::Unavailable => "unavailable",
            UpstreamOutcome::CircuitOpen => "circuit_open",
        }
    }

    fn index(self) -> usize {
        match self {
            UpstreamOutcome::Status(class) => usize::from(class.clamp(1, 5)) - 1,
            UpstreamOutcome::Timeout => 5,
            UpstreamOutcome::Unavailable => 6,
            UpstreamOutcome::CircuitOpen => 7,
        }
    }
}

/// One upstream's handles; a default one (before the gateway registers it) records nothing.
#[derive(Debug)]
pub struct UpstreamMetrics {
    outcomes: [Counter; 8],
    duration: Histogram,
    retries: Counter,
}

impl Default for UpstreamMetrics {
    fn default() -> Self {
        UpstreamMetrics {
            outcomes: std::array::from_fn(|_| Counter::noop()),
            duration: Histogram::noop(),
            retries: Counter::noop(),
        }
    }
}

impl UpstreamMetrics {
    /// Records one attempt (an open circuit sends nothing, so it has no duration).
    pub fn attempt(&self, outcome: UpstreamOutcome, elapsed: Option<Duration>) {
        self.outcomes[outcome.index()].increment(1);
        if let Some(elapsed) = elapsed {
            self.duration.record(elapsed.as_secs_f64());
        }
    }

    /// Counts a retry.
    pub fn retry(&self) {
        self.retries.increment(1);
    }
}

/// What a rate-limit policy decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    /// Within the limit.
    Allowed,
    /// Refused with 429.
    Limited,
    /// Redis failed and the policy let the request through.
    FailedOpen,
    /// Redis failed and the policy refused the request (503).
    FailedClosed,
}

impl RateDecision {
    const ALL: [RateDecision; 4] = [
        RateDecision::Allowed,
        RateDecision::Limited,
        RateDecision::FailedOpen,
        RateDecision::FailedClosed,
    ];

    /// The label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            RateDecision::Allowed => "allowed",
            RateDecision::Limited => "limited",
            RateDecision::FailedOpen => "failed_open",
            RateDecision::FailedClosed => "failed_closed",
        }
    }
}

/// One policy's handles; a default one records nothing.
#[derive(Debug)]
pub struct PolicyMetrics {
    decisions: [Counter; 4],
}

impl Default for PolicyMetrics {
    fn default() -> Self {
        PolicyMetrics {
            decisions: std::array::from_fn(|_| Counter::noop()),
        }
    }
}

impl PolicyMetrics {
    /// Counts one decision.
    pub fn decided(&self, decision: RateDecision) {
        self.decisions[decision as usize].increment(1);
    }
}

/// A `metrics` label from a shared name (a clone is a reference count).
fn label(key: &'static str, value: &SharedString) -> Label {
    Label::new(key, value.clone())
}

/// The `# HELP` line of every metric (and its unit, where it has one).
fn describe(recorder: &PrometheusRecorder) {
    use metrics::Unit;
    enum Kind {
        Counter,
        Gauge,
        Histogram,
    }
    #[rustfmt::skip]
    let help = [
        (Kind::Counter, REQUESTS, "Requests answered, by route, method, status class and reason."),
        (Kind::Histogram, REQUEST_DURATION, "Time from a request's arrival to its response head, by route."),
        (Kind::Counter, UPSTREAM_REQUESTS, "Upstream attempts, by upstream and outcome."),
        (Kind::Histogram, UPSTREAM_DURATION, "One upstream attempt's time to the response head, by upstream."),
        (Kind::Counter, UPSTREAM_RETRIES, "Retries sent, by upstream."),
        (Kind::Gauge, TARGET_HEALTHY, "1 when the target is healthy (health check, or a TCP connect without one)."),
        (Kind::Gauge, CIRCUIT_STATE, "The target's circuit breaker: 0 closed, 1 half-open, 2 open."),
        (Kind::Counter, RATELIMIT_DECISIONS, "Rate-limit checks, by policy and decision."),
        (Kind::Counter, TOKEN_CACHE_LOOKUPS, "Verified-token cache lookups, by result."),
        (Kind::Counter, AGGREGATE_RESPONSES, "Aggregate answers, complete or partial."),
        (Kind::Gauge, CONNECTIONS_OPEN, "Client connections open now."),
        (Kind::Counter, JWKS_FETCHES, "JWKS fetches by the token verifier, by outcome."),
        (Kind::Gauge, JWKS_KEYS, "Verification keys in use (static and fetched from the JWKS)."),
        (Kind::Counter, CONFIG_RELOADS, "Configuration reloads, applied or rejected."),
        (Kind::Gauge, CONFIG_VERSION, "The configuration in use: 1 at start, one more per applied reload."),
    ];
    for (kind, name, text) in help {
        let key = KeyName::from_const_str(name);
        let text = SharedString::const_str(text);
        match kind {
            Kind::Counter => recorder.describe_counter(key, None, text),
            Kind::Gauge => recorder.describe_gauge(key, None, text),
            Kind::Histogram => recorder.describe_histogram(key, Some(Unit::Seconds), text),
        }
    }
}

/// Counts a connection as open until it is dropped.
#[derive(Debug)]
pub struct OpenConnection(Gauge);

impl OpenConnection {
    /// Counts one more open connection on `gauge`.
    pub fn new(gauge: &Gauge) -> OpenConnection {
        gauge.increment(1.0);
        OpenConnection(gauge.clone())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}
