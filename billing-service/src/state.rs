//! [`AppState`]: everything a handler may need, built once at start and cloned per request.

use crate::{config::Config, seed};
use axum::extract::FromRef;
use shared::Verifier;
use shared::clock::{Clock, SharedClock};
use shared::service_kit::{
    BodyLimit, FaultInjector, Readiness, ServiceConfig, ServiceMetrics, db, settings,
};
use sqlx::SqlitePool;
use std::sync::Arc;
use time::{Date, OffsetDateTime};

/// The billing-service's state. Every field is a cheap handle; nothing lives in a static.
#[derive(Debug, Clone, FromRef)]
pub struct AppState {
    /// The invoices and their lines.
    pub db: SqlitePool,
    /// Checks the bearer token of every `/billing/*` request ([`shared::Authenticated`]).
    pub verifier: Verifier,
    /// What the service counts (`GET /metrics`).
    pub metrics: ServiceMetrics,
    /// The teaching toggles around the `/billing/*` routes.
    pub faults: FaultInjector,
    /// The service's one clock: today's date, for "overdue" and default issue dates, comes from
    /// it (see [`AppState::today`]), so a test can stop or move the calendar.
    pub clock: SharedClock,
    /// Currency of `GET /billing/summary` when the request names none.
    #[from_ref(skip)]
    pub default_currency: Arc<str>,
    /// `[server] max_body_bytes`: a `POST /billing/invoices` body larger than this gets 413.
    #[from_ref(skip)]
    pub body_limit: BodyLimit,
    /// `version`: the release named in every answer's `X-Billing-Version`.
    #[from_ref(skip)]
    pub version: u16,
}

impl AppState {
    /// Checks the configuration, opens and migrates the invoice store, seeds the demo invoices
    /// (demo mode only, dated from `clock`) and builds the token verifier.
    pub async fn from_config(config: &Config, clock: SharedClock) -> anyhow::Result<AppState> {
        config.validate()?;
        let db = db::open(&config.database, &sqlx::migrate!("./migrations")).await?;
        if config.demo {
            seed::seed(&db, utc_date(clock.as_ref())).await?;
        }
        Ok(AppState {
            verifier: settings::resolve_auth(config.auth.as_ref(), config.demo)?.build()?,
            faults: FaultInjector::new(config.toggles),
            metrics: ServiceMetrics::new(&config.metrics),
            default_currency: Arc::from(config.default_currency.as_str()),
            body_limit: BodyLimit::new(config.server.max_body_bytes),
            version: config.version,
            clock,
            db,
        })
    }

    /// Today's date (UTC) by the service's clock.
    pub fn today(&self) -> Date {
        utc_date(self.clock.as_ref())
    }
}

/// `/readyz` asks the invoice store.
impl Readiness for AppState {
    async fn ping_database(&self) -> Result<(), sqlx::Error> {
        db::ping(&self.db).await
    }
}

/// The calendar date (UTC) a clock reads. Invoices are dated in UTC so every replica agrees.
pub fn utc_date(clock: &dyn Clock) -> Date {
    let secs = i64::try_from(clock.unix_secs()).unwrap_or(i64::MAX);
    OffsetDateTime::from_unix_timestamp(secs)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .date()
}
