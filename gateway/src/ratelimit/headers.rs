//! The IETF rate-limit header fields (draft-ietf-httpapi-ratelimit-headers-09/10), as
//! structured-field lists with one item per policy:
//!
//! ```text
//! RateLimit-Policy: "per-user";q=600;w=60, "daily";q=10000;w=86400
//! RateLimit: "per-user";r=99;t=1, "daily";r=9999;t=9
//! ```
//!
//! `q`/`w`: the policy's quota and window as configured (`rate` per `period`). `r`: requests
//! that would still pass right now. `t`: seconds until the allowance is whole again. GCRA has
//! no window that "resets" all at once; its allowance refills continuously, one request per
//! `w/q` seconds, so `t` is when it is full, and a client may well get a request through
//! sooner. On a refusal, `Retry-After` (RFC 9110 §10.2.3, whole seconds rounded up) says when
//! one request will fit again.

use super::{gcra::Outcome, policy::Policy};
use http::{HeaderMap, HeaderName, HeaderValue};
use std::fmt::Write;

/// `RateLimit-Policy`.
pub static RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
/// `RateLimit`.
pub static RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");

/// A request refused by a policy: the 429 answer's facts.
#[derive(Debug)]
pub struct Refusal {
    /// The policy that refused.
    pub policy: Box<str>,
    /// `Retry-After`, in whole seconds (at least 1).
    pub retry_after_secs: u64,
    /// `RateLimit-Policy` and `RateLimit` for the policies checked.
    pub headers: HeaderMap,
}

/// Sets both fields for the policies checked (nothing when there are none).
pub fn annotate(policies: &[(&Policy, Option<Outcome>)], headers: &mut HeaderMap) {
    if policies.is_empty() {
        return;
    }
    let mut policy_field = String::with_capacity(40 * policies.len());
    let mut state_field = String::with_capacity(32 * policies.len());
    for (policy, outcome) in policies {
        if !policy_field.is_empty() {
            policy_field.push_str(", ");
        }
        let _ = write!(
            policy_field,
            "\"{}\";q={};w={}",
            policy.name, policy.quota, policy.window_secs
        );
        if let Some(outcome) = outcome {
            if !state_field.is_empty() {
                state_field.push_str(", ");
            }
            let _ = write!(
                state_field,
                "\"{}\";r={};t={}",
                policy.name,
                outcome.remaining,
                super::gcra::ceil_secs(outcome.reset)
            );
        }
    }
    if let Ok(value) = HeaderValue::try_from(policy_field) {
        headers.insert(RATELIMIT_POLICY.clone(), value);
    }
    if !state_field.is_empty()
        && let Ok(value) = HeaderValue::try_from(state_field)
    {
        headers.insert(RATELIMIT.clone(), value);
    }
}
