//! `user-service`: reads its configuration, builds, serves until Ctrl-C or SIGTERM.

use shared::service_kit::ServiceConfig;
use user_service::{Config, build};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    shared::telemetry::init("info");
    let config = Config::load()?;
    let app = build(config).await?;
    tracing::info!(address = %app.local_addr(), "user-service listening");
    app.run_until(shared::server::shutdown_signal()).await?;
    Ok(())
}
