//! The in-process backend: one TAT per key in a sharded, bounded map.
//!
//! Why not the `governor` crate: its keyed limiter answers "allowed, or not until T", but the
//! `RateLimit` headers need *remaining* and *reset* on every response, the Redis backend must
//! compute exactly the same numbers from the same formula, and tests need to drive the clock.
//! GCRA is a dozen lines ([`super::gcra`]); owning them keeps both backends identical.
//!
//! Concurrency: the map is split into shards, each behind its own short `Mutex` (a lookup, an
//! add, a store — no `.await` inside), so requests for different keys rarely meet.
//!
//! Memory: every key costs one entry, and keys come from clients (IP addresses, accounts). A
//! shard over its share of `max_keys` first drops idle keys (TAT in the past: their bucket is
//! full, so forgetting them changes nothing) and, if still full, the keys closest to idle.

use super::gcra::{Gcra, Outcome};
use shared::clock::SharedClock;
use std::{
    collections::HashMap,
    hash::{BuildHasher, RandomState},
    sync::Mutex,
};

const SHARDS: usize = 16;

/// The in-process store of every local policy (keys carry the policy name).
#[derive(Debug)]
pub struct LocalStore {
    shards: Vec<Mutex<HashMap<Box<str>, u64>>>,
    hasher: RandomState,
    per_shard: usize,
    clock: SharedClock,
}

impl LocalStore {
    /// A store holding at most about `max_keys` keys.
    pub fn new(max_keys: usize, clock: SharedClock) -> LocalStore {
        LocalStore {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
            per_shard: (max_keys / SHARDS).max(1),
            clock,
        }
    }

    /// Checks one request against `limit` for `key`.
    pub fn check(&self, limit: &Gcra, key: &str) -> Outcome {
        let now = self.clock.now_ns();
        let shard = &self.shards[self.hasher.hash_one(key) as usize % SHARDS];
        let mut map = shard
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (outcome, new_tat) = limit.check(map.get(key).copied(), now);
        if let Some(tat) = new_tat {
            if let Some(slot) = map.get_mut(key) {
                *slot = tat;
            } else {
                if map.len() >= self.per_shard {
                    evict(&mut map, now, self.per_shard);
                }
                map.insert(key.into(), tat);
            }
        }
        outcome
    }

    /// Forgets every key — every client's allowance is full again — and returns how many there
    /// were (the demo's reset, [`crate::own_endpoints`]).
    pub fn clear(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| {
                let mut map = shard
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let held = map.len();
                map.clear();
                held
            })
            .sum()
    }

    /// How many keys are held (tests, diagnostics).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map_or(0, |m| m.len()))
            .sum()
    }

    /// True when no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Makes room in a full shard: idle keys first, then the quarter closest to idle.
fn evict(map: &mut HashMap<Box<str>, u64>, now: u64, cap: usize) {
    map.retain(|_, tat| *tat > now);
    if map.len() < cap {
        return;
    }
    let mut tats: Vec<u64> = map.values().copied().collect();
    let cut = tats.len() / 4;
    let (_, threshold, _) = tats.select_nth_unstable(cut);
    let threshold = *threshold;
    map.retain(|_, tat| *tat > threshold);
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::clock::ManualClock;
    use std::time::Duration;

    #[test]
    fn keys_are_isolated_and_time_refills() {
        let clock = ManualClock::new();
        let store = LocalStore::new(1_000, clock.shared());
        let limit = Gcra::new(1, 10, 2);
        assert!(store.check(&limit, "p:alice").allowed);
        assert!(store.check(&limit, "p:alice").allowed);
        let refused = store.check(&limit, "p:alice");
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after, Duration::from_secs(10));
        assert!(
            store.check(&limit, "p:bob").allowed,
            "bob has his own bucket"
        );
        clock.advance(Duration::from_secs(10));
        assert!(store.check(&limit, "p:alice").allowed);
        assert!(!store.check(&limit, "p:alice").allowed);
    }

    #[test]
    fn the_map_stays_bounded() {
        let store = LocalStore::new(160, ManualClock::new().shared());
        let limit = Gcra::new(1, 60, 5);
        for i in 0..10_000 {
            store.check(&limit, &format!("p:{i}"));
        }
        assert!(store.len() <= 160, "{} keys held", store.len());
    }
}
