//! The auth-service binary: `auth-service [--config auth-service.toml]`.
//!
//! `auth-service hash-secret` reads a secret from standard input and prints its argon2id hash,
//! for the `secret_hash` of an OAuth client in the configuration.

use shared::service_kit::ServiceConfig;
use std::io::Read;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::args().nth(1).as_deref() == Some("hash-secret") {
        let mut secret = String::new();
        std::io::stdin().read_to_string(&mut secret)?;
        let secret = secret.trim_end_matches(['\r', '\n']).to_owned();
        println!("{}", auth_service::passwords::hash(secret.into()).await?);
        return Ok(());
    }
    shared::telemetry::init("info");
    let config = auth_service::Config::load()?;
    let app = auth_service::build(config).await?;
    tracing::info!(addr = %app.local_addr(), "auth-service listening");
    app.run_until(shared::server::shutdown_signal()).await?;
    Ok(())
}
