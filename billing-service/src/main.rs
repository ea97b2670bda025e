//! `billing-service`: reads its configuration, builds, serves until Ctrl-C or SIGTERM.

use billing_service::{Config, build};
use shared::service_kit::ServiceConfig;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    shared::telemetry::init("info");
    let config = Config::load()?;
    let app = build(config).await?;
    tracing::info!(address = %app.local_addr(), "billing-service listening");
    app.run_until(shared::server::shutdown_signal()).await?;
    Ok(())
}
