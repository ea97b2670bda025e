//! Where "now" comes from, for every service: one [`Clock`], injected once.
//!
//! Expiry, throttle windows, rate-limit buckets and circuit-breaker cool-downs all depend on
//! "now". Reading the system clock inside them would force tests to sleep through a 15-minute
//! window; instead each service holds one [`SharedClock`], the server runs with
//! [`SystemClock`], and a test hands in a [`ManualClock`] and moves it by hand.
//!
//! A clock tells two kinds of time, and code must pick the right one:
//!
//! - [`Clock::elapsed`] is **monotonic**: it never goes back, whatever NTP does to the wall
//!   clock. Durations (rate-limit buckets, breaker cool-downs) are measured with it, so a wall
//!   clock step cannot refill every bucket or close every circuit at once.
//! - [`Clock::unix_secs`] is **wall-clock** time, as JWT's `NumericDate` (`iat`, `exp`) and
//!   stored timestamps need it.
//!
//! A [`ManualClock`] moves both together when advanced.

use std::{
    fmt::Debug,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

/// A source of the current time. Object-safe: services hold an `Arc<dyn Clock>`.
pub trait Clock: Send + Sync + Debug + 'static {
    /// Monotonic time since the clock was made.
    fn elapsed(&self) -> Duration;

    /// Seconds since 1970-01-01T00:00:00Z (wall clock).
    fn unix_secs(&self) -> u64;

    /// [`Clock::elapsed`] in nanoseconds (saturating): what rate-limit arithmetic works in.
    fn now_ns(&self) -> u64 {
        u64::try_from(self.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// [`Clock::elapsed`] in milliseconds (saturating): what breaker cool-downs work in.
    fn now_ms(&self) -> u64 {
        u64::try_from(self.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// The clock a service's parts share.
pub type SharedClock = Arc<dyn Clock>;

/// The real clock: `Instant` for [`Clock::elapsed`], `SystemTime` for [`Clock::unix_secs`].
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    start: Instant,
}

impl SystemClock {
    /// A system clock as a [`SharedClock`], what a service uses outside tests.
    pub fn shared() -> SharedClock {
        Arc::new(SystemClock::default())
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock {
            start: Instant::now(),
        }
    }
}

impl Clock for SystemClock {
    fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    fn unix_secs(&self) -> u64 {
        system_unix_secs()
    }
}

fn system_unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A [`ManualClock`]'s first monotonic reading: one hour in, so code that subtracts a window
/// from "now" never meets zero.
const START_NS: u64 = 3_600_000_000_000;

/// A clock that moves only when told to. Clones share one time, so a test keeps one clone and
/// hands the other to the service.
///
/// It starts at the real current wall-clock time (so tokens it stamps are valid for verifiers
/// that read the system clock) and at an arbitrary non-zero monotonic reading (as a real clock
/// would be some time after start).
#[derive(Debug, Clone)]
pub struct ManualClock {
    start_unix_secs: u64,
    elapsed_ns: Arc<AtomicU64>,
}

impl ManualClock {
    /// A manual clock at the current wall-clock time.
    pub fn new() -> ManualClock {
        ManualClock {
            start_unix_secs: system_unix_secs(),
            elapsed_ns: Arc::new(AtomicU64::new(START_NS)),
        }
    }

    /// A manual clock whose wall-clock reading starts at `unix_secs` (a fixed date in tests).
    pub fn at_unix_secs(unix_secs: u64) -> ManualClock {
        ManualClock {
            start_unix_secs: unix_secs,
            ..ManualClock::new()
        }
    }

    /// Moves both readings forward by `by`.
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.elapsed_ns.fetch_add(by, Ordering::SeqCst);
    }

    /// This clock as a [`SharedClock`] (sharing its time with `self`).
    pub fn shared(&self) -> SharedClock {
        Arc::new(self.clone())
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::new()
    }
}

impl Clock for ManualClock {
    fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.elapsed_ns.load(Ordering::SeqCst))
    }

    fn unix_secs(&self) -> u64 {
        let moved = self
            .elapsed_ns
            .load(Ordering::SeqCst)
            .saturating_sub(START_NS);
        self.start_unix_secs + moved / 1_000_000_000
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_both_readings_together_and_clones_share_it() {
        let clock = ManualClock::new();
        let shared = clock.shared();
        let (mono, wall) = (clock.elapsed(), clock.unix_secs());
        assert!(mono > Duration::ZERO, "starts away from zero");
        assert_eq!(shared.unix_secs(), wall);

        clock.advance(Duration::from_millis(90_500));
        assert_eq!(shared.elapsed(), mono + Duration::from_millis(90_500));
        assert_eq!(shared.unix_secs(), wall + 90);
        assert_eq!(shared.now_ms(), clock.now_ms());
    }

    #[test]
    fn a_fixed_date_is_kept_until_advanced() {
        let clock = ManualClock::at_unix_secs(1_700_000_000);
        assert_eq!(clock.unix_secs(), 1_700_000_000);
        clock.advance(Duration::from_secs(86_400));
        assert_eq!(clock.unix_secs(), 1_700_086_400);
    }

    #[test]
    fn the_system_clock_is_monotonic_and_near_the_wall_clock() {
        let clock = SystemClock::default();
        let first = clock.elapsed();
        assert!(clock.elapsed() >= first);
        assert!(clock.unix_secs().abs_diff(system_unix_secs()) <= 1);
    }
}
