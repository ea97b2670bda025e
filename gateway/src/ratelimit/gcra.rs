//! GCRA, the Generic Cell Rate Algorithm: a token bucket kept as one number.
//!
//! A limit of `rate` requests per `period` means one request "costs" an **emission interval**
//! `T = period / rate` of time. For each key we store one instant, the **theoretical arrival
//! time** (TAT): when the key's allowance would be whole again if no more requests came. A
//! request at `now`:
//!
//! 1. starts from `max(TAT, now)` (time already spent idle is not banked beyond a full bucket)
//!    and adds its cost: `new_tat = max(TAT, now) + T`;
//! 2. is allowed when `new_tat - now <= burst × T` (the debt, in time, fits the bucket); the TAT
//!    becomes `new_tat`. Otherwise it is refused and nothing changes.
//!
//! So `burst` requests pass at once, then one every `T`, and after `burst × T` of quiet the
//! bucket is full again. Unlike a fixed window there is no boundary where two full windows meet
//! (a fixed window of 100/minute lets 200 through around 12:00:00); unlike a sliding log it needs
//! no list of timestamps: one integer per key, which is what makes the Redis version one `GET`
//! and one `SET` inside a script.
//!
//! What a client is told follows directly: `remaining = ⌊(burst × T − (new_tat − now)) / T⌋`
//! (how many more would pass right now), `reset = new_tat − now` (when the allowance is whole
//! again) and, on a refusal, `retry_after = new_tat − now − burst × T` (when one more fits).
//!
//! Everything here is pure arithmetic on nanoseconds, so tests drive it with any clock.

use std::time::Duration;

/// One limit in GCRA form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gcra {
    /// `period / rate`, in nanoseconds: the cost of one request.
    pub emission_ns: u64,
    /// `burst × emission`, in nanoseconds: how much debt the bucket holds.
    pub capacity_ns: u64,
    /// The burst (for `remaining`).
    pub burst: u64,
}

/// The answer to one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// True when the request may pass.
    pub allowed: bool,
    /// Requests that would still pass right now (after this one, if it passed).
    pub remaining: u64,
    /// Time until the allowance is whole again.
    pub reset: Duration,
    /// On a refusal: time until one request fits. Zero when allowed.
    pub retry_after: Duration,
}

impl Gcra {
    /// `rate` requests per `period_secs`, at most `burst` at once (both at least 1).
    pub fn new(rate: u64, period_secs: u64, burst: u64) -> Gcra {
        let rate = rate.max(1);
        let burst = burst.max(1);
        let emission_ns = (u128::from(period_secs) * 1_000_000_000 / u128::from(rate)).max(1);
        let emission_ns = u64::try_from(emission_ns).unwrap_or(u64::MAX);
        Gcra {
            emission_ns,
            capacity_ns: emission_ns.saturating_mul(burst),
            burst,
        }
    }

    /// Checks one request at `now_ns` against the stored `tat` (`None`: never seen). Returns the
    /// outcome and the TAT to store (`None`: leave it as it was).
    pub fn check(&self, tat: Option<u64>, now_ns: u64) -> (Outcome, Option<u64>) {
        let start = tat.map_or(now_ns, |tat| tat.max(now_ns));
        let new_tat = start.saturating_add(self.emission_ns);
        let debt = new_tat - now_ns;
        if debt > self.capacity_ns {
            let outcome = Outcome {
                allowed: false,
                remaining: 0,
                reset: Duration::from_nanos(start - now_ns),
                retry_after: Duration::from_nanos(debt - self.capacity_ns),
            };
            return (outcome, None);
        }
        let outcome = Outcome {
            allowed: true,
            remaining: (self.capacity_ns - debt) / self.emission_ns,
            reset: Duration::from_nanos(debt),
            retry_after: Duration::ZERO,
        };
        (outcome, Some(new_tat))
    }

    /// The emission interval and capacity in microseconds, the resolution of Redis's `TIME`
    /// (the interval rounded up, so rounding never allows more than configured).
    pub fn micros(&self) -> (u64, u64) {
        let emission = self.emission_ns.div_ceil(1_000).max(1);
        (emission, emission.saturating_mul(self.burst))
    }

    /// The outcome as the Redis script reports it: allowed, and the debt (reset) and overshoot
    /// (retry after) in microseconds.
    pub fn from_redis(&self, allowed: bool, reset_us: u64, retry_us: u64) -> Outcome {
        let (emission, capacity) = self.micros();
        Outcome {
            allowed,
            remaining: if allowed {
                capacity.saturating_sub(reset_us) / emission
            } else {
                0
            },
            reset: Duration::from_micros(reset_us),
            retry_after: Duration::from_micros(retry_us),
        }
    }
}

/// Whole seconds, rounded up: `Retry-After: 1` for 200 ms, so a client that waits exactly that
/// long is never refused again for the same reason.
pub fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000_000;

    /// Runs `n` checks at `now` and returns how many passed, carrying the TAT along.
    fn burst_at(g: &Gcra, tat: &mut Option<u64>, now: u64, n: usize) -> usize {
        (0..n)
            .filter(|_| {
                let (o, new) = g.check(*tat, now);
                if let Some(new) = new {
                    *tat = Some(new);
                }
                o.allowed
            })
            .count()
    }

    #[test]
    fn a_burst_passes_then_the_rate_applies() {
        // 10 per minute (one per 6 s), 3 at once.
        let g = Gcra::new(10, 60, 3);
        let mut tat = None;
        let t0 = 1_000 * SEC;
        let (first, new) = g.check(tat, t0);
        tat = new;
        assert!(first.allowed);
        assert_eq!(first.remaining, 2);
        assert_eq!(first.reset, Duration::from_secs(6));
        assert_eq!(burst_at(&g, &mut tat, t0, 5), 2, "only the burst passes");

        let (refused, unchanged) = g.check(tat, t0);
        assert!(!refused.allowed);
        assert_eq!(unchanged, None, "a refusal costs nothing");
        assert_eq!(refused.remaining, 0);
        assert_eq!(refused.retry_after, Duration::from_secs(6));
        assert_eq!(refused.reset, Duration::from_secs(18));

        // 2.5 s later: 3.5 s still to wait, so Retry-After says 4.
        let (later, _) = g.check(tat, t0 + 2 * SEC + SEC / 2);
        assert_eq!(later.retry_after, Duration::from_millis(3_500));
        assert_eq!(ceil_secs(later.retry_after), 4);
    }

    #[test]
    fn the_bucket_refills_over_time() {
        let g = Gcra::new(10, 60, 3);
        let mut tat = None;
        let t0 = 50 * SEC;
        assert_eq!(burst_at(&g, &mut tat, t0, 3), 3);
        // One interval later exactly one more fits.
        assert_eq!(burst_at(&g, &mut tat, t0 + 6 * SEC, 3), 1);
        // After a long quiet spell the bucket is full, but not fuller than the burst.
        assert_eq!(burst_at(&g, &mut tat, t0 + 3_600 * SEC, 10), 3);
    }

    #[test]
    fn no_double_burst_at_any_boundary() {
        // Over any 60 s a fixed window of 10/min can let 20 through; GCRA lets burst + rate
        // through at most (the bucket, then its refill).
        let g = Gcra::new(10, 60, 10);
        let mut tat = None;
        let mut passed = 0;
        for step in 0..600 {
            // a request every 100 ms for a minute
            passed += burst_at(&g, &mut tat, 100 * SEC + step * SEC / 10, 1);
        }
        assert_eq!(passed, 10 + 9, "the burst, then one per 6 s");
    }

    #[test]
    fn round_up_seconds() {
        assert_eq!(ceil_secs(Duration::from_millis(1)), 1);
        assert_eq!(ceil_secs(Duration::from_secs(2)), 2);
        assert_eq!(ceil_secs(Duration::ZERO), 0);
    }
}
