//! "What day is it?", injected. Whether an invoice is overdue depends on the date, so the date
//! comes from a [`Clock`] in the state: the real one in production, a fixed one in tests — no
//! test has to wait for midnight or depend on the day it runs.

use std::sync::Arc;
use time::{Date, OffsetDateTime};

/// A source of today's date (UTC).
pub trait Clock: Send + Sync + 'static {
    /// Today.
    fn today(&self) -> Date;
}

/// The system clock, in UTC (invoices are dated in UTC so every replica agrees).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn today(&self) -> Date {
        OffsetDateTime::now_utc().date()
    }
}

/// A clock stopped on one date (tests, reproducible demos).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub Date);

impl Clock for FixedClock {
    fn today(&self) -> Date {
        self.0
    }
}

/// The shared handle the state holds.
pub type SharedClock = Arc<dyn Clock>;
