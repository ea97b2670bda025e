//! Load balancing: which of an upstream's targets gets the next request.
//!
//! Two policies, both lock-free:
//!
//! - **round robin**: each target in turn (one shared counter);
//! - **least outstanding**: the target with the fewest requests in flight, scanning from the
//!   round-robin position so ties still rotate. A slow or stuck target keeps its requests
//!   longer, so it is chosen less — the cheapest adaptive policy there is.
//!
//! The balancer only chooses among *eligible* targets: the caller says which (healthy, circuit
//! not open, not the one that just failed).

use crate::config::Balance;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Chooses targets by index.
#[derive(Debug)]
pub struct Balancer {
    policy: Balance,
    next: AtomicUsize,
}

impl Balancer {
    /// A balancer with `policy`.
    pub fn new(policy: Balance) -> Balancer {
        Balancer {
            policy,
            next: AtomicUsize::new(0),
        }
    }

    /// The index of the target to use among `0..count`, or `None` if none is eligible.
    /// `load(i)` is target `i`'s requests in flight (read only by `least_outstanding`).
    pub fn choose(
        &self,
        count: usize,
        eligible: impl Fn(usize) -> bool,
        load: impl Fn(usize) -> usize,
    ) -> Option<usize> {
        if count == 0 {
            return None;
        }
        // `Relaxed` is enough: the counter only spreads load.
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let candidates = (0..count)
            .map(|k| (start + k) % count)
            .filter(|&i| eligible(i));
        match self.policy {
            Balance::RoundRobin => candidates.into_iter().next(),
            // `min_by_key` keeps the first of equal minima: ties go to the round-robin order.
            Balance::LeastOutstanding => candidates.min_by_key(|&i| load(i)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_takes_turns_and_skips_ineligible_targets() {
        let b = Balancer::new(Balance::RoundRobin);
        let picks: Vec<usize> = (0..6)
            .map(|_| b.choose(3, |_| true, |_| 0).unwrap())
            .collect();
        assert_eq!(picks, [0, 1, 2, 0, 1, 2]);
        let picks: Vec<usize> = (0..4)
            .map(|_| b.choose(3, |i| i != 1, |_| 0).unwrap())
            .collect();
        assert!(picks.iter().all(|&i| i != 1), "{picks:?}");
        assert_eq!(b.choose(3, |_| false, |_| 0), None);
    }

    #[test]
    fn least_outstanding_prefers_the_least_busy_and_rotates_ties() {
        let b = Balancer::new(Balance::LeastOutstanding);
        let busy = [5, 0, 2];
        for _ in 0..5 {
            assert_eq!(b.choose(3, |_| true, |i| busy[i]), Some(1));
        }
        let even = [1, 1, 1];
        let picks: Vec<usize> = (0..3)
            .map(|_| b.choose(3, |_| true, |i| even[i]).unwrap())
            .collect();
        let mut sorted = picks.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, [0, 1, 2], "ties rotate: {picks:?}");
        assert_eq!(b.choose(3, |i| i == 0, |i| busy[i]), Some(0));
    }
}
