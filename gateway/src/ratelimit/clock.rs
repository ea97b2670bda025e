//! Where "now" comes from: injected, so tests move time by hand instead of sleeping.

use std::{
    fmt::Debug,
    sync::atomic::{AtomicU64, Ordering},
    time::Instant,
};

/// A monotonic clock in nanoseconds from an arbitrary start.
pub trait Clock: Send + Sync + Debug {
    /// Nanoseconds since the clock's start.
    fn now_ns(&self) -> u64;
}

/// The real clock: monotonic (`Instant`), so a wall-clock step (NTP) cannot refill or drain
/// every bucket at once.
#[derive(Debug)]
pub struct SystemClock {
    start: Instant,
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock {
            start: Instant::now(),
        }
    }
}

impl Clock for SystemClock {
    fn now_ns(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// A clock that only moves when told to (tests).
#[derive(Debug)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// A clock reading `start_ns`. Start away from zero, like a real clock would be.
    pub fn new(start_ns: u64) -> ManualClock {
        ManualClock(AtomicU64::new(start_ns))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: std::time::Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.0.fetch_add(by, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ns(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}
