//! [`AppState`]: everything a handler may need, built once at start and cloned per request.

use crate::{config::Config, seed};
use axum::extract::FromRef;
use shared::Verifier;
use shared::service_kit::{FaultInjector, db};
use sqlx::SqlitePool;

/// The user-service's state. Every field is a cheap handle (`Arc` inside); nothing lives in a
/// static, so two services in one process (the demo, the tests) never share state by accident.
#[derive(Clone, FromRef)]
pub struct AppState {
    /// The profile store.
    pub db: SqlitePool,
    /// Checks bearer tokens (needed by [`shared::Authenticated`]).
    pub verifier: Verifier,
    /// The teaching toggles.
    pub faults: FaultInjector,
    /// Largest request body accepted, in bytes.
    #[from_ref(skip)]
    pub body_limit_bytes: usize,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("faults", &self.faults)
            .field("body_limit_bytes", &self.body_limit_bytes)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Opens the database, runs the migrations, seeds the demo data (demo mode only) and builds
    /// the token verifier.
    pub async fn from_config(config: &Config) -> anyhow::Result<AppState> {
        config.validate()?;
        let verifier = config.verifier_config()?.build()?;
        let db = db::connect(&config.database).await?;
        sqlx::migrate!("./migrations").run(&db).await?;
        if config.demo {
            seed::seed(&db).await?;
        }
        Ok(AppState {
            db,
            verifier,
            faults: FaultInjector::new(config.toggles),
            body_limit_bytes: config.body_limit_bytes,
        })
    }
}
