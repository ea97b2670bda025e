//! Throttling repeated failed logins on one account, with exponential back-off.
//!
//! Without it, an attacker can try a password list against one account as fast as the server
//! hashes. With it: after `max_failures` consecutive failures the account is locked for
//! `base_lock_secs`; every further failure doubles the lock (capped at `max_lock_secs`). A success
//! clears the record; failures are forgotten `window_secs` after the last one.
//!
//! The key is the e-mail as typed (normalised), whether or not the account exists, so the throttle
//! cannot be used to discover which e-mails are registered. While locked, the password is not even
//! checked: the answer is 429 with `Retry-After`.
//!
//! The records are in this process's memory: enough for one instance. With `[redis]` configured
//! they are kept in Redis ([`redis`]) instead, shared by every replica, so an attacker cannot
//! spread attempts across them. When Redis does not answer, the throttle counts in this
//! process's memory meanwhile (per replica, as without Redis): a Redis outage weakens the
//! throttle to one replica's worth, it never turns it off or refuses every login.

pub mod redis;

use self::redis::RedisRecords;
use crate::config::ThrottleConfig;
use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{SystemTime, UNIX_EPOCH},
};

/// How often, at most, a Redis failure is logged (seconds).
const LOG_EVERY_SECS: u64 = 10;

/// Records kept before stale ones are pruned, so random e-mails cannot grow memory without bound.
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    last_failure: u64,
    locked_until: u64,
}

/// The login throttle. Times are epoch seconds from the service's [`shared::clock::Clock`].
#[derive(Debug)]
pub struct Throttle {
    config: ThrottleConfig,
    records: Mutex<HashMap<String, Record>>,
    /// The records every replica shares, when `[redis]` is configured.
    shared: Option<RedisRecords>,
    /// Unix seconds of the last Redis failure logged.
    last_logged: AtomicU64,
}

impl Throttle {
    /// A throttle with no failures recorded, in this process's memory.
    pub fn new(config: ThrottleConfig) -> Self {
        Throttle {
            config,
            records: Mutex::new(HashMap::new()),
            shared: None,
            last_logged: AtomicU64::new(0),
        }
    }

    /// A throttle whose records live in Redis, shared by every replica.
    pub fn shared(config: ThrottleConfig, records: RedisRecords) -> Self {
        Throttle {
            shared: Some(records),
            ..Throttle::new(config)
        }
    }

    /// `Err(retry_after_secs)` while `key` is locked.
    pub async fn check(&self, key: &str, now: u64) -> Result<(), u64> {
        if let Some(shared) = &self.shared {
            match shared.locked_until(key).await {
                Ok(until) if until > now => return Err(until - now),
                Ok(_) => return Ok(()),
                Err(e) => self.redis_failed(&e),
            }
        }
        self.check_here(key, now)
    }

    /// Records a failed attempt on `key`; may start (or lengthen) a lock.
    pub async fn record_failure(&self, key: &str, now: u64) {
        if let Some(shared) = &self.shared {
            match shared.record_failure(key, now, &self.config).await {
                Ok(()) => return,
                Err(e) => self.redis_failed(&e),
            }
        }
        self.record_failure_here(key, now);
    }

    /// Forgets every record in this process's memory, ending every lock kept there; returns how
    /// many records there were. The demo's reset (`POST /admin/reset`) uses it so a class can go
    /// on after the lock-out exercise. Records kept in Redis are shared by every replica and are
    /// left alone.
    pub fn clear(&self) -> usize {
        let mut records = self.records.lock().expect("throttle lock poisoned");
        let cleared = records.len();
        records.clear();
        cleared
    }

    /// A successful login clears the record.
    pub async fn record_success(&self, key: &str) {
        if let Some(shared) = &self.shared
            && let Err(e) = shared.clear(key).await
        {
            self.redis_failed(&e);
        }
        self.records
            .lock()
            .expect("throttle lock poisoned")
            .remove(key);
    }

    /// Logs a Redis failure, at most once per [`LOG_EVERY_SECS`] (an outage must not flood the
    /// log); the caller then uses this process's records.
    fn redis_failed(&self, error: &self::redis::RedisFailure) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let last = self.last_logged.load(Ordering::Relaxed);
        if now >= last + LOG_EVERY_SECS
            && self
                .last_logged
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(%error, "login throttle: Redis did not answer; counting in this replica meanwhile");
        }
    }

    /// [`Throttle::check`] on this process's records.
    fn check_here(&self, key: &str, now: u64) -> Result<(), u64> {
        let records = self.records.lock().expect("throttle lock poisoned");
        match records.get(key) {
            Some(record) if record.locked_until > now => Err(record.locked_until - now),
            _ => Ok(()),
        }
    }

    /// [`Throttle::record_failure`] on this process's records.
    fn record_failure_here(&self, key: &str, now: u64) {
        let mut records = self.records.lock().expect("throttle lock poisoned");
        if records.len() >= MAX_ENTRIES {
            let window = self.config.window_secs;
            records.retain(|_, r| r.locked_until > now || now - r.last_failure <= window);
        }
        let record = records.entry(key.to_owned()).or_insert(Record {
            failures: 0,
            last_failure: now,
            locked_until: 0,
        });
        if now.saturating_sub(record.last_failure) > self.config.window_secs {
            record.failures = 0;
        }
        record.failures += 1;
        record.last_failure = now;
        if record.failures >= self.config.max_failures {
            let doublings = (record.failures - self.config.max_failures).min(32);
            let lock = self
                .config
                .base_lock_secs
                .saturating_mul(1u64 << doublings)
                .min(self.config.max_lock_secs);
            record.locked_until = now + lock;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> Throttle {
        Throttle::new(ThrottleConfig {
            max_failures: 3,
            window_secs: 600,
            base_lock_secs: 10,
            max_lock_secs: 35,
        })
    }

    #[tokio::test]
    async fn locks_after_max_failures_and_doubles_up_to_the_cap() {
        let t = throttle();
        t.record_failure("a", 100).await;
        t.record_failure("a", 100).await;
        assert_eq!(t.check("a", 100).await, Ok(()));
        t.record_failure("a", 100).await;
        assert_eq!(t.check("a", 100).await, Err(10));
        assert_eq!(t.check("a", 105).await, Err(5));
        assert_eq!(t.check("a", 110).await, Ok(()));
        t.record_failure("a", 110).await;
        assert_eq!(t.check("a", 110).await, Err(20));
        t.record_failure("a", 130).await;
        assert_eq!(t.check("a", 130).await, Err(35), "capped at max_lock_secs");
        // Other accounts are unaffected.
        assert_eq!(t.check("b", 130).await, Ok(()));
    }

    #[tokio::test]
    async fn success_clears_and_old_failures_are_forgotten() {
        let t = throttle();
        t.record_failure("a", 0).await;
        t.record_failure("a", 0).await;
        t.record_success("a").await;
        t.record_failure("a", 1).await;
        assert_eq!(t.check("a", 1).await, Ok(()));
        t.record_failure("a", 1).await;
        // More than window_secs later: the count starts again.
        t.record_failure("a", 1000).await;
        assert_eq!(t.check("a", 1000).await, Ok(()));
    }
}
