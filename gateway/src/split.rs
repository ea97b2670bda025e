//! Weighted traffic split (canary releases): a route's requests spread over several upstreams
//! by weight (`[routes.split]`).
//!
//! Two ways to choose, both without a random number generator, so a test (and a student) can
//! predict them:
//!
//! - **by count**: the n-th request of the route goes to the slot `n × step mod total` of the
//!   weights laid end to end, where `step` shares no factor with `total`. Every `total`
//!   consecutive requests visit every slot exactly once, so 10 of every 100 reach a weight-10
//!   canary, interleaved with the others rather than in one block;
//! - **sticky** (`sticky = true`), for callers with a verified token: the caller's `sub` is
//!   hashed (SHA-256, the same on every replica and after a restart) to a point in [0, 1), and
//!   the upstream whose share of [0, 1) holds it serves them. The point depends only on the
//!   `sub`, so raising a canary listed last from 10 % to 50 % moves users only *onto* it: the
//!   10 % already there stay. Callers without a token are spread by count.
//!
//! A weight of 0 drains an upstream (it gets nothing); all weights 0 is a configuration error.

use crate::config::SplitConfig;
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicU64, Ordering};

/// A route's compiled split.
#[derive(Debug)]
pub struct Split {
    /// (index into the gateway's upstreams, end of its share), in configured order; the ends
    /// are cumulative weights.
    shares: Box<[(usize, u64)]>,
    total: u64,
    step: u64,
    sticky: bool,
    counter: AtomicU64,
}

/// The upstream chosen for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    /// Index into the gateway's upstreams.
    pub upstream: usize,
    /// How: by the caller's `sub`, or by count.
    pub sticky: bool,
}

impl Split {
    /// Compiles a validated split; `index` finds an upstream's position by name.
    pub fn compile(config: &SplitConfig, index: impl Fn(&str) -> usize) -> Split {
        let mut end = 0;
        let shares: Box<[(usize, u64)]> = config
            .weights
            .iter()
            .map(|w| {
                end += u64::from(w.weight);
                (index(&w.upstream), end)
            })
            .collect();
        let total = end.max(1);
        Split {
            shares,
            total,
            step: step_for(total),
            sticky: config.sticky,
            counter: AtomicU64::new(0),
        }
    }

    /// The upstream for a request from `sub` (`None`: no verified caller).
    pub fn choose(&self, sub: Option<&str>) -> Choice {
        match sub.filter(|_| self.sticky) {
            Some(sub) => {
                let digest = Sha256::digest(sub.as_bytes());
                let point = u64::from(u32::from_be_bytes([
                    digest[0], digest[1], digest[2], digest[3],
                ]));
                // point / 2³² of the way along the weights.
                let slot = (point * self.total) >> 32;
                Choice {
                    upstream: self.at(slot),
                    sticky: true,
                }
            }
            None => {
                let n = self.counter.fetch_add(1, Ordering::Relaxed) % self.total;
                Choice {
                    upstream: self.at(n * self.step % self.total),
                    sticky: false,
                }
            }
        }
    }

    /// The upstream whose share holds `slot` (0 ≤ slot < total).
    fn at(&self, slot: u64) -> usize {
        self.shares
            .iter()
            .find(|(_, end)| slot < *end)
            .or(self.shares.last())
            .map_or(0, |(upstream, _)| *upstream)
    }

    /// The weight of the upstream at `index`, out of the total: `(10, 100)`.
    pub fn share_of(&self, index: usize) -> (u64, u64) {
        let mut start = 0;
        for (upstream, end) in &self.shares {
            if *upstream == index {
                return (end - start, self.total);
            }
            start = *end;
        }
        (0, self.total)
    }
}

/// A step that visits every slot of `total` once per `total` requests and spreads neighbours
/// apart: the first number past 0.618 × total (the golden ratio spreads best) that shares no
/// factor with `total`.
fn step_for(total: u64) -> u64 {
    let mut step = (total * 618 / 1000).max(1);
    while gcd(step, total) != 1 {
        step += 1;
    }
    step
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::WeightConfig;

    fn split(weights: &[(&str, u32)], sticky: bool) -> Split {
        let config = SplitConfig {
            sticky,
            weights: weights
                .iter()
                .map(|(u, w)| WeightConfig {
                    upstream: (*u).into(),
                    weight: *w,
                })
                .collect(),
        };
        Split::compile(&config, |name| usize::from(name == "v2"))
    }

    #[test]
    fn by_count_every_hundred_requests_hold_exactly_the_weights() {
        let s = split(&[("v1", 90), ("v2", 10)], false);
        let picks: Vec<usize> = (0..100).map(|_| s.choose(None).upstream).collect();
        assert_eq!(picks.iter().filter(|u| **u == 1).count(), 10);
        // Interleaved, not ten in a row.
        assert!(picks.windows(2).all(|w| w != [1, 1]), "{picks:?}");
    }

    #[test]
    fn zero_drains_and_sticky_users_only_move_onto_a_growing_canary() {
        let drained = split(&[("v1", 0), ("v2", 5)], false);
        assert!((0..20).all(|_| drained.choose(None).upstream == 1));
        let users: Vec<String> = (0..200).map(|i| format!("user-{i}")).collect();
        let at = |s: &Split| -> Vec<usize> {
            users.iter().map(|u| s.choose(Some(u)).upstream).collect()
        };
        let ten = at(&split(&[("v1", 90), ("v2", 10)], true));
        let fifty = at(&split(&[("v1", 1), ("v2", 1)], true));
        assert!(
            ten.iter().zip(&fifty).all(|(a, b)| *a <= *b),
            "nobody moves back"
        );
        let on_canary = ten.iter().filter(|u| **u == 1).count();
        assert!((5..=40).contains(&on_canary), "{on_canary} of 200 at 10 %");
        // The same user, asked again, gets the same answer.
        let s = split(&[("v1", 90), ("v2", 10)], true);
        assert_eq!(s.choose(Some("user-7")), s.choose(Some("user-7")));
    }
}
