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
//! The state is in this process's memory: enough for one instance. Several replicas would keep it
//! in a shared store (Redis) so an attacker cannot spread attempts across them.

use crate::config::ThrottleConfig;
use std::{collections::HashMap, sync::Mutex};

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
}

impl Throttle {
    /// A throttle with no failures recorded.
    pub fn new(config: ThrottleConfig) -> Self {
        Throttle {
            config,
            records: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(retry_after_secs)` while `key` is locked.
    pub fn check(&self, key: &str, now: u64) -> Result<(), u64> {
        let records = self.records.lock().expect("throttle lock poisoned");
        match records.get(key) {
            Some(record) if record.locked_until > now => Err(record.locked_until - now),
            _ => Ok(()),
        }
    }

    /// Records a failed attempt on `key`; may start (or lengthen) a lock.
    pub fn record_failure(&self, key: &str, now: u64) {
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

    /// Forgets every record, ending every lock; returns how many records there were. The demo's
    /// reset (`POST /admin/reset`) uses it so a class can go on after the lock-out exercise.
    pub fn clear(&self) -> usize {
        let mut records = self.records.lock().expect("throttle lock poisoned");
        let cleared = records.len();
        records.clear();
        cleared
    }

    /// A successful login clears the record.
    pub fn record_success(&self, key: &str) {
        self.records
            .lock()
            .expect("throttle lock poisoned")
            .remove(key);
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

    #[test]
    fn locks_after_max_failures_and_doubles_up_to_the_cap() {
        let t = throttle();
        t.record_failure("a", 100);
        t.record_failure("a", 100);
        assert_eq!(t.check("a", 100), Ok(()));
        t.record_failure("a", 100);
        assert_eq!(t.check("a", 100), Err(10));
        assert_eq!(t.check("a", 105), Err(5));
        assert_eq!(t.check("a", 110), Ok(()));
        t.record_failure("a", 110);
        assert_eq!(t.check("a", 110), Err(20));
        t.record_failure("a", 130);
        assert_eq!(t.check("a", 130), Err(35), "capped at max_lock_secs");
        // Other accounts are unaffected.
        assert_eq!(t.check("b", 130), Ok(()));
    }

    #[test]
    fn success_clears_and_old_failures_are_forgotten() {
        let t = throttle();
        t.record_failure("a", 0);
        t.record_failure("a", 0);
        t.record_success("a");
        t.record_failure("a", 1);
        assert_eq!(t.check("a", 1), Ok(()));
        t.record_failure("a", 1);
        // More than window_secs later: the count starts again.
        t.record_failure("a", 1000);
        assert_eq!(t.check("a", 1000), Ok(()));
    }
}
