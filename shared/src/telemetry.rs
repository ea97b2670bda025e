//! One `tracing` set-up for every service.
//!
//! `RUST_LOG` picks the level (default `info`); `LOG_FORMAT=json` switches from text to one JSON
//! object per line for log collectors. Calling [`init`] twice (four services in one demo
//! process, or many tests) is harmless: the first call wins.
//!
//! What a line carries: every line written while a request is handled is inside that request's
//! span, whose fields are its `request_id`, its W3C `trace_id` and this service's `span_id`
//! ([`crate::request_id`], [`crate::trace_context`]) — so one `grep <trace id>` over the logs of
//! the gateway and every service finds a request's whole journey. What a line never carries: a
//! token, a password, a client secret or a signing key. Secrets are `SecretString`s (their
//! `Debug` is redacted), handlers log reasons and ids rather than inputs, and an end-to-end test
//! (`tests/log_hygiene.rs`) greps a whole demo run at `debug` level for them.

use tracing::Subscriber;
use tracing_subscriber::{EnvFilter, fmt, fmt::MakeWriter, prelude::*};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Compact human-readable lines (the default): `INFO request{request_id=… trace_id=…}: …`.
    Text,
    /// One JSON object per line, span fields included (`span`, `spans`), for log collectors.
    Json,
}

impl LogFormat {
    /// `LOG_FORMAT=json` (any case) is [`LogFormat::Json`]; anything else, or nothing, is text.
    pub fn from_env() -> LogFormat {
        match std::env::var("LOG_FORMAT") {
            Ok(v) if v.eq_ignore_ascii_case("json") => LogFormat::Json,
            _ => LogFormat::Text,
        }
    }
}

/// The subscriber every service logs through: `filter`, written in `format` to `writer`.
/// [`init`] installs it with standard output as the writer; a test may install it with a buffer
/// to read what the services would have logged.
pub fn subscriber<W>(
    filter: EnvFilter,
    format: LogFormat,
    writer: W,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Json => {
            Box::new(registry.with(fmt::layer().json().flatten_event(true).with_writer(writer)))
        }
        LogFormat::Text => Box::new(registry.with(fmt::layer().compact().with_writer(writer))),
    }
}

/// Installs the global subscriber if none is installed yet.
pub fn init(default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    // `try_init` also routes the `log` crate's records (some dependencies use it) into tracing.
    let _ = subscriber(filter, LogFormat::from_env(), std::io::stdout).try_init();
}
