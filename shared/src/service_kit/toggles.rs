//! Teaching toggles: make a healthy service slow or flaky on purpose, so a class can watch the
//! gateway's timeouts, retries and circuit breaker react.
//!
//! Two knobs, both off by default: `latency_ms` (every business request waits this long first)
//! and `error_rate` (this fraction of business requests is answered 503 `injected_failure`).
//! They come from the `[toggles]` section of the configuration and can be changed at run time by
//! an ADMIN with `PUT /admin/toggles` (see [`super::admin`]).
//!
//! Chance and time are *injected*: the [`FaultInjector`] asks a [`Dice`] whether to fail and a
//! [`Sleeper`] to wait. Production uses a thread-local RNG and `tokio::time::sleep`; tests pass a
//! dice that always or never fails, a [`SeededDice`] for a repeatable sequence or a
//! [`ScriptedDice`] for an exact one, and a [`RecordingSleeper`] that records what it was asked to
//! wait instead of waiting — so no test depends on luck or on the wall clock.

use futures::future::BoxFuture;
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde::{Deserialize, Serialize};
use std::{
    sync::{Arc, Mutex, PoisonError, RwLock},
    time::Duration,
};

/// The `[toggles]` configuration section, and the body of `GET`/`PUT /admin/toggles`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Toggles {
    /// Extra latency added before every business request, in milliseconds (0 = none).
    pub latency_ms: u64,
    /// Fraction of business requests answered with 503, from 0.0 (none) to 1.0 (all).
    pub error_rate: f64,
}

impl Default for Toggles {
    fn default() -> Self {
        Toggles {
            latency_ms: 0,
            error_rate: 0.0,
        }
    }
}

impl Toggles {
    /// The longest latency accepted: enough to trip any sensible gateway timeout, short enough
    /// that a typo does not park every request for an hour.
    pub const MAX_LATENCY_MS: u64 = 60_000;

    /// Checks the ranges; the message names the key and the allowed values.
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.error_rate) {
            return Err("`error_rate` must be a number from 0.0 to 1.0".to_owned());
        }
        if self.latency_ms > Self::MAX_LATENCY_MS {
            return Err(format!(
                "`latency_ms` must be at most {} (one minute)",
                Self::MAX_LATENCY_MS
            ));
        }
        Ok(())
    }
}

/// A source of chance: each roll is a number in `[0.0, 1.0)`.
pub trait Dice: Send + Sync + 'static {
    /// One roll.
    fn roll(&self) -> f64;
}

/// Production dice: the thread-local RNG.
#[derive(Debug, Clone, Copy, Default)]
pub struct ThreadRngDice;

impl Dice for ThreadRngDice {
    fn roll(&self) -> f64 {
        rand::thread_rng().r#gen::<f64>()
    }
}

/// Dice with a fixed seed: the same seed gives the same sequence of failures, run after run.
#[derive(Debug)]
pub struct SeededDice(Mutex<StdRng>);

impl SeededDice {
    /// Dice whose sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        SeededDice(Mutex::new(StdRng::seed_from_u64(seed)))
    }
}

impl Dice for SeededDice {
    fn roll(&self) -> f64 {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .r#gen::<f64>()
    }
}

/// Something that can wait.
pub trait Sleeper: Send + Sync + 'static {
    /// Resolves after `duration`.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;
}

/// Production sleeper: `tokio::time::sleep` (so `tokio::time::pause` controls it in tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// Dice that return the given rolls in turn (tests script exactly which requests fail).
/// Panics when asked for more rolls than it was given: the test expected fewer requests to
/// consult the dice.
#[derive(Debug)]
pub struct ScriptedDice(pub Mutex<Vec<f64>>);

impl ScriptedDice {
    /// Dice that return `rolls`, first to last.
    pub fn new(rolls: Vec<f64>) -> Self {
        ScriptedDice(Mutex::new(rolls))
    }
}

impl Dice for ScriptedDice {
    fn roll(&self) -> f64 {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(0)
    }
}

/// A sleeper that records what it was asked to wait and returns at once (tests measure injected
/// latency without waiting).
#[derive(Debug, Default)]
pub struct RecordingSleeper(pub Mutex<Vec<Duration>>);

impl Sleeper for RecordingSleeper {
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(duration);
        Box::pin(async {})
    }
}

/// What to do to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Wait this long before handling it.
    pub delay: Duration,
    /// Then answer 503 instead of handling it.
    pub fail: bool,
}

/// The current toggles, shared by the middleware and the admin endpoint. Cheap to clone.
#[derive(Clone)]
pub struct FaultInjector {
    inner: Arc<Inner>,
}

struct Inner {
    // A std lock is right here: it is held for a copy of 16 bytes, never across an `.await`.
    toggles: RwLock<Toggles>,
    /// The toggles the service started with: what `POST /admin/reset` restores.
    initial: Toggles,
    dice: Arc<dyn Dice>,
    sleeper: Arc<dyn Sleeper>,
}

impl std::fmt::Debug for FaultInjector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultInjector")
            .field("toggles", &self.toggles())
            .finish_non_exhaustive()
    }
}

impl FaultInjector {
    /// Production set-up: real randomness, real sleeping.
    pub fn new(toggles: Toggles) -> Self {
        Self::with_parts(toggles, Arc::new(ThreadRngDice), Arc::new(TokioSleeper))
    }

    /// A set-up with the given dice and sleeper (tests).
    pub fn with_parts(toggles: Toggles, dice: Arc<dyn Dice>, sleeper: Arc<dyn Sleeper>) -> Self {
        FaultInjector {
            inner: Arc::new(Inner {
                toggles: RwLock::new(toggles),
                initial: toggles,
                dice,
                sleeper,
            }),
        }
    }

    /// The toggles in force.
    pub fn toggles(&self) -> Toggles {
        *self
            .inner
            .toggles
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Replaces the toggles after checking them.
    pub fn set(&self, toggles: Toggles) -> Result<(), String> {
        toggles.validate()?;
        *self
            .inner
            .toggles
            .write()
            .unwrap_or_else(PoisonError::into_inner) = toggles;
        Ok(())
    }

    /// Puts back the toggles the service started with (its configuration's) and returns them.
    pub fn reset(&self) -> Toggles {
        let initial = self.inner.initial;
        *self
            .inner
            .toggles
            .write()
            .unwrap_or_else(PoisonError::into_inner) = initial;
        initial
    }

    /// Decides the fate of one request. The dice are rolled only when failures are switched on,
    /// so a scripted dice in a test is not consumed by requests that could not fail anyway.
    pub fn decide(&self) -> Decision {
        let toggles = self.toggles();
        let fail = toggles.error_rate > 0.0 && self.inner.dice.roll() < toggles.error_rate;
        Decision {
            delay: Duration::from_millis(toggles.latency_ms),
            fail,
        }
    }

    /// Waits `duration` with the injected sleeper.
    pub fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        self.inner.sleeper.sleep(duration)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_checked() {
        assert!(Toggles::default().validate().is_ok());
        let bad_rate = Toggles {
            error_rate: 1.5,
            ..Toggles::default()
        };
        assert!(bad_rate.validate().unwrap_err().contains("error_rate"));
        let bad_latency = Toggles {
            latency_ms: Toggles::MAX_LATENCY_MS + 1,
            ..Toggles::default()
        };
        assert!(bad_latency.validate().unwrap_err().contains("latency_ms"));
    }

    #[test]
    fn rates_zero_and_one_are_never_and_always() {
        let never = FaultInjector::new(Toggles::default());
        let always = FaultInjector::new(Toggles {
            error_rate: 1.0,
            ..Toggles::default()
        });
        for _ in 0..1000 {
            assert!(!never.decide().fail);
            assert!(always.decide().fail);
        }
    }

    #[test]
    fn seeded_dice_repeat_their_sequence() {
        let toggles = Toggles {
            error_rate: 0.5,
            ..Toggles::default()
        };
        let run = |seed| {
            let injector = FaultInjector::with_parts(
                toggles,
                Arc::new(SeededDice::new(seed)),
                Arc::new(TokioSleeper),
            );
            (0..64).map(|_| injector.decide().fail).collect::<Vec<_>>()
        };
        let first = run(7);
        assert_eq!(first, run(7));
        // Half the requests fail, give or take: the rate is applied, not ignored.
        let failures = first.iter().filter(|f| **f).count();
        assert!((16..=48).contains(&failures), "{failures} of 64 failed");
    }

    #[test]
    fn an_invalid_update_leaves_the_toggles_unchanged() {
        let injector = FaultInjector::new(Toggles::default());
        let result = injector.set(Toggles {
            error_rate: -0.1,
            latency_ms: 5,
        });
        assert!(result.is_err());
        assert_eq!(injector.toggles(), Toggles::default());
    }
}
