//! End-to-end tests: the four services started in-process on port 0, driven over real HTTP.
//!
//! One test binary with a module per area keeps link time down (cargo's own test suite does the
//! same). Each test starts its own [`helpers::TestDemo`], so tests never share state or ports.

mod aggregation;
mod bench_smoke;
mod class_script;
mod classroom;
mod exercises;
mod helpers;
mod lecture;
mod metrics;
mod module_graph;
mod profiles;
mod public_url;
mod ratelimit;
mod resilience;
mod scopes;
mod surface;
mod trace_context;
