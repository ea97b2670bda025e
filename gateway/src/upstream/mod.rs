//! Upstreams: the backend services and how the gateway reaches them.
//!
//! Each upstream has several targets, and each target a [`pool`] of keep-alive connections
//! (opening a TCP connection per request would double the latency of every call). Choosing a
//! target and living with its failures is split by concern:
//!
//! - [`balancer`]: round robin or least outstanding requests, among the eligible targets;
//! - [`breaker`]: a circuit breaker per target (passive outlier detection), on the gateway's
//!   clock, which tests move by hand;
//! - [`probe`]: active health checks (`GET path` every `interval_ms`) and the readiness report
//!   built from them;
//! - [`retry`]: which requests may be retried, and the budget that keeps retries from
//!   multiplying load;
//! - [`call`]: one exchange with the upstream — lease a target, send, record the outcome,
//!   retry if allowed — used by the proxy and by aggregates alike;
//! - [`target`]: one target's address, parsed and checked once (the configuration's checks use
//!   it too);
//! - [`failure`]: why an exchange produced no response, in the upstream's own terms (the
//!   gateway's [`crate::error`] turns it into an answer).
//!
//! A target is *eligible* when its circuit admits requests and its last health check passed. If
//! no healthy target is left, health is ignored (Envoy's "panic mode": a health check that is
//! wrong everywhere must not take the whole upstream down); if every circuit is open, the answer
//! is 503 `circuit_open` at once.

pub mod balancer;
pub mod breaker;
pub mod call;
pub mod failure;
pub mod pool;
pub mod probe;
pub mod retry;
pub mod target;
pub mod tls;

pub use target::{MAX_TARGETS, Target};

use crate::{
    config::{HealthCheckConfig, UpstreamConfig},
    limits::LimitedBody,
    metrics::UpstreamMetrics,
};
use breaker::{Admission, Breaker};
use pool::ConnectionPool;
use shared::clock::SharedClock;
use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

/// The body type the gateway sends upstream: the client's body, counted against the limit.
pub type ProxyBody = LimitedBody<axum::body::Body>;

/// One target and what the gateway knows about it right now.
#[derive(Debug)]
pub struct TargetState {
    /// The address.
    pub target: Target,
    /// Its circuit breaker.
    pub breaker: Breaker,
    /// Requests sent and not yet answered (to the response head).
    pub outstanding: AtomicUsize,
    /// The last active health check passed (true until a check says otherwise).
    pub healthy: AtomicBool,
    /// Its keep-alive connections.
    pub pool: Arc<ConnectionPool>,
}

/// One upstream: its targets, their connections, its policies.
#[derive(Debug)]
pub struct Upstream {
    /// The configured name (access log, errors; shared with decision records).
    pub name: Arc<str>,
    targets: Vec<TargetState>,
    balancer: balancer::Balancer,
    /// From sending the request to the response head; past it → 504.
    pub request_timeout: Duration,
    /// Retry policy and budget.
    pub retry: retry::RetryPolicy,
    /// Active health checks, if configured.
    pub health_check: Option<HealthCheckConfig>,
    /// Its attempt, latency and retry metrics (nothing is counted until the gateway registers
    /// them).
    pub metrics: UpstreamMetrics,
    clock: SharedClock,
}

/// No target can take a request: every circuit is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllCircuitsOpen;

impl Upstream {
    /// Builds the upstream from its validated configuration; its breakers read `clock` (the
    /// gateway's one clock, which tests move by hand).
    pub fn new(config: &UpstreamConfig, clock: SharedClock) -> Upstream {
        let connect_timeout = Duration::from_millis(config.connect_timeout_ms);
        // One TLS client configuration for the upstream, made only when a target needs it.
        let mut tls_client = None;
        Upstream {
            name: config.name.as_str().into(),
            targets: config
                .targets
                .iter()
                .map(|t| {
                    let target = Target::parse(t).expect("validation checked every target URL");
                    let tls = target.https.then(|| {
                        let client = tls_client.get_or_insert_with(|| {
                            tls::client_config(config.tls.as_ref())
                                .expect("validation loaded the upstream's TLS files")
                        });
                        tls::connect_to(client, target.authority.host())
                            .expect("validation checked the target's host")
                    });
                    let pool = ConnectionPool::new(
                        target.authority.host(),
                        target.port(),
                        connect_timeout,
                    )
                    .with_tls(tls);
                    TargetState {
                        target,
                        breaker: Breaker::new(
                            config.breaker.consecutive_failures,
                            config.breaker.open_ms,
                        ),
                        outstanding: AtomicUsize::new(0),
                        healthy: AtomicBool::new(true),
                        pool: Arc::new(pool),
                    }
                })
                .collect(),
            balancer: balancer::Balancer::new(config.balance),
            request_timeout: Duration::from_millis(config.request_timeout_ms),
            retry: retry::RetryPolicy::new(&config.retry),
            health_check: config.health_check.clone(),
            metrics: UpstreamMetrics::default(),
            clock,
        }
    }

    /// All targets and their state.
    pub fn targets(&self) -> &[TargetState] {
        &self.targets
    }

    /// Milliseconds on the breakers' clock.
    pub fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// Takes a target for one request. Prefers healthy targets not in `excluded` (a bit per
    /// index: the targets that already failed this request), then relaxes health, then the
    /// exclusion. Fails only when every circuit is open.
    pub fn lease(&self, excluded: u64) -> Result<Lease<'_>, AllCircuitsOpen> {
        let now = self.clock.now_ms();
        let passes = [(true, true), (false, true), (true, false), (false, false)];
        let mut refused = 0u64;
        for (respect_health, respect_exclusion) in passes {
            if !respect_exclusion && excluded == 0 {
                break;
            }
            loop {
                let eligible = |i: usize| {
                    let t = &self.targets[i];
                    let bit = 1u64 << i;
                    refused & bit == 0
                        && (!respect_exclusion || excluded & bit == 0)
                        && (!respect_health || t.healthy.load(Ordering::Relaxed))
                        && t.breaker.would_admit(now)
                };
                let load = |i: usize| self.targets[i].outstanding.load(Ordering::Relaxed);
                let Some(i) = self.balancer.choose(self.targets.len(), eligible, load) else {
                    break;
                };
                let state = &self.targets[i];
                match state.breaker.admit(now) {
                    Some(admission) => {
                        state.outstanding.fetch_add(1, Ordering::Relaxed);
                        return Ok(Lease {
                            upstream: self,
                            index: i,
                            admission,
                            recorded: false,
                        });
                    }
                    // Another request just became this target's probe.
                    None => refused |= 1 << i,
                }
            }
        }
        Err(AllCircuitsOpen)
    }
}

/// One request's hold on a target: counts as outstanding until dropped, and carries the
/// breaker admission its outcome must be reported against.
#[derive(Debug)]
pub struct Lease<'a> {
    upstream: &'a Upstream,
    index: usize,
    admission: Admission,
    recorded: bool,
}

impl Lease<'_> {
    /// The chosen target.
    pub fn target(&self) -> &Target {
        &self.upstream.targets[self.index].target
    }

    /// The chosen target's connections.
    pub fn pool(&self) -> &Arc<ConnectionPool> {
        &self.upstream.targets[self.index].pool
    }

    /// Its index among the upstream's targets.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The target answered properly.
    pub fn succeeded(mut self) {
        self.upstream.targets[self.index]
            .breaker
            .succeeded(self.admission);
        self.recorded = true;
    }

    /// The target failed (connection, timeout, 502/503/504).
    pub fn failed(mut self) {
        let now = self.upstream.clock.now_ms();
        self.upstream.targets[self.index]
            .breaker
            .failed(self.admission, now);
        self.recorded = true;
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let state = &self.upstream.targets[self.index];
        state.outstanding.fetch_sub(1, Ordering::Relaxed);
        // A probe abandoned without an outcome (the client went away) must not leave the
        // circuit half-open for ever: count it as failed, so another probe comes later.
        if !self.recorded && self.admission == Admission::Probe {
            state
                .breaker
                .failed(self.admission, self.upstream.clock.now_ms());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{BreakerConfig, UpstreamConfig};
    use shared::clock::ManualClock;

    fn two_targets(clock: ManualClock) -> Upstream {
        let config = UpstreamConfig {
            breaker: BreakerConfig {
                consecutive_failures: 2,
                open_ms: 1_000,
            },
            ..UpstreamConfig::new("u", vec!["http://a:1".into(), "http://b:2".into()])
        };
        Upstream::new(&config, clock.shared())
    }

    fn pick(u: &Upstream) -> String {
        let lease = u.lease(0).unwrap();
        let name = lease.target().authority.to_string();
        lease.succeeded();
        name
    }

    #[test]
    fn targets_are_picked_round_robin() {
        let u = two_targets(ManualClock::new());
        let picked: Vec<String> = (0..4).map(|_| pick(&u)).collect();
        assert_eq!(picked, ["a:1", "b:2", "a:1", "b:2"]);
    }

    #[test]
    fn an_open_circuit_takes_its_target_out_until_the_probe_succeeds() {
        let clock = ManualClock::new();
        let u = two_targets(clock.clone());
        for _ in 0..2 {
            let lease = u.lease(0b10).unwrap();
            assert_eq!(lease.index(), 0);
            lease.failed();
        }
        assert!((0..4).all(|_| pick(&u) == "b:2"));
        clock.advance(Duration::from_millis(1_000));
        // The probe goes to `a` (round robin reaches it), then it is back in rotation.
        let picked: Vec<String> = (0..4).map(|_| pick(&u)).collect();
        assert!(picked.contains(&"a:1".to_owned()), "{picked:?}");
        assert_eq!(u.targets()[0].breaker.state(), breaker::State::Closed);
    }

    #[test]
    fn every_circuit_open_is_refused_and_an_excluded_target_is_a_last_resort() {
        let clock = ManualClock::new();
        let u = two_targets(clock.clone());
        assert_eq!(u.lease(0b01).unwrap().index(), 1);
        assert!(u.lease(0b11).is_ok(), "the exclusion is relaxed");
        for _ in 0..4 {
            u.lease(0).unwrap().failed();
        }
        assert_eq!(u.lease(0).unwrap_err(), AllCircuitsOpen);
    }

    #[test]
    fn unhealthy_targets_are_skipped_unless_none_is_healthy() {
        let u = two_targets(ManualClock::new());
        u.targets()[0].healthy.store(false, Ordering::Relaxed);
        assert!((0..4).all(|_| pick(&u) == "b:2"));
        u.targets()[1].healthy.store(false, Ordering::Relaxed);
        let picked: Vec<String> = (0..2).map(|_| pick(&u)).collect();
        assert_eq!(picked.len(), 2, "panic mode still serves");
    }

    #[test]
    fn an_abandoned_probe_reopens_the_circuit() {
        let clock = ManualClock::new();
        let u = two_targets(clock.clone());
        for _ in 0..2 {
            u.lease(0b10).unwrap().failed();
        }
        clock.advance(Duration::from_millis(1_000));
        let probe = u.lease(0b10).unwrap();
        assert_eq!(probe.index(), 0);
        drop(probe);
        assert_eq!(u.targets()[0].breaker.state(), breaker::State::Open);
        assert_eq!(u.targets()[0].outstanding.load(Ordering::Relaxed), 0);
    }
}
