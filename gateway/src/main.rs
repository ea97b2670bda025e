//! `gateway [--config FILE]` runs the gateway (`SIGHUP` reloads FILE); `gateway check-config FILE` only validates a
//! configuration file (with the `GATEWAY__…` environment applied) and exits non-zero with every
//! problem, each naming its line, key and fix; `gateway explain-route METHOD PATH [--config
//! FILE]` prints which route a request would take and which policies apply (the demo
//! configuration without `--config`), and exits non-zero when the gateway would refuse it.

use gateway::{Config, config::load};
use std::{path::Path, process::ExitCode};

// A request allocates a few dozen small objects (headers, futures, buffers); mimalloc serves them
// with fewer instructions than glibc malloc (docs/performance.md has the measurement).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<ExitCode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("check-config") => return Ok(check_config(args.get(1).map(String::as_str))),
        Some("explain-route") => return Ok(explain_route(&args[1..])),
        _ => {}
    }
    runtime()?.block_on(serve())
}

/// Tokio's runtime. With one worker (`TOKIO_WORKER_THREADS=1`) it is a current-thread runtime:
/// one event loop, like one nginx worker, without the work-stealing scheduler's bookkeeping
/// (docs/performance.md has the measurement). Otherwise the multi-thread runtime, one worker per
/// core (or `TOKIO_WORKER_THREADS`).
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    if std::env::var("TOKIO_WORKER_THREADS").is_ok_and(|v| v.trim() == "1") {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    }
}

async fn serve() -> anyhow::Result<ExitCode> {
    shared::telemetry::init("info");
    let config = Config::load()?;
    let app = gateway::build(config).await?;
    tracing::info!(address = %app.local_addr(), admin = %app.admin_addr(), "gateway listening");
    // `SIGHUP` (and, with `[reload] watch`, a changed file) reloads without a restart.
    gateway::watch::spawn(&app.live(), shared::config::path_from_args());
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

fn explain_route(args: &[String]) -> ExitCode {
    let (method, path) = match args {
        [method, path, ..] if !method.starts_with("--") => (method, path),
        _ => {
            eprintln!("usage: gateway explain-route METHOD PATH [--config FILE]");
            return ExitCode::from(2);
        }
    };
    let config = match args.iter().position(|a| a == "--config") {
        None => Config::demo(),
        Some(at) => {
            let Some(file) = args.get(at + 1) else {
                eprintln!("usage: gateway explain-route METHOD PATH [--config FILE]");
                return ExitCode::from(2);
            };
            match load::load(Some(Path::new(file)), load::ENV_PREFIX) {
                Ok(config) => config,
                Err(errors) => {
                    eprintln!("{errors}");
                    return ExitCode::FAILURE;
                }
            }
        }
    };
    let (text, forwarded) = gateway::explain::explain(&config, method, path);
    print!("{text}");
    if forwarded {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
