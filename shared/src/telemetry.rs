//! One `tracing` set-up for every service.
//!
//! `RUST_LOG` picks the level (default `info`); `LOG_FORMAT=json` switches to one JSON object per
//! line for log collectors. Calling [`init`] twice (four services in one demo process, or many
//! tests) is harmless: the first call wins.

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

/// Installs the global subscriber if none is installed yet.
pub fn init(default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let registry = tracing_subscriber::registry().with(filter);
    let _ = if json {
        registry
            .with(fmt::layer().json().flatten_event(true))
            .try_init()
    } else {
        registry.with(fmt::layer().compact()).try_init()
    };
}
