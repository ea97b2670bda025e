//! The user-service's configuration: `user-service.toml` (given with `--config FILE`) and
//! `USERS__…` environment variables, e.g. `USERS__SERVER__LISTEN=0.0.0.0:8082`,
//! `USERS__TOGGLES__ERROR_RATE=0.5`, `USERS__DATABASE__URL=sqlite://users.db`. Every key, in every
//! service, is listed in `docs/configuration.md`.
//!
//! Every default is the safe one: demo off (nothing seeded), loopback only, in-memory database,
//! toggles off. Without `demo = true` an `[auth]` section is required, so the service never
//! silently trusts the public demo secret in production.

use serde::Deserialize;
use shared::service_kit::{
    self, MetricsConfig, ServerDefaults, ServiceConfig, db::DatabaseConfig, settings,
    toggles::Toggles,
};
use shared::{VerifierConfig, config::ConfigError};

/// The user-service's `[server]` defaults: port 8082, bodies up to 64 KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UserServer;

impl ServerDefaults for UserServer {
    const PORT: u16 = 8082;
}

/// The `[server]` section, with the user-service's defaults.
pub type ServerConfig = service_kit::ServerConfig<UserServer>;

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Demo mode: seeds the demo profiles and, when `[auth]` is absent, trusts the demo secret.
    pub demo: bool,
    /// Classroom mode (needs `demo`): also seeds the profiles of the forty classroom accounts
    /// `student01…student40@example.edu` (`USERS__CLASSROOM=true`; the auth-service seeds the
    /// accounts themselves). See `docs/classroom.md`.
    pub classroom: bool,
    /// `[server]`: where to listen, the body limit, `[server.limits]`.
    pub server: ServerConfig,
    /// `[database]`: the profile store (SQLite).
    pub database: DatabaseConfig,
    /// `[auth]`: how bearer tokens are verified (required unless `demo = true`).
    pub auth: Option<VerifierConfig>,
    /// `[toggles]`: teaching toggles, off by default.
    pub toggles: Toggles,
    /// `[metrics]`: who may read `GET /metrics`.
    pub metrics: MetricsConfig,
}

/// Loaded from `--config FILE` and `USERS__…` variables with [`ServiceConfig::load`].
impl ServiceConfig for Config {
    const ENV_PREFIX: &'static str = "USERS__";

    /// The user-service has no key of its own: the checks are the ones every backend needs.
    fn validate(&self) -> Result<(), ConfigError> {
        // Named one by one, so a key added to `Config` does not compile until someone decides
        // how it is checked.
        let Config {
            demo,
            classroom,
            server,
            database: _,
            auth,
            toggles,
            metrics: _,
        } = self;
        if *classroom && !*demo {
            return Err(ConfigError::new(
                "key `classroom`: classroom mode seeds demo profiles and needs demo mode; set \
                 `demo = true` (USERS__DEMO=true) too, or turn `classroom` off",
            ));
        }
        settings::check_backend(server, toggles, auth.as_ref(), *demo)
    }
}

impl Config {
    /// The zero-setup demo: demo profiles, the demo secret (`[auth]` left out), port 8082.
    pub fn demo() -> Self {
        Config {
            demo: true,
            ..Config::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn defaults_are_safe() {
        let config = Config::default();
        assert!(!config.demo);
        assert_eq!(config.server.listen, "127.0.0.1:8082".parse().unwrap());
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
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("user-service.example.toml");
        let config = Config::load_file(&example).unwrap();
        assert!(!config.demo);
        assert_eq!(config.server, ServerConfig::default());
        assert_eq!(config.toggles, Toggles::default());
        assert_eq!(config.database.url, DatabaseConfig::default().url);
    }

    /// The table of every old spelling is tested in `shared::service_kit::renamed`; this checks
    /// the user-service's loading goes through it, for the spelling it used.
    #[test]
    fn the_old_body_limit_spelling_is_refused_with_the_new_one() {
        let dir = std::env::temp_dir().join(format!("users-cfg-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("users.toml");
        std::fs::write(&file, "demo = true\nbody_limit_bytes = 100\n").unwrap();
        let error = Config::load_file(&file).unwrap_err().to_string();
        let _ = std::fs::remove_dir_all(dir);
        assert!(
            error.contains("`body_limit_bytes` was renamed: write `[server] max_body_bytes = …`"),
            "{error}"
        );
    }

    #[test]
    fn the_public_demo_secret_is_refused_outside_demo_mode() {
        let config = Config {
            auth: Some(VerifierConfig::demo()),
            ..Config::default()
        };
        let error = config.validate().unwrap_err().to_string();
        assert!(error.contains("public demo secret"), "{error}");
        assert!(error.contains("demo = true"), "{error}");
    }
}
