//! The billing-service's configuration: a TOML file (given with `--config FILE`) and
//! `BILLING__…` environment variables, e.g. `BILLING__SERVER__LISTEN=0.0.0.0:8083`,
//! `BILLING__TOGGLES__LATENCY_MS=1500`, `BILLING__DATABASE__URL=sqlite://billing.db`. Every key,
//! in every service, is listed in `docs/configuration.md`.
//!
//! Every default is the safe one: demo off (nothing seeded), loopback only, in-memory database,
//! toggles off. Without `demo = true` an `[auth]` section is required.

use crate::validation::is_currency_code;
use serde::Deserialize;
use shared::service_kit::{
    self, MetricsConfig, ServerDefaults, ServiceConfig, db::DatabaseConfig, settings,
    toggles::Toggles,
};
use shared::{VerifierConfig, config::ConfigError};

/// The billing-service's `[server]` defaults: port 8083, bodies up to 64 KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BillingServer;

impl ServerDefaults for BillingServer {
    const PORT: u16 = 8083;
}

/// The `[server]` section, with the billing-service's defaults.
pub type ServerConfig = service_kit::ServerConfig<BillingServer>;

/// The whole configuration: the sections every service has, and the billing-service's own key.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Demo mode: seeds demo invoices and, when `[auth]` is absent, trusts the demo secret.
    pub demo: bool,
    /// The currency `GET /billing/summary` totals when the request names none.
    pub default_currency: String,
    /// `[server]`: where to listen, the body limit, `[server.limits]`.
    pub server: ServerConfig,
    /// `[database]`: the invoice store (SQLite).
    pub database: DatabaseConfig,
    /// `[auth]`: how bearer tokens are verified (required unless `demo = true`).
    pub auth: Option<VerifierConfig>,
    /// `[toggles]`: teaching toggles, off by default.
    pub toggles: Toggles,
    /// `[metrics]`: who may read `GET /metrics`.
    pub metrics: MetricsConfig,
    /// Which release of the service this is (`BILLING__VERSION=2`), named on every answer in
    /// `X-Billing-Version`: the demo runs a second instance as version 2, the canary that the
    /// gateway's traffic split sends a share of the requests to (docs/exercises/17-canary.md).
    pub version: u16,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            demo: false,
            default_currency: "USD".to_owned(),
            server: ServerConfig::default(),
            database: DatabaseConfig::default(),
            auth: None,
            toggles: Toggles::default(),
            metrics: MetricsConfig::default(),
            version: 1,
        }
    }
}

impl Config {
    /// The zero-setup demo: demo invoices, the demo secret (`[auth]` left out), port 8083.
    pub fn demo() -> Self {
        Config {
            demo: true,
            ..Config::default()
        }
    }
}

/// Loaded from `--config FILE` and `BILLING__…` variables with [`ServiceConfig::load`].
impl ServiceConfig for Config {
    const ENV_PREFIX: &'static str = "BILLING__";

    /// The billing-service's own key, `default_currency`, then the checks every backend needs.
    fn validate(&self) -> Result<(), ConfigError> {
        if self.version == 0 {
            return Err(ConfigError::new(
                "key `version` must be 1 or more: it names the release on every answer",
            ));
        }
        if !is_currency_code(&self.default_currency) {
            return Err(ConfigError::new(
                "key `default_currency` must be an ISO 4217 code: three capital letters, e.g. \"USD\"",
            ));
        }
        settings::check_backend(&self.server, &self.toggles, self.auth.as_ref(), self.demo)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn a_bad_default_currency_names_the_key() {
        let config = Config {
            default_currency: "dollars".into(),
            ..Config::demo()
        };
        let error = config.validate().unwrap_err().to_string();
        assert!(error.contains("default_currency"), "{error}");
    }

    #[test]
    fn defaults_are_safe() {
        let config = Config::default();
        assert!(!config.demo);
        assert_eq!(config.server.listen, "127.0.0.1:8083".parse().unwrap());
        assert!(config.validate().is_err(), "no [auth] outside demo mode");
        assert!(Config::demo().validate().is_ok());
    }

    #[test]
    fn the_example_file_is_valid_and_shows_the_defaults() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("billing-service.example.toml");
        let config = Config::load_file(&example).unwrap();
        let defaults = Config::default();
        assert!(!config.demo);
        assert_eq!(
            (config.server, config.toggles, config.default_currency),
            (defaults.server, defaults.toggles, defaults.default_currency)
        );
        assert_eq!(config.database.url, defaults.database.url);
    }

    /// Every old spelling the billing-service used is refused, all in one message (the full table
    /// is tested in `shared::service_kit::renamed`).
    #[test]
    fn old_spellings_are_refused_together_with_their_new_ones() {
        let dir = std::env::temp_dir().join(format!("billing-cfg-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("billing.toml");
        let old = "listen = \"0.0.0.0:8083\"\n[server]\ndrain_timeout_ms = 5\n";
        std::fs::write(&file, old).unwrap();
        let error = Config::load_file(&file).unwrap_err().to_string();
        let _ = std::fs::remove_dir_all(dir);
        for fix in [
            "`listen` was renamed: write `[server] listen = …`",
            "`server.drain_timeout_ms` was renamed: write `[server.limits] drain_timeout_ms = …`",
        ] {
            assert!(error.contains(fix), "{error}");
        }
    }

    #[test]
    fn the_public_demo_secret_is_refused_outside_demo_mode() {
        let error = Config {
            auth: Some(VerifierConfig::demo()),
            ..Config::default()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("public demo secret") && error.contains("demo = true"),
            "{error}"
        );
    }
}
