//! Rate limiting and quotas: how many requests a user, an address, a route or a login account
//! may make, on one gateway or on many.
//!
//! Policies are named in the configuration (`[[rate_limits]]`, `[[quotas]]`) and attached to
//! routes by name (`rate_limits = ["per-user", "daily"]`). Every attached policy is checked, in
//! the order listed; the first that refuses answers 429 `rate_limited` with `Retry-After`. Every
//! response of a limited route — successes too — carries the IETF `RateLimit-Policy` and
//! `RateLimit` headers ([`headers`]), so well-behaved clients can slow down before they are
//! refused.
//!
//! # Layout
//!
//! - [`gcra`]: the algorithm, pure arithmetic (one number per key, no fixed window), on the
//!   gateway's clock (injectable: tests move time by hand).
//! - [`policy`]: one policy, compiled from the configuration.
//! - [`local`]: the in-process backend, a sharded bounded map (exact on one replica).
//! - [`redis`]: the Redis backend, one Lua script per check using Redis's own clock (exact
//!   across replicas); fail open or closed when Redis does not answer.
//! - [`key`]: what a policy counts by — user, client IP (trusted proxies only), route, and the
//!   login account read from a small body — and how it becomes a key.
//! - [`headers`]: `RateLimit-Policy` / `RateLimit` / `Retry-After`.
//! - [`status`]: the counters (Redis failures, fail-open/closed, 429s) that `GET /ratelimitz`
//!   shows.
//! - this file: the compiled policies ([`Limiter`]) and [`Limiter::admit`], the pipeline step.
//!
//! In the request's path, [`Limiter::admit`] runs after authorization (the user is known, and a
//! request that would be refused anyway spends nothing) and before the proxy.

pub mod gcra;
pub mod headers;
pub mod key;
pub mod local;
pub mod policy;
pub mod redis;
pub mod status;

use crate::{
    config::{Backend, Config, KeyPart, OnRedisError, RedisConfig},
    error::GatewayError,
    forwarded::{Peer, TrustedProxies},
    metrics::{Metrics, RateDecision},
};
use axum::body::Body;
use gcra::Outcome;
use http::{HeaderMap, request::Parts};
use policy::Policy;
use secrecy::ExposeSecret;
use shared::{Claims, clock::SharedClock};
use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

/// Most keys the in-process backend remembers (about 100 bytes each).
pub const MAX_LOCAL_KEYS: usize = 100_000;

/// Counters of what the limiter did when Redis failed (shown by `GET /ratelimitz`).
#[derive(Debug, Default)]
pub struct Stats {
    /// Requests let through because Redis failed and the policy fails open.
    pub failed_open: AtomicU64,
    /// Requests refused (503) because Redis failed and the policy fails closed.
    pub failed_closed: AtomicU64,
    /// Requests refused with 429.
    pub limited: AtomicU64,
}

/// Every policy, compiled, with the stores they use.
#[derive(Debug)]
pub struct Limiter {
    policies: Vec<Policy>,
    by_name: HashMap<Box<str>, usize>,
    /// Policies attached to each route and aggregate, by name.
    routes: HashMap<Box<str>, Vec<usize>>,
    // The stores and counters are shared (`Arc`) so that a reloaded configuration keeps them:
    // a client halfway through its allowance stays there ([`Limiter::reloaded`]).
    local: Arc<local::LocalStore>,
    redis: Option<(Arc<redis::RedisStore>, RedisConfig)>,
    /// What happened when Redis failed.
    pub stats: Arc<Stats>,
}

impl Limiter {
    /// Compiles the validated configuration's policies, with `clock` for the local backend.
    pub fn new(config: &Config, clock: SharedClock) -> anyhow::Result<Limiter> {
        let redis = match &config.redis {
            Some(redis) => Some((Arc::new(redis::RedisStore::new(redis)?), redis.clone())),
            None => None,
        };
        let local = Arc::new(local::LocalStore::new(MAX_LOCAL_KEYS, clock));
        Ok(Self::compile(config, local, redis, Arc::default()))
    }

    /// The limiter of a reloaded `config`, keeping `self`'s counts: the local store (every key's
    /// place in its bucket), the Redis connection when `[redis]` did not change, and the
    /// counters `/ratelimitz` shows. A policy that kept its name keeps its keys; if its rate
    /// changed, the GCRA reads the old arrival time under the new rate, which is exactly "the
    /// new limit, counted from what this client already used".
    pub fn reloaded(&self, config: &Config) -> anyhow::Result<Limiter> {
        let redis = match (&config.redis, &self.redis) {
            (None, _) => None,
            (Some(new), Some((store, old))) if same_redis(new, old) => {
                Some((Arc::clone(store), old.clone()))
            }
            (Some(new), _) => Some((Arc::new(redis::RedisStore::new(new)?), new.clone())),
        };
        Ok(Self::compile(
            config,
            Arc::clone(&self.local),
            redis,
            Arc::clone(&self.stats),
        ))
    }

    fn compile(
        config: &Config,
        local: Arc<local::LocalStore>,
        redis: Option<(Arc<redis::RedisStore>, RedisConfig)>,
        stats: Arc<Stats>,
    ) -> Limiter {
        let policies: Vec<Policy> = config
            .rate_limits
            .iter()
            .map(Policy::new)
            .chain(
                config
                    .quotas
                    .iter()
                    .map(|q| Policy::new(&q.as_rate_limit())),
            )
            .collect();
        let by_name: HashMap<Box<str>, usize> = policies
            .iter()
            .enumerate()
            .map(|(i, p)| (p.name.clone(), i))
            .collect();
        let mut limiter = Limiter {
            routes: HashMap::new(),
            local,
            redis,
            stats,
            policies,
            by_name,
        };
        let attachments = config
            .routes
            .iter()
            .map(|r| (&r.name, &r.rate_limits))
            .chain(config.aggregates.iter().map(|a| (&a.name, &a.rate_limits)));
        for (name, policies) in attachments {
            let attached = limiter.resolve(policies);
            if !attached.is_empty() {
                limiter.routes.insert(name.as_str().into(), attached);
            }
        }
        limiter
    }

    /// The indices of the named policies (names were validated; unknown ones are skipped).
    /// Public so that other pipelines (aggregates) can attach policies the same way.
    pub fn resolve(&self, names: &[String]) -> Vec<usize> {
        names
            .iter()
            .filter_map(|n| self.by_name.get(n.as_str()).copied())
            .collect()
    }

    /// Gives every policy its decision counters (`gateway_ratelimit_decisions_total`).
    pub fn register_metrics(&mut self, metrics: &Metrics) {
        for policy in &mut self.policies {
            policy.metrics = metrics.policy(&policy.name);
        }
    }

    /// The names of the policies attached to `route`, in the order they are checked.
    pub fn policy_names(&self, route: &str) -> Vec<&str> {
        self.for_route(route)
            .iter()
            .map(|&i| &*self.policies[i].name)
            .collect()
    }

    /// The policies attached to a route (empty: the route is not limited).
    pub fn for_route(&self, route: &str) -> &[usize] {
        self.routes.get(route).map_or(&[], Vec::as_slice)
    }

    /// True when one of `attached` counts by login account (the body must be read).
    pub fn needs_account(&self, attached: &[usize]) -> bool {
        attached
            .iter()
            .any(|&i| self.policies[i].key.contains(&KeyPart::Account))
    }

    /// Redis failures so far (0 without Redis).
    pub fn redis_errors(&self) -> u64 {
        self.redis
            .as_ref()
            .map_or(0, |(r, _)| r.errors.load(Ordering::Relaxed))
    }

    /// True when a `[redis]` section is configured.
    pub fn has_redis(&self) -> bool {
        self.redis.is_some()
    }

    /// Refills every local policy's allowance for every key (the demo's reset) and returns how
    /// many keys were held. Policies kept in Redis are shared with other replicas and left alone.
    pub fn reset_local(&self) -> usize {
        self.local.clear()
    }

    /// Keys held by the local backend.
    pub fn local_keys(&self) -> usize {
        self.local.len()
    }

    /// Checks `attached` policies for `subject`, in order. `Ok` carries the outcomes for the
    /// response headers; the first refusal is 429, a Redis failure on a fail-closed policy 503.
    pub async fn check(
        &self,
        attached: &[usize],
        subject: &key::Subject<'_>,
    ) -> Result<Verdict<'_>, GatewayError> {
        let mut verdict = Verdict {
            policies: Vec::with_capacity(attached.len()),
        };
        for &index in attached {
            let policy = &self.policies[index];
            // A policy counting by account on a request that names none (no body, other
            // fields) has nothing to count: the route's per-IP policy still applies.
            let Some(key) = subject.key(policy) else {
                continue;
            };
            let outcome = match (policy.backend, &self.redis) {
                (Backend::Local, _) | (Backend::Redis, None) => {
                    Some(self.local.check(&policy.gcra, &key))
                }
                (Backend::Redis, Some((redis, _))) => match redis.check(&policy.gcra, &key).await {
                    Ok(outcome) => Some(outcome),
                    Err(_) => match policy.on_redis_error {
                        OnRedisError::Open => {
                            self.stats.failed_open.fetch_add(1, Ordering::Relaxed);
                            policy.metrics.decided(RateDecision::FailedOpen);
                            None
                        }
                        OnRedisError::Closed => {
                            self.stats.failed_closed.fetch_add(1, Ordering::Relaxed);
                            policy.metrics.decided(RateDecision::FailedClosed);
                            return Err(GatewayError::RateLimiterUnavailable {
                                policy: policy.name.clone(),
                            });
                        }
                    },
                },
            };
            verdict.policies.push((policy, outcome));
            if let Some(outcome) = outcome {
                let decision = if outcome.allowed {
                    RateDecision::Allowed
                } else {
                    RateDecision::Limited
                };
                policy.metrics.decided(decision);
            }
            if let Some(outcome) = outcome
                && !outcome.allowed
            {
                self.stats.limited.fetch_add(1, Ordering::Relaxed);
                let mut headers = HeaderMap::new();
                verdict.annotate(&mut headers);
                return Err(GatewayError::RateLimited(Box::new(headers::Refusal {
                    policy: policy.name.clone(),
                    retry_after_secs: gcra::ceil_secs(outcome.retry_after).max(1),
                    headers,
                })));
            }
        }
        Ok(verdict)
    }
}

/// The outcomes of a request's checks, for its response headers. A policy that failed open
/// has no outcome: it is announced in `RateLimit-Policy` but reports no `RateLimit` item.
#[derive(Debug, Default)]
pub struct Verdict<'l> {
    policies: Vec<(&'l Policy, Option<Outcome>)>,
}

impl Verdict<'_> {
    /// The policies checked, by name, each with `true` when it was counted and `false` when it
    /// failed open.
    pub fn policies(&self) -> impl Iterator<Item = (&str, bool)> {
        self.policies
            .iter()
            .map(|(policy, outcome)| (&*policy.name, outcome.is_some()))
    }

    /// Adds `RateLimit-Policy` and `RateLimit` (nothing when the route is not limited).
    pub fn annotate(&self, headers: &mut HeaderMap) {
        headers::annotate(&self.policies, headers);
    }
}

/// Who is asking, as the limiter needs to know it: the connection's peer, which proxies are
/// trusted to say who is behind them, and the verified caller.
#[derive(Clone, Copy)]
pub struct Asker<'a> {
    /// The client end of the connection.
    pub peer: &'a Peer,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: &'a TrustedProxies,
    /// The verified claims, if any.
    pub claims: Option<&'a Claims>,
}

impl Limiter {
    /// The pipeline step: checks the policies attached to `route` for this request. When a
    /// policy counts by login account, reads the (small) body to find it and hands back the same
    /// bytes to forward.
    pub async fn admit(
        &self,
        route: &str,
        parts: &Parts,
        asker: Asker<'_>,
        body: Body,
    ) -> Result<(Body, Verdict<'_>), GatewayError> {
        let attached = self.for_route(route);
        if attached.is_empty() {
            return Ok((body, Verdict::default()));
        }
        let (body, account) = if self.needs_account(attached) {
            key::read_account(parts, body).await?
        } else {
            (body, None)
        };
        let subject = key::Subject {
            user: asker.claims.map(|c| c.sub.as_str()),
            ip: key::client_ip(asker.peer, &parts.headers, asker.trusted_proxies),
            route,
            account: account.as_deref(),
        };
        let verdict = self.check(attached, &subject).await?;
        Ok((body, verdict))
    }
}

/// The same Redis server, timeout and key prefix (the URL may hold a password: compared, never
/// shown).
fn same_redis(a: &RedisConfig, b: &RedisConfig) -> bool {
    a.url.expose_secret() == b.url.expose_secret()
        && a.timeout_ms == b.timeout_ms
        && a.key_prefix == b.key_prefix
}
