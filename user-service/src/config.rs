//! The user-service's configuration: `user-service.toml` (given with `--config FILE`) and
//! `USERS__…` environment variables, e.g. `USERS__LISTEN=0.0.0.0:8082`,
//! `USERS__TOGGLES__ERROR_RATE=0.5`, `USERS__DATABASE__URL=sqlite://users.db`.
//!
//! Every default is the safe one: demo off (nothing seeded), loopback only, in-memory database,
//! toggles off. Without `demo = true` an `[auth]` section is required, so the service never
//! silently trusts the public demo secret in production.

use serde::Deserialize;
use shared::service_kit::{db::DatabaseConfig, settings, toggles::Toggles};
use shared::{VerifierConfig, config::ConfigError, server::ServerLimits};
use std::net::{Ipv4Addr, SocketAddr};

/// The port of the user-service in the design.
pub const DEFAULT_PORT: u16 = 8082;

/// The environment variable prefix.
pub const ENV_PREFIX: &str = "USERS__";

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Demo mode: seeds the demo profiles and, when `[auth]` is absent, trusts the demo secret.
    #[serde(default)]
    pub demo: bool,
    /// Where to listen. Port 0 lets the OS choose (tests).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Largest request body accepted, in bytes; larger ones get 413.
    #[serde(default = "default_body_limit")]
    pub body_limit_bytes: usize,
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

impl Default for Config {
    fn default() -> Self {
        Config {
            demo: false,
            listen: default_listen(),
            body_limit_bytes: default_body_limit(),
            database: DatabaseConfig::default(),
            auth: None,
            server: ServerLimits::default(),
            toggles: Toggles::default(),
        }
    }
}

impl Config {
    /// Reads the file named by `--config` (if any), then `USERS__…` variables, and checks it.
    pub fn load() -> Result<Self, ConfigError> {
        let config: Config =
            shared::config::load(shared::config::path_from_args().as_deref(), ENV_PREFIX)?;
        config.validate()?;
        Ok(config)
    }

    /// The zero-setup demo: demo data, the demo secret, port 8082 on loopback.
    pub fn demo() -> Self {
        Config {
            demo: true,
            auth: Some(VerifierConfig::demo()),
            ..Config::default()
        }
    }

    /// Checks what serde cannot: value ranges and the presence of `[auth]`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        settings::validate_common(&self.toggles, self.body_limit_bytes)?;
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
        assert_eq!(config.listen, "127.0.0.1:8082".parse().unwrap());
        assert_eq!(config.toggles, Toggles::default());
        // No `[auth]` outside demo mode is an error, not a silent fallback to the demo secret.
        assert!(config.validate().is_err());
        assert!(Config::demo().validate().is_ok());
    }

    #[test]
    fn out_of_range_toggles_are_refused_with_the_key() {
        let config = Config {
            toggles: Toggles {
                latency_ms: 0,
                error_rate: 2.0,
            },
            ..Config::demo()
        };
        let error = config.validate().unwrap_err().to_string();
        assert!(error.contains("error_rate"), "{error}");
    }

    #[test]
    fn the_example_file_is_valid_and_shows_the_defaults() {
        let path = std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/user-service.example.toml"
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
