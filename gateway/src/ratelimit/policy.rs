//! One rate-limit policy, compiled: its GCRA parameters, what it counts by and where.
//!
//! A leaf of the rate limiter: the headers ([`super::headers`]), the keys ([`super::key`]) and
//! the limiter itself all read it, and it reads only the configuration.

use super::gcra::Gcra;
use crate::{
    config::{Backend, KeyPart, OnRedisError, RateLimitConfig},
    metrics::PolicyMetrics,
};

/// One compiled policy.
#[derive(Debug)]
pub struct Policy {
    /// Its name (headers, keys, messages).
    pub name: Box<str>,
    /// The limit in GCRA form.
    pub gcra: Gcra,
    /// Requests per window, and the window in seconds, as advertised in `RateLimit-Policy`.
    pub quota: u64,
    /// The window in seconds.
    pub window_secs: u64,
    /// What it counts by.
    pub key: Vec<KeyPart>,
    /// Where its counters live.
    pub backend: Backend,
    /// What happens when Redis fails.
    pub on_redis_error: OnRedisError,
    /// Its decision counters (nothing is counted until the gateway registers them).
    pub metrics: PolicyMetrics,
}

impl Policy {
    /// Compiles one `[[rate_limits]]` entry (quotas are turned into one first).
    pub fn new(config: &RateLimitConfig) -> Policy {
        Policy {
            name: config.name.as_str().into(),
            gcra: Gcra::new(config.rate, config.period_secs(), config.burst()),
            quota: config.rate,
            window_secs: config.period_secs(),
            key: config.key.clone(),
            backend: config.backend,
            on_redis_error: config.on_redis_error,
            metrics: PolicyMetrics::default(),
        }
    }
}
