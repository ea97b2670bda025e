//! `gateway [--config FILE]` runs the gateway; `gateway check-config FILE` only validates a
//! configuration file (with the `GATEWAY__…` environment applied) and exits non-zero with every
//! problem, each naming its line, key and fix.

use gateway::{Config, config::load};

// A request allocates a few dozen small objects (headers, futures, buffers); mimalloc serves them
// with about a third of glibc malloc's instructions (docs/performance.md has the measurement).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::{path::Path, process::ExitCode};

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("check-config") {
        return Ok(check_config(args.get(1).map(String::as_str)));
    }
    shared::telemetry::init("info");
    let config = Config::load()?;
    let app = gateway::build(config).await?;
    tracing::info!(address = %app.local_addr(), "gateway listening");
    app.run_until(shared::server::shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

fn check_config(file: Option<&str>) -> ExitCode {
    let Some(file) = file else {
        eprintln!("usage: gateway check-config FILE");
        return ExitCode::from(2);
    };
    match load::load(Some(Path::new(file)), load::ENV_PREFIX) {
        Ok(config) => {
            println!(
                "{file}: ok ({} upstreams, {} routes)",
                config.upstreams.len(),
                config.routes.len()
            );
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprintln!("{errors}");
            eprintln!("{file}: {} problem(s) found", errors.diagnostics.len());
            ExitCode::FAILURE
        }
    }
}
