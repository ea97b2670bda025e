//! The billing-service's configuration: a TOML file (given with `--config FILE`) and
//! `BILLING__…` environment variables, e.g. `BILLING__LISTEN=0.0.0.0:8083`,
//! `BILLING__TOGGLES__LATENCY_MS=1500`, `BILLING__DATABASE__URL=sqlite://billing.db`.
//!
//! Every default is the safe one: demo off (nothing seeded), loopback only, in-memory database,
//! toggles off. Without `demo = true` an `[auth]` section is required.

use crate::validation::is_currency_code;
use serde::Deserialize;
use shared::service_kit::{db::DatabaseConfig, settings, toggles::Toggles};
use shared::{VerifierConfig, config::ConfigError, server::ServerLimits};
use std::net::{Ipv4Addr, SocketAddr};

/// The port of the billing-service in the design.
pub const DEFAULT_PORT: u16 = 8083;

/// The environment variable prefix.
pub const ENV_PREFIX: &str = "BILLING__";

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Demo mode: seeds demo invoices and, when `[auth]` is absent, trusts the demo secret.
    #[serde(default)]
    pub demo: bool,
    /// Where to listen. Port 0 lets the OS choose (tests).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Largest request body accepted, in bytes; larger ones get 413.
    #[serde(default = "default_body_limit")]
    pub body_limit_bytes: usize,
    /// The currency `GET /billing/summary` totals when the request names none.
    #[serde(default = "default_currency")]
    pub default_currency: String,
    /// `[database]`: the SQLite store.
    #[serde(default)]
    pub database: DatabaseConfig,
    /// `[auth]`: how bearer tokens are verified (required unless `demo = true`).
    #[serde(default)]
    pub auth: Option<VerifierConfig>,
    /// `[server]`: connection limits and timeouts.
    #[serde(default)]
    pub server: ServerLimits,
    /// `[toggles]`: teaching toggles, off by default.
    #[serde(default)]
    pub toggles: Toggles,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_PORT))
}

fn default_body_limit() -> usize {
    settings::DEFAULT_BODY_LIMIT_BYTES
}

fn default_currency() -> String {
    "USD".to_owned()
}

impl Default for Config {
    fn default() -> Self {
        Config {
            demo: false,
            listen: default_listen(),
            body_limit_bytes: default_body_limit(),
            default_currency: default_currency(),
            database: DatabaseConfig::default(),
            auth: None,
            server: ServerLimits::default(),
            toggles: Toggles::default(),
        }
    }
}

impl Config {
    /// Reads the file named by `--config` (if any), then `BILLING__…` variables, and checks it.
    pub fn load() -> Result<Self, ConfigError> {
        let config: Config =
            shared::config::load(shared::config::path_from_args().as_deref(), ENV_PREFIX)?;
        config.validate()?;
        Ok(config)
    }

    /// The zero-setup demo: demo invoices, the demo secret, port 8083 on loopback.
    pub fn demo() -> Self {
        Config {
            demo: true,
            auth: Some(VerifierConfig::demo()),
            ..Config::default()
        }
    }

    /// Checks what serde cannot: value ranges, the currency code and the presence of `[auth]`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        settings::validate_common(&self.toggles, self.body_limit_bytes)?;
        if !is_currency_code(&self.default_currency) {
            return Err(ConfigError::new(
                "key `default_currency` must be an ISO 4217 code: three capital letters, e.g. \"USD\"",
            ));
        }
        self.verifier_config().map(|_| ())
    }

    /// The `[auth]` section in force: the configured one, or the demo one in demo mode.
    pub fn verifier_config(&self) -> Result<VerifierConfig, ConfigError> {
        settings::resolve_auth(self.auth.as_ref(), self.demo)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_safe() {
        let config = Config::default();
        assert!(!config.demo);
        assert_eq!(config.listen, "127.0.0.1:8083".parse().unwrap());
        assert!(config.validate().is_err(), "no [auth] outside demo mode");
        assert!(Config::demo().validate().is_ok());
    }

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
    fn the_example_file_is_valid_and_shows_the_defaults() {
        let path = std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/billing-service.example.toml"
        ));
        let config: Config =
            shared::config::load(Some(path), "EXAMPLE_FILE_TEST_UNUSED__").unwrap();
        config.validate().unwrap();
        let defaults = Config::default();
        assert_eq!(config.listen, defaults.listen);
        assert_eq!(config.body_limit_bytes, defaults.body_limit_bytes);
        assert_eq!(config.toggles, defaults.toggles);
        assert_eq!(config.database.url, defaults.database.url);
        assert!(!config.demo);
    }
}
