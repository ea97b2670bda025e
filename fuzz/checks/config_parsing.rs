//! The configuration loader's properties, for any file an operator might write.
//!
//! `gateway.toml` is read once at start and again on every reload, and a reload must never take a
//! running gateway down. So, for any text:
//!
//! 1. parsing, validating and compiling never panic (a reload runs them in the live process);
//! 2. a refusal is explained: at least one diagnostic, each with a message and a fix, and a
//!    location (if any) that points inside the text;
//! 3. a file that is accepted compiles into a gateway (validation is the only judge: nothing it
//!    lets through fails later), and its routes and aggregates are all in the compiled tables.
//!
//! The fuzzer starts from the files the project ships (`fuzz/corpus/config_parsing`), so its
//! mutations stay close to real configurations.

use gateway::{config::Config, state::Gateway};
use std::sync::OnceLock;

/// Checks every property for `data`; panics (a fuzzer finding) when one fails.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let config = match Config::from_toml(text, "fuzz.toml") {
        Ok(config) => config,
        Err(errors) => {
            assert!(!errors.diagnostics.is_empty(), "a refusal without a reason");
            let lines = text.lines().count().max(1);
            for d in &errors.diagnostics {
                assert!(
                    !d.message.trim().is_empty(),
                    "a diagnostic without a message"
                );
                assert!(!d.fix.trim().is_empty(), "`{}` has no fix", d.message);
                if let Some((line, column)) = d.location {
                    assert!(
                        (1..=lines + 1).contains(&line) && column >= 1,
                        "`{}` points at {line}:{column}, outside the text",
                        d.message
                    );
                }
            }
            assert!(!errors.to_string().is_empty());
            return;
        }
    };
    let _inside = runtime().enter();
    let gateway = Gateway::new(&config)
        .unwrap_or_else(|e| panic!("validated, then refused when compiled: {e:#}"));
    for aggregate in &config.aggregates {
        assert!(
            gateway.aggregates.find(&aggregate.path).is_some(),
            "aggregate `{}` lost in compilation",
            aggregate.name
        );
    }
}

/// Compiling a gateway may start background work (Redis connections, OTLP export), as it
/// does in the server: give it a runtime to start it on.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    })
}
