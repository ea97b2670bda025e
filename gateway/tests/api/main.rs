//! End-to-end tests of the gateway: an echo backend and the gateway, both on port 0, driven over
//! real sockets (reqwest). Attacks (raw bytes, forged tokens, spoofed headers, slow clients) are
//! the adversarial suite's, in `tests/adversarial/`.

mod aggregation;
mod auth;
mod cli;
mod console;
mod cors;
mod explain;
mod failures;
mod header_rewrites;
mod headers;
mod helpers;
mod oauth_errors;
mod observability;
mod ratelimit;
mod redis;
mod registration;
mod reload;
mod resilience;
mod response_cache;
mod routing;
mod scopes;
mod security_headers;
mod startup;
mod tls;
mod traffic_split;
