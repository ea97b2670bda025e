//! [`AppState`]: everything a handler may need, built once at start and cloned per request.

use crate::{config::Config, seed};
use axum::extract::FromRef;
use shared::Verifier;
use shared::service_kit::{
    BodyLimit, FaultInjector, Readiness, ServiceConfig, ServiceMetrics, db, settings,
};
use sqlx::SqlitePool;

/// The user-service's state. Every field is a cheap handle (`Arc` inside); nothing lives in a
/// static, so two services in one process (the demo, the tests) never share state by accident.
#[derive(Debug, Clone, FromRef)]
pub struct AppState {
    /// The profiles, one row per account (seeded or provisioned by the auth-service).
    pub db: SqlitePool,
    /// Checks the bearer token of every `/users/*` request ([`shared::Authenticated`]).
    pub verifier: Verifier,
    /// What the service counts (`GET /metrics`).
    pub metrics: ServiceMetrics,
    /// The teaching toggles around the `/users/*` routes.
    pub faults: FaultInjector,
    /// `[server] max_body_bytes`: a `PUT /users/me` body larger than this gets 413.
    #[from_ref(skip)]
    pub body_limit: BodyLimit,
}

impl AppState {
    /// Checks the configuration, opens and migrates the profile store, seeds the demo profiles
    /// (demo mode only) and builds the token verifier.
    pub async fn from_config(config: &Config) -> anyhow::Result<AppState> {
        config.validate()?;
        let db = db::open(&config.database, &sqlx::migrate!("./migrations")).await?;
        if config.demo {
            seed::seed(&db).await?;
        }
        if config.demo && config.classroom {
            seed::seed_classroom(&db).await?;
        }
        Ok(AppState {
            verifier: settings::resolve_auth(config.auth.as_ref(), config.demo)?.build()?,
            faults: FaultInjector::new(config.toggles),
            metrics: ServiceMetrics::new(&config.metrics),
            body_limit: BodyLimit::new(config.server.max_body_bytes),
            db,
        })
    }
}

/// `/readyz` asks the profile store.
impl Readiness for AppState {
    async fn ping_database(&self) -> Result<(), sqlx::Error> {
        db::ping(&self.db).await
    }
}
