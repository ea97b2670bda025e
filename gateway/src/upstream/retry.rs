//! Retries: which failed requests may be sent again, and a budget so they cannot multiply load.
//!
//! A retry is only safe when sending the request twice cannot do something twice. So:
//!
//! - the method must be idempotent (RFC 9110 §9.2.2: `GET`, `HEAD`, `OPTIONS`, `TRACE`, `PUT`,
//!   `DELETE`) — a `POST` is never retried, whatever failed;
//! - the request must have no body: a body is streamed to the upstream as it arrives and is gone
//!   once sent, so "retrying" it would send a truncated or empty body;
//! - the failure must be a connection failure (the request never reached the target) or a status
//!   the upstream's `retry.statuses` lists. A timeout is not retried: the target may still be
//!   working on it, and the client's wait would double.
//!
//! The **budget** (Finagle's idea) stops a retry storm: when a target is down, naive retries turn
//! every request into two or three. Every request deposits `budget_percent`/100 of a retry, each
//! retry withdraws a whole one, and the balance is capped at `min_retries`. Over time at most
//! `budget_percent`% of requests are retried; the cap allows a small burst at start-up.
//! Fixed-point milli-retries in one atomic: no lock, no clock.

use crate::config::RetryConfig;
use http::{HeaderMap, Method, header};
use std::sync::atomic::{AtomicI64, Ordering};

/// One retry, in the budget's fixed-point unit.
const ONE: i64 = 1_000;

/// An upstream's retry policy.
#[derive(Debug)]
pub struct RetryPolicy {
    /// Extra attempts after the first.
    pub attempts: u32,
    statuses: Vec<u16>,
    budget: RetryBudget,
}

impl RetryPolicy {
    /// From the validated configuration.
    pub fn new(config: &RetryConfig) -> RetryPolicy {
        RetryPolicy {
            attempts: config.attempts,
            statuses: config.statuses.clone(),
            budget: RetryBudget::new(config.budget_percent, config.min_retries),
        }
    }

    /// May this request ever be retried? Idempotent method and no body.
    pub fn request_is_retryable(
        &self,
        method: &Method,
        headers: &HeaderMap,
        body_empty: bool,
    ) -> bool {
        self.attempts > 0 && is_idempotent(method) && body_empty && !declares_body(headers)
    }

    /// Could any response status be retried? Only then must a request be kept for a second
    /// sending (a connection failure leaves it unsent, see [`super::call::exchange`]).
    pub fn retries_some_status(&self) -> bool {
        !self.statuses.is_empty()
    }

    /// Is a response with this status worth another attempt?
    pub fn retries_status(&self, status: u16) -> bool {
        self.statuses.contains(&status)
    }

    /// Every request earns a fraction of a retry.
    pub fn deposit(&self) {
        self.budget.deposit();
    }

    /// Takes one retry from the budget; `false` when it is spent.
    pub fn withdraw(&self) -> bool {
        self.budget.withdraw()
    }
}

/// RFC 9110 §9.2.2.
pub fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    )
}

/// True when the headers announce a body (a non-zero length, or chunked framing).
fn declares_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0")
}

/// A token bucket of retries, filled by requests instead of by time.
#[derive(Debug)]
pub struct RetryBudget {
    balance: AtomicI64,
    per_request: i64,
    cap: i64,
}

impl RetryBudget {
    /// `percent` retries per 100 requests; `min_retries` available (and the most banked).
    pub fn new(percent: u32, min_retries: u32) -> RetryBudget {
        let cap = i64::from(min_retries) * ONE;
        RetryBudget {
            balance: AtomicI64::new(cap),
            per_request: i64::from(percent) * ONE / 100,
            cap: cap.max(ONE),
        }
    }

    /// One request's share.
    pub fn deposit(&self) {
        let _ = self
            .balance
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                (b < self.cap).then(|| (b + self.per_request).min(self.cap))
            });
    }

    /// One retry, if the balance allows.
    pub fn withdraw(&self) -> bool {
        self.balance
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                (b >= ONE).then_some(b - ONE)
            })
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_idempotent_bodiless_requests_are_retryable() {
        let policy = RetryPolicy::new(&RetryConfig::default());
        let none = HeaderMap::new();
        assert!(policy.request_is_retryable(&Method::GET, &none, true));
        assert!(policy.request_is_retryable(&Method::DELETE, &none, true));
        assert!(!policy.request_is_retryable(&Method::POST, &none, true));
        assert!(!policy.request_is_retryable(&Method::PATCH, &none, true));
        assert!(!policy.request_is_retryable(&Method::PUT, &none, false));
        let mut chunked = HeaderMap::new();
        chunked.insert(header::TRANSFER_ENCODING, "chunked".parse().unwrap());
        assert!(!policy.request_is_retryable(&Method::PUT, &chunked, true));
        let mut zero = HeaderMap::new();
        zero.insert(header::CONTENT_LENGTH, "0".parse().unwrap());
        assert!(policy.request_is_retryable(&Method::PUT, &zero, true));
        let off = RetryPolicy::new(&RetryConfig {
            attempts: 0,
            ..RetryConfig::default()
        });
        assert!(!off.request_is_retryable(&Method::GET, &none, true));
    }

    #[test]
    fn the_budget_allows_the_reserve_then_the_percentage() {
        let budget = RetryBudget::new(20, 2);
        assert!(budget.withdraw());
        assert!(budget.withdraw());
        assert!(!budget.withdraw(), "the reserve is spent");
        for _ in 0..4 {
            budget.deposit();
        }
        assert!(!budget.withdraw(), "4 requests at 20% earn 0.8 of a retry");
        budget.deposit();
        assert!(budget.withdraw(), "5 requests at 20% earn one retry");
        assert!(!budget.withdraw());
    }

    #[test]
    fn the_balance_is_capped() {
        let budget = RetryBudget::new(100, 3);
        for _ in 0..1_000 {
            budget.deposit();
        }
        let granted = (0..10).filter(|_| budget.withdraw()).count();
        assert_eq!(granted, 3);
    }
}
