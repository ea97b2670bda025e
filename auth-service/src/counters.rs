//! What the auth-service counts besides HTTP traffic (`GET /metrics`, with the kit's
//! `http_server_*` metrics): how logins end, and how often a stolen refresh token shows itself.
//!
//! | metric | labels | what |
//! |---|---|---|
//! | `auth_logins_total` | `outcome`: `success`, `invalid_credentials`, `throttled` | password checks, by `/auth/login` and the OAuth password grant alike |
//! | `auth_refresh_reuse_detected_total` | | a rotated refresh token presented again (its family is then revoked) |
//!
//! A rise in `invalid_credentials` is someone guessing passwords; `throttled` shows the
//! throttle holding them off; any reuse detected deserves a look (RFC 9700 §4.14.2).

use metrics::Counter;
use shared::service_kit::ServiceMetrics;

/// How a password check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginOutcome {
    /// The password matched.
    Success,
    /// Unknown account or wrong password (the same to the caller).
    InvalidCredentials,
    /// Refused without checking: the account is locked for now.
    Throttled,
}

/// The auth-service's own counters, registered once at start.
#[derive(Debug, Clone)]
pub struct Counters {
    logins: [Counter; 3],
    refresh_reuse: Counter,
}

impl Counters {
    /// Registers the counters in `metrics` (at 0, so they show before the first event).
    pub fn new(metrics: &ServiceMetrics) -> Counters {
        let login = |outcome| {
            metrics.counter(
                "auth_logins_total",
                "Password checks, by outcome.",
                &[("outcome", outcome)],
            )
        };
        Counters {
            logins: [
                login("success"),
                login("invalid_credentials"),
                login("throttled"),
            ],
            refresh_reuse: metrics.counter(
                "auth_refresh_reuse_detected_total",
                "Rotated refresh tokens presented again; each revoked its family.",
                &[],
            ),
        }
    }

    /// Counts one password check.
    pub fn login(&self, outcome: LoginOutcome) {
        self.logins[outcome as usize].increment(1);
    }

    /// Counts one detected refresh-token reuse.
    pub fn refresh_reuse(&self) {
        self.refresh_reuse.increment(1);
    }
}
