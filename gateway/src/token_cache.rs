//! The verified-token cache: a token that verified a moment ago is not verified again.
//!
//! Checking a signature is the dearest step of a request (HS256 ≈ 3 µs, EdDSA ≈ 40 µs, RS256
//! ≈ 90 µs with the pure-Rust crypto in use, against ≈ 20 µs for everything else the gateway
//! does), and a client sends the same token with every request until it expires. So the claims
//! of a token that passed [`shared::Verifier::verify`] are kept, keyed on **the whole token** (the
//! full string is compared, not a hash of it: a different token, even one differing in a single
//! signature byte, is a miss and is verified in full). What makes this safe:
//!
//! - only successes are stored; a refused token is verified (and refused) every time;
//! - an entry is used only while `now < exp` (without the verifier's leeway: a cached token
//!   never outlives what the verifier itself would accept) and for at most [`MAX_AGE_SECS`], so
//!   a key withdrawn from the JWKS stops being honoured through the cache within a minute;
//! - the cache is bounded: two generations of at most `capacity / 2` entries each; when the
//!   young one is full the old one is dropped (tokens in use are promoted on every hit, so the
//!   effect is close to least-recently-used, with O(1) work and no per-entry bookkeeping).
//!
//! Two choices keep a hit cheap (it is on every authenticated request): the claims are shared
//! (`Arc`), not copied, and the table hashes with `foldhash` (seeded per process) rather than
//! SipHash, which costs noticeably more over a 330-byte token (docs/performance.md). SipHash's
//! strength against crafted collisions is not needed here: only tokens that *verified* are ever
//! inserted, so an attacker cannot fill a bucket; a crafted lookup merely misses.
//!
//! Time is passed in by the caller (UNIX seconds from the gateway's clock), so tests move it by
//! hand.

use shared::Claims;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

type Table = HashMap<Box<[u8]>, Entry, foldhash::fast::RandomState>;

/// The longest an entry is trusted, whatever its `exp`.
pub const MAX_AGE_SECS: u64 = 60;

/// The gateway's default bound (entries in both generations together).
pub const DEFAULT_CAPACITY: usize = 8192;

#[derive(Debug, Clone)]
struct Entry {
    claims: Arc<Claims>,
    /// Not usable from this second on: `min(exp, stored + MAX_AGE_SECS)`.
    until: u64,
}

#[derive(Debug, Default)]
struct Generations {
    young: Table,
    old: Table,
}

/// Claims of recently verified tokens. Shared by every request (a short `Mutex` section).
#[derive(Debug)]
pub struct TokenCache {
    generation_size: usize,
    inner: Mutex<Generations>,
}

impl Default for TokenCache {
    fn default() -> Self {
        TokenCache::new(DEFAULT_CAPACITY)
    }
}

impl TokenCache {
    /// A cache of at most `capacity` tokens; 0 turns caching off.
    pub fn new(capacity: usize) -> TokenCache {
        TokenCache {
            generation_size: capacity / 2,
            inner: Mutex::new(Generations::default()),
        }
    }

    /// The claims of `token` (its bytes, as the client sent them) if it verified recently and is
    /// still usable at `now`.
    pub fn get(&self, token: &[u8], now: u64) -> Option<Arc<Claims>> {
        if self.generation_size == 0 {
            return None;
        }
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = g.young.get(token) {
            return (now < entry.until).then(|| Arc::clone(&entry.claims));
        }
        let entry = g.old.remove(token)?;
        if now >= entry.until {
            return None;
        }
        let claims = Arc::clone(&entry.claims);
        Self::put(&mut g, self.generation_size, token.into(), entry);
        Some(claims)
    }

    /// Remembers that `token` verified at `now` with `claims`.
    pub fn insert(&self, token: &str, claims: &Arc<Claims>, now: u64) {
        let until = claims.exp.min(now.saturating_add(MAX_AGE_SECS));
        if self.generation_size == 0 || until <= now {
            return;
        }
        let entry = Entry {
            claims: Arc::clone(claims),
            until,
        };
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        Self::put(&mut g, self.generation_size, token.as_bytes().into(), entry);
    }

    fn put(g: &mut Generations, generation_size: usize, token: Box<[u8]>, entry: Entry) {
        if g.young.len() >= generation_size && !g.young.contains_key(&token) {
            g.old = std::mem::take(&mut g.young);
        }
        g.young.insert(token, entry);
    }

    /// Tokens held (both generations; expired ones until they are pushed out).
    pub fn len(&self) -> usize {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.young.len() + g.old.len()
    }

    /// True when no token is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::Role;

    fn claims(sub: &str, exp: u64) -> Arc<Claims> {
        Arc::new(Claims {
            sub: sub.into(),
            name: "N".into(),
            role: Role::Student,
            exp,
            iat: 0,
            iss: "i".into(),
            aud: "a".into(),
            jti: "j".into(),
            email: None,
            scope: None,
        })
    }

    #[test]
    fn a_stored_token_is_found_and_a_different_one_is_not() {
        let cache = TokenCache::new(10);
        cache.insert("aaa.bbb.ccc", &claims("7", 2_000), 1_000);
        assert_eq!(cache.get(b"aaa.bbb.ccc", 1_001).unwrap().sub, "7");
        // One byte of the signature changed: a miss, never a prefix or hash match.
        assert!(cache.get(b"aaa.bbb.ccd", 1_001).is_none());
        assert!(cache.get(b"aaa.bbb.cc", 1_001).is_none());
    }

    #[test]
    fn an_entry_ends_at_exp_or_after_max_age() {
        let cache = TokenCache::new(10);
        cache.insert("soon", &claims("1", 1_010), 1_000);
        assert!(cache.get(b"soon", 1_009).is_some());
        assert!(cache.get(b"soon", 1_010).is_none(), "exp is exclusive");
        cache.insert("long", &claims("2", 100_000), 1_000);
        assert!(cache.get(b"long", 1_000 + MAX_AGE_SECS - 1).is_some());
        assert!(cache.get(b"long", 1_000 + MAX_AGE_SECS).is_none());
    }

    #[test]
    fn an_expired_token_is_not_stored() {
        let cache = TokenCache::new(10);
        cache.insert("old", &claims("1", 999), 1_000);
        assert!(cache.is_empty());
    }

    #[test]
    fn the_cache_stays_bounded_and_keeps_tokens_in_use() {
        let cache = TokenCache::new(4);
        cache.insert("hot", &claims("hot", 10_000), 0);
        for i in 0..100 {
            cache.insert(&format!("t{i}"), &claims("x", 10_000), 0);
            // The token in use is promoted on every hit, so it survives the churn.
            assert!(cache.get(b"hot", 1).is_some(), "lost after {i}");
            assert!(cache.len() <= 4, "{} entries", cache.len());
        }
        assert!(cache.get(b"t0", 1).is_none());
    }

    #[test]
    fn capacity_zero_caches_nothing() {
        let cache = TokenCache::new(0);
        cache.insert("t", &claims("1", 10_000), 0);
        assert!(cache.get(b"t", 1).is_none());
    }
}
