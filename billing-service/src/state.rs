//! [`AppState`]: everything a handler may need, built once at start and cloned per request.

use crate::{
    clock::{SharedClock, SystemClock},
    config::Config,
    seed,
};
use axum::extract::FromRef;
use shared::Verifier;
use shared::service_kit::{FaultInjector, db};
use sqlx::SqlitePool;
use std::sync::Arc;

/// The billing-service's state. Every field is a cheap handle; nothing lives in a static.
#[derive(Clone, FromRef)]
pub struct AppState {
    /// The invoice store.
    pub db: SqlitePool,
    /// Checks bearer tokens (needed by [`shared::Authenticated`]).
    pub verifier: Verifier,
    /// The teaching toggles.
    pub faults: FaultInjector,
    /// Today's date, for "overdue" and default issue dates.
    pub clock: SharedClock,
    /// Currency of `GET /billing/summary` when the request names none.
    #[from_ref(skip)]
    pub default_currency: Arc<str>,
    /// Largest request body accepted, in bytes.
    #[from_ref(skip)]
    pub body_limit_bytes: usize,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("faults", &self.faults)
            .field("default_currency", &self.default_currency)
            .field("body_limit_bytes", &self.body_limit_bytes)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Opens the database, runs the migrations, seeds the demo data (demo mode only) and builds
    /// the token verifier, with the system clock.
    pub async fn from_config(config: &Config) -> anyhow::Result<AppState> {
        Self::from_config_with_clock(config, Arc::new(SystemClock)).await
    }

    /// Like [`AppState::from_config`] with another clock (tests; demo data is dated from it).
    pub async fn from_config_with_clock(
        config: &Config,
        clock: SharedClock,
    ) -> anyhow::Result<AppState> {
        config.validate()?;
        let verifier = config.verifier_config()?.build()?;
        let db = db::connect(&config.database).await?;
        sqlx::migrate!("./migrations").run(&db).await?;
        if config.demo {
            seed::seed(&db, clock.today()).await?;
        }
        Ok(AppState {
            db,
            verifier,
            faults: FaultInjector::new(config.toggles),
            clock,
            default_currency: Arc::from(config.default_currency.as_str()),
            body_limit_bytes: config.body_limit_bytes,
        })
    }
}
