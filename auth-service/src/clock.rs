//! Time, injectable.
//!
//! Expiry (refresh tokens) and the login throttle's windows depend on "now". Reading the system
//! clock directly would force tests to sleep through a 15-minute window; instead the state holds
//! a [`Clock`], the server uses [`SystemClock`], and tests use a [`ManualClock`] they can advance.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{SystemTime, UNIX_EPOCH},
};

/// A source of the current time, in whole seconds since the Unix epoch (like JWT's `NumericDate`).
pub trait Clock: Send + Sync + 'static {
    /// Seconds since 1970-01-01T00:00:00Z.
    fn now(&self) -> u64;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
}

/// A clock that only moves when told to. Clones share the same time, so a test keeps one clone
/// and hands the other to the service.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<AtomicU64>,
}

impl ManualClock {
    /// A manual clock starting at the real current time (so the tokens it stamps are also valid
    /// for verifiers that read the system clock).
    pub fn new() -> Self {
        ManualClock {
            now: Arc::new(AtomicU64::new(SystemClock.now())),
        }
    }

    /// Moves time forward by `secs` seconds.
    pub fn advance(&self, secs: u64) {
        self.now.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> u64 {
        self.now.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_advanced_and_clones_share_it() {
        let clock = ManualClock::new();
        let shared = clock.clone();
        let start = clock.now();
        assert_eq!(shared.now(), start);
        shared.advance(90);
        assert_eq!(clock.now(), start + 90);
    }
}
