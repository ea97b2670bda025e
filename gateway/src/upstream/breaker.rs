//! The circuit breaker: passive outlier detection, one breaker per target.
//!
//! ```text
//!            N failures in a row                 open_ms passed: one probe
//!   Closed ─────────────────────────▶ Open ─────────────────────────▶ HalfOpen
//!     ▲                                ▲                                │
//!     │        probe succeeded         │        probe failed            │
//!     └────────────────────────────────┼────────────────────────────────┤
//!                                      └────────────────────────────────┘
//! ```
//!
//! While a target's circuit is open the gateway does not call it at all: requests go to the
//! other targets, or — when every target is open — are answered 503 `circuit_open` at once
//! instead of waiting for a connection that will fail. After `open_ms` exactly one request (the
//! probe) is let through; only its outcome decides whether the circuit closes or opens again.
//!
//! The state is three atomics, so the hot path takes no lock; transitions that must happen once
//! (Open → HalfOpen: who becomes the probe) use compare-and-swap. Every method takes "now" (in
//! milliseconds of the gateway's monotonic [`shared::clock::Clock`]) as an argument, so every
//! transition is unit-tested without sleeping.

use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};

const CLOSED: u8 = 0;
const OPEN: u8 = 1;
const HALF_OPEN: u8 = 2;

/// The state of one circuit, for `/readyz` and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Requests flow.
    Closed,
    /// Requests are refused until the probe time.
    Open,
    /// One probe is in flight; everything else is refused.
    HalfOpen,
}

impl State {
    /// `closed` / `open` / `half_open`.
    pub const fn as_str(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half_open",
        }
    }
}

/// How a request was let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// The circuit is closed.
    Normal,
    /// This request is the half-open probe: its outcome decides the circuit.
    Probe,
}

/// One target's circuit breaker.
#[derive(Debug)]
pub struct Breaker {
    threshold: u32,
    open_ms: u64,
    state: AtomicU8,
    failures: AtomicU32,
    opened_at: AtomicU64,
}

impl Breaker {
    /// A closed breaker that opens after `threshold` failures in a row (0: never) for `open_ms`.
    pub fn new(threshold: u32, open_ms: u64) -> Breaker {
        Breaker {
            threshold,
            open_ms,
            state: AtomicU8::new(CLOSED),
            failures: AtomicU32::new(0),
            opened_at: AtomicU64::new(0),
        }
    }

    /// The current state (an open circuit whose time is up still reads `Open` until a request
    /// becomes the probe).
    pub fn state(&self) -> State {
        match self.state.load(Ordering::Acquire) {
            CLOSED => State::Closed,
            OPEN => State::Open,
            _ => State::HalfOpen,
        }
    }

    /// True when [`Breaker::admit`] would let a request through now (without taking the probe).
    pub fn would_admit(&self, now_ms: u64) -> bool {
        match self.state.load(Ordering::Acquire) {
            CLOSED => true,
            OPEN => self.probe_due(now_ms),
            _ => false,
        }
    }

    /// Lets a request through, or refuses it (`None`) while the circuit is open.
    pub fn admit(&self, now_ms: u64) -> Option<Admission> {
        match self.state.load(Ordering::Acquire) {
            CLOSED => Some(Admission::Normal),
            // Only one caller wins the swap and becomes the probe.
            OPEN if self.probe_due(now_ms)
                && self
                    .state
                    .compare_exchange(OPEN, HALF_OPEN, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok() =>
            {
                Some(Admission::Probe)
            }
            _ => None,
        }
    }

    /// The request succeeded: the failure streak ends; a successful probe closes the circuit.
    pub fn succeeded(&self, admission: Admission) {
        self.failures.store(0, Ordering::Relaxed);
        if admission == Admission::Probe {
            self.state.store(CLOSED, Ordering::Release);
        }
    }

    /// The request failed: a failed probe reopens the circuit; otherwise the streak grows and
    /// opens the circuit when it reaches the threshold.
    pub fn failed(&self, admission: Admission, now_ms: u64) {
        if self.threshold == 0 {
            return;
        }
        if admission == Admission::Probe {
            self.open(now_ms);
            return;
        }
        let streak = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
        if streak >= self.threshold && self.state.load(Ordering::Acquire) == CLOSED {
            self.open(now_ms);
        }
    }

    fn open(&self, now_ms: u64) {
        // The time first, then the state: whoever sees `OPEN` also sees when it opened.
        self.opened_at.store(now_ms, Ordering::Release);
        self.failures.store(0, Ordering::Relaxed);
        self.state.store(OPEN, Ordering::Release);
    }

    fn probe_due(&self, now_ms: u64) -> bool {
        now_ms
            >= self
                .opened_at
                .load(Ordering::Acquire)
                .saturating_add(self.open_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::clock::{Clock, ManualClock};
    use std::time::Duration;

    fn breaker() -> (Breaker, ManualClock) {
        (Breaker::new(3, 1_000), ManualClock::default())
    }

    fn fail(b: &Breaker, clock: &ManualClock, times: u32) {
        for _ in 0..times {
            let admission = b.admit(clock.now_ms()).expect("admitted");
            b.failed(admission, clock.now_ms());
        }
    }

    #[test]
    fn closed_stays_closed_below_the_threshold_and_a_success_resets_the_streak() {
        let (b, clock) = breaker();
        fail(&b, &clock, 2);
        b.succeeded(b.admit(clock.now_ms()).unwrap());
        fail(&b, &clock, 2);
        assert_eq!(b.state(), State::Closed);
        assert_eq!(b.admit(clock.now_ms()), Some(Admission::Normal));
    }

    #[test]
    fn closed_opens_after_consecutive_failures_and_refuses_while_open() {
        let (b, clock) = breaker();
        fail(&b, &clock, 3);
        assert_eq!(b.state(), State::Open);
        clock.advance(Duration::from_millis(999));
        assert!(!b.would_admit(clock.now_ms()));
        assert_eq!(b.admit(clock.now_ms()), None);
    }

    #[test]
    fn open_half_opens_for_exactly_one_probe_when_its_time_is_up() {
        let (b, clock) = breaker();
        fail(&b, &clock, 3);
        clock.advance(Duration::from_millis(1_000));
        assert!(b.would_admit(clock.now_ms()));
        assert_eq!(b.admit(clock.now_ms()), Some(Admission::Probe));
        assert_eq!(b.state(), State::HalfOpen);
        // Everyone else is refused while the probe is out.
        assert_eq!(b.admit(clock.now_ms()), None);
        assert!(!b.would_admit(clock.now_ms()));
    }

    #[test]
    fn a_successful_probe_closes_the_circuit() {
        let (b, clock) = breaker();
        fail(&b, &clock, 3);
        clock.advance(Duration::from_millis(1_000));
        b.succeeded(b.admit(clock.now_ms()).unwrap());
        assert_eq!(b.state(), State::Closed);
        assert_eq!(b.admit(clock.now_ms()), Some(Admission::Normal));
        // The streak starts from zero again.
        fail(&b, &clock, 2);
        assert_eq!(b.state(), State::Closed);
    }

    #[test]
    fn a_failed_probe_reopens_the_circuit_for_another_full_period() {
        let (b, clock) = breaker();
        fail(&b, &clock, 3);
        clock.advance(Duration::from_millis(1_500));
        let probe = b.admit(clock.now_ms()).unwrap();
        b.failed(probe, clock.now_ms());
        assert_eq!(b.state(), State::Open);
        clock.advance(Duration::from_millis(999));
        assert_eq!(b.admit(clock.now_ms()), None);
        clock.advance(Duration::from_millis(1));
        assert_eq!(b.admit(clock.now_ms()), Some(Admission::Probe));
    }

    #[test]
    fn late_outcomes_of_requests_admitted_before_opening_change_nothing() {
        let (b, clock) = breaker();
        let early = b.admit(clock.now_ms()).unwrap();
        fail(&b, &clock, 3);
        b.failed(early, clock.now_ms());
        assert_eq!(b.state(), State::Open);
        b.succeeded(early);
        assert_eq!(b.state(), State::Open, "only the probe may close it");
    }

    #[test]
    fn a_zero_threshold_turns_the_breaker_off() {
        let b = Breaker::new(0, 1_000);
        for _ in 0..100 {
            b.failed(Admission::Normal, 0);
        }
        assert_eq!(b.state(), State::Closed);
        assert_eq!(b.admit(0), Some(Admission::Normal));
    }
}
