//! What the rate limiter has done, for operators and tests (`GET /ratelimitz` on the admin
//! listener shows it). Counts only (no keys: they name users and addresses).
//!
//! ```json
//! {"redis": {"configured": true, "errors": 3}, "failed_open": 2, "failed_closed": 1,
//!  "limited": 40, "local_keys": 17}
//! ```

use super::Limiter;
use serde_json::{Value, json};
use std::sync::atomic::Ordering;

/// The counters as JSON.
pub fn report(limiter: &Limiter) -> Value {
    let stats = &limiter.stats;
    json!({
        "redis": {
            "configured": limiter.has_redis(),
            "errors": limiter.redis_errors(),
        },
        "failed_open": stats.failed_open.load(Ordering::Relaxed),
        "failed_closed": stats.failed_closed.load(Ordering::Relaxed),
        "limited": stats.limited.load(Ordering::Relaxed),
        "local_keys": limiter.local_keys(),
    })
}
