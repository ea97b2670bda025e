//! Fault runs: the whole system under a steady load while something goes wrong, each printing
//! one line of figures (`FAULT <run>: …`).
//!
//! | run | what goes wrong | what must hold |
//! |---|---|---|
//! | [`soak`] | nothing, for minutes | zero unexpected answers, the gateway's memory flat |
//! | [`drain`] | `SIGTERM` with requests in flight | each finishes normally; new connections refused; exit 0 |
//! | [`backend_restart`] | a backend instance stops and comes back | two instances: no failed request; one: few failures, each explained, service back within two breaker periods |
//! | [`redis_away`] | Redis stops and comes back | fail-open route serves, fail-closed route refuses with a reason; both limit again |
//! | [`jwks_away`] | the auth-service (and its JWKS) stops and comes back rotated | cached keys still verify, nothing unverifiable is accepted, the new key is picked up |
//!
//! Every test is `#[ignore]`d so that `cargo test --workspace` stays quick; `.ci/run` runs them
//! in a step of their own, one at a time (they measure time and memory):
//!
//! ```sh
//! cargo build -p gateway --bin gateway    # the soak and the drain run the real binary
//! cargo test --workspace --test faults -- --ignored --test-threads=1 --nocapture
//! ```
//!
//! `docs/faults.md` explains each run and how to run the soak longer.

mod backend_restart;
mod drain;
mod jwks_away;
mod redis_away;
mod soak;
mod support;
