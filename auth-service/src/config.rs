//! The auth-service's configuration: `auth-service.toml` (given with `--config FILE`) plus
//! `AUTH__…` environment overrides, e.g. `AUTH__DATABASE__URL=postgres://…`. The sections every
//! service shares (`[server]`, `[database]`) come from `shared::service_kit`; every key is listed
//! in `docs/configuration.md`.
//!
//! Every field has a default, and the defaults are the *safe* ones: demo mode off, loopback only.
//! What defaults cannot make safe — a signing key — must be configured outside demo mode, and
//! [`crate::build`] refuses to start with a weak or public one, saying how to fix it.

use secrecy::SecretString;
use serde::Deserialize;
use shared::config::ConfigError;
use shared::service_kit::{self, MetricsConfig, ServerDefaults, ServiceConfig, db::DatabaseConfig};
use std::path::PathBuf;

/// The auth-service's `[server]` defaults: port 8081, and bodies of at most 16 KiB (login and
/// register bodies are tiny; a cap keeps a 1 MB "password" from ever reaching the password
/// hasher).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AuthServer;

impl ServerDefaults for AuthServer {
    const PORT: u16 = 8081;
    const MAX_BODY_BYTES: usize = 16 * 1024;
}

/// The `[server]` section, with the auth-service's defaults.
pub type ServerConfig = service_kit::ServerConfig<AuthServer>;

/// Everything the service reads at start. See the crate docs for a TOML example.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Demo mode: seeds the two demo accounts and accepts the public demo secret. Never in production.
    pub demo: bool,
    /// `[server]`: where to listen, the body limit, `[server.limits]`.
    pub server: ServerConfig,
    /// `[database]`: `url` is `sqlite::memory:`, `sqlite://auth.db?mode=rwc` or
    /// `postgres://user@host/db`.
    pub database: DatabaseConfig,
    /// The public URL (`public_url`: where clients reach the gateway, since they reach this
    /// service through it): the `iss` of every token and the base of the discovery document's
    /// URLs. From configuration only, never from a request's `Host`; the demo launcher sets it
    /// to the gateway's bound address, compose to `PUBLIC_URL`.
    pub issuer: String,
    /// The `aud` of every token.
    pub audience: String,
    /// Access-token lifetime in seconds (the `expires_in` of a login), from
    /// [`MIN_ACCESS_TOKEN_TTL_SECS`] to [`MAX_ACCESS_TOKEN_TTL_SECS`]. The demo may shorten it
    /// (`AUTH__ACCESS_TOKEN_TTL_SECS=60`, or `ACCESS_TOKEN_TTL_SECS=60` for `cargo run` and
    /// compose) so a class can watch a token expire and be refreshed.
    pub access_token_ttl_secs: u64,
    /// Refresh-token lifetime in seconds.
    pub refresh_token_ttl_secs: u64,
    /// Scopes a user may ask for with the OAuth `password` grant.
    pub user_scopes: Vec<String>,
    /// The keys tokens are signed with.
    pub signing: SigningConfig,
    /// Failed-login throttling.
    pub throttle: ThrottleConfig,
    /// `[redis]`: where the throttle's records live when several replicas must share them
    /// (`AUTH__REDIS__URL=redis://redis:6379`). Unset: in this process's memory.
    pub redis: Option<RedisConfig>,
    /// OAuth 2.0 clients of the token endpoint (checked at start by [`crate::clients`]).
    pub clients: Vec<ClientConfig>,
    /// `[metrics]`: who may read `GET /metrics`.
    pub metrics: MetricsConfig,
    /// `[provisioning]`: the user-services to tell about accounts (see [`crate::provisioning`]).
    pub provisioning: ProvisioningConfig,
    /// `[classroom]`: classroom mode (see [`ClassroomConfig`] and `docs/classroom.md`).
    pub classroom: ClassroomConfig,
}

/// Shortest access-token lifetime accepted: below this, clock skew between services (and the
/// time a request spends in flight) would reject tokens that were just issued.
pub const MIN_ACCESS_TOKEN_TTL_SECS: u64 = 10;
/// Longest access-token lifetime accepted: an access token cannot be revoked before it expires
/// (that is what "stateless" costs), and the verifiers refuse tokens that claim a longer life by
/// default (the gateway's `[auth] max_token_lifetime_secs`, 3600): an hour at most.
pub const MAX_ACCESS_TOKEN_TTL_SECS: u64 = 60 * 60;

/// `[provisioning]`: where the auth-service creates profiles for its accounts.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProvisioningConfig {
    /// Base URLs of the user-service instances (`["http://user-service:8082"]`,
    /// `AUTH__PROVISIONING__USER_SERVICE_URLS='["http://…"]'`). Each one is told about every
    /// registration and every successful login. Empty (the default): nobody is told, and
    /// accounts have profiles only if seeded.
    pub user_service_urls: Vec<String>,
}

/// `[classroom]`: a demo for a room of students (needs `demo = true`).
///
/// - seeds forty accounts, `student01@example.edu` … `student40@example.edu` with the passwords
///   `student01pw` … `student40pw` ([`shared::demo::classroom`]), so the room does not share
///   (and lock) one account;
/// - refuses the public demo admin password (`admin123`) when the service listens beyond
///   loopback: the instructor sets `admin_password` (`AUTH__CLASSROOM__ADMIN_PASSWORD`; compose
///   and `cargo run`: `DEMO_ADMIN_PASSWORD`).
///
/// The gateway's login and registration limits are sized for a room behind one address
/// separately (compose's `docker/classroom/1.env`, the launcher's `CLASSROOM=1`).
#[derive(Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClassroomConfig {
    /// Classroom mode on.
    pub enabled: bool,
    /// The admin account's password, replacing the public `admin123` (at least 12 bytes).
    pub admin_password: Option<SecretString>,
}

impl std::fmt::Debug for ClassroomConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClassroomConfig")
            .field("enabled", &self.enabled)
            .field("admin_password", &self.admin_password.as_ref().map(|_| "…"))
            .finish()
    }
}

/// Shortest instructor-chosen admin password.
pub const MIN_ADMIN_PASSWORD_BYTES: usize = 12;

impl ClassroomConfig {
    /// The instructor's admin password, if one was given (an empty value — compose's
    /// `DEMO_ADMIN_PASSWORD` left unset — counts as none).
    pub fn admin_password(&self) -> Option<&SecretString> {
        use secrecy::ExposeSecret;
        self.admin_password
            .as_ref()
            .filter(|p| !p.expose_secret().is_empty())
    }

    /// Checks classroom mode's rules: demo mode on, and — when `exposed` (the demo listens on an
    /// address other machines can reach) — an admin password that is not the public one. The
    /// demo launcher calls it with the *gateway's* address; [`Config::validate`] with the
    /// service's own.
    pub fn check(&self, demo: bool, exposed: bool) -> Result<(), ConfigError> {
        use secrecy::ExposeSecret;
        if !self.enabled {
            return Ok(());
        }
        if !demo {
            return Err(ConfigError::new(
                "key `classroom.enabled`: classroom mode seeds demo accounts and needs demo \
                 mode; set `demo = true` (AUTH__DEMO=true) too, or turn classroom mode off",
            ));
        }
        match self.admin_password().map(|p| p.expose_secret()) {
            Some(password) if password == shared::demo::admin::PASSWORD => Err(ConfigError::new(
                "key `classroom.admin_password`: the public demo password is refused in \
                     classroom mode; choose your own (DEMO_ADMIN_PASSWORD, or \
                     AUTH__CLASSROOM__ADMIN_PASSWORD for the auth-service alone)",
            )),
            Some(password) if password.len() < MIN_ADMIN_PASSWORD_BYTES => {
                Err(ConfigError::new(format!(
                    "key `classroom.admin_password`: at least {MIN_ADMIN_PASSWORD_BYTES} bytes, \
                     please (DEMO_ADMIN_PASSWORD, or AUTH__CLASSROOM__ADMIN_PASSWORD)"
                )))
            }
            None if exposed => Err(ConfigError::new(
                "classroom mode listens beyond loopback, where everyone in the room could log \
                 in as admin with the public demo password `admin123`: set \
                 DEMO_ADMIN_PASSWORD=<a password of your own> (AUTH__CLASSROOM__ADMIN_PASSWORD \
                 for the auth-service alone), or listen on 127.0.0.1 only",
            )),
            _ => Ok(()),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            demo: false,
            server: ServerConfig::default(),
            database: DatabaseConfig::default(),
            issuer: shared::demo::PUBLIC_URL.to_owned(),
            audience: shared::demo::AUDIENCE.to_owned(),
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_secs: 7 * 24 * 60 * 60,
            user_scopes: vec!["profile".to_owned(), "billing".to_owned()],
            signing: SigningConfig::default(),
            throttle: ThrottleConfig::default(),
            redis: None,
            clients: Vec::new(),
            metrics: MetricsConfig::default(),
            provisioning: ProvisioningConfig::default(),
            classroom: ClassroomConfig::default(),
        }
    }
}

/// Loaded from `--config FILE` and `AUTH__…` variables with [`ServiceConfig::load`].
impl ServiceConfig for Config {
    const ENV_PREFIX: &'static str = "AUTH__";

    /// Value ranges, and an `issuer` that is a public URL (the metadata's URLs are built on
    /// it). The signing keys are checked when they are loaded, by [`crate::build`] (which needs
    /// to read the key files).
    fn validate(&self) -> Result<(), ConfigError> {
        self.server.validate()?;
        service_kit::settings::check_public_url("issuer", &self.issuer)?;
        let ttl = self.access_token_ttl_secs;
        if !(MIN_ACCESS_TOKEN_TTL_SECS..=MAX_ACCESS_TOKEN_TTL_SECS).contains(&ttl) {
            return Err(ConfigError::new(format!(
                "key `access_token_ttl_secs` (AUTH__ACCESS_TOKEN_TTL_SECS) is {ttl}: it must be \
                 from {MIN_ACCESS_TOKEN_TTL_SECS} to {MAX_ACCESS_TOKEN_TTL_SECS} seconds (the \
                 default is 900; 60 lets a class watch a token expire)"
            )));
        }
        for url in &self.provisioning.user_service_urls {
            if !(url.starts_with("http://") || url.starts_with("https://")) || url.ends_with('/') {
                return Err(ConfigError::new(format!(
                    "key `provisioning.user_service_urls`: `{url}` must be a base URL such as \
                     http://user-service:8082 (http or https, no trailing `/`)"
                )));
            }
        }
        let exposed = !self.server.listen.ip().is_loopback();
        self.classroom.check(self.demo, exposed)
    }
}

impl Config {
    /// The demo set-up: demo mode on, the public HS256 demo secret, the demo issuer and audience,
    /// an in-memory SQLite database, listening on 127.0.0.1:8081.
    pub fn demo() -> Self {
        Config {
            demo: true,
            signing: SigningConfig {
                keys: vec![SigningKeyConfig {
                    kid: None,
                    alg: KeyAlgorithm::HS256,
                    secret: Some(SecretString::from(shared::demo::HS256_SECRET)),
                    private_key_file: None,
                }],
            },
            ..Config::default()
        }
    }
}

/// `[signing]`: the keys tokens are signed with.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SigningConfig {
    /// Oldest first. New tokens are signed with the **last** key; tokens signed by any listed key
    /// still verify. To rotate: append a new key, wait one access-token lifetime, remove the old one.
    pub keys: Vec<SigningKeyConfig>,
}

/// The algorithms a signing key may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum KeyAlgorithm {
    /// HMAC-SHA256 with a shared secret (the lecture's set-up; verifiers hold the secret too).
    HS256,
    /// RSA PKCS#1 v1.5 with SHA-256; the public key is published in the JWKS.
    RS256,
    /// Ed25519; the public key is published in the JWKS.
    EdDSA,
}

/// One entry of `[[signing.keys]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningKeyConfig {
    /// The key id put in the token header. Required for RS256 and EdDSA (verifiers pick the
    /// public key by it); optional for HS256 (the lecture's tokens have none).
    #[serde(default)]
    pub kid: Option<String>,
    /// `HS256`, `RS256` or `EdDSA`.
    pub alg: KeyAlgorithm,
    /// The HS256 secret (at least 32 bytes outside demo mode).
    #[serde(default)]
    pub secret: Option<SecretString>,
    /// PEM file of the RS256 or EdDSA private key (PKCS#8, `-----BEGIN PRIVATE KEY-----`).
    #[serde(default)]
    pub private_key_file: Option<PathBuf>,
}

/// `[redis]`: the Redis server the failed-login throttle keeps its records in, so that every
/// replica counts the same failures ([`crate::throttle`]).
///
/// ```toml
/// [redis]
/// url = "redis://redis:6379"    # may hold a password: a secret
/// timeout_ms = 100              # past it, the throttle counts in this process meanwhile
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    /// `redis://[:password@]host:port[/db]`.
    pub url: SecretString,
    /// Longest wait for one Redis call, in milliseconds.
    #[serde(default = "default_redis_timeout_ms")]
    pub timeout_ms: u64,
    /// Prefix of every key written, so several systems can share one Redis.
    #[serde(default = "default_redis_prefix")]
    pub key_prefix: String,
}

fn default_redis_timeout_ms() -> u64 {
    100
}

fn default_redis_prefix() -> String {
    "auth:throttle:".to_owned()
}

impl RedisConfig {
    /// A configuration for `url` with the default timeout and prefix.
    pub fn new(url: &str) -> RedisConfig {
        RedisConfig {
            url: SecretString::from(url.to_owned()),
            timeout_ms: default_redis_timeout_ms(),
            key_prefix: default_redis_prefix(),
        }
    }
}

/// `[throttle]`: exponential back-off after repeated failed logins on one account.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThrottleConfig {
    /// Consecutive failures allowed before the account is locked for a while.
    pub max_failures: u32,
    /// Failures older than this (seconds) are forgotten.
    pub window_secs: u64,
    /// The first lock lasts this long (seconds); each further failure doubles it.
    pub base_lock_secs: u64,
    /// The longest lock (seconds).
    pub max_lock_secs: u64,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            max_failures: 5,
            window_secs: 15 * 60,
            base_lock_secs: 30,
            max_lock_secs: 15 * 60,
        }
    }
}

/// One entry of `[[clients]]`: an application that asks the OAuth token endpoint for tokens.
///
/// Two kinds (RFC 6749 §2.1): a **confidential** client can keep a secret (a server-side job) and
/// authenticates with it; a **public** client cannot (a browser or mobile app, whose code anyone
/// can read), so it has no secret and only *identifies* itself with `client_id`. What keeps a
/// public client safe is what it may do: only the grants listed here.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// The client's public identifier (becomes `sub` and `name` of its `client_credentials`
    /// tokens).
    pub client_id: String,
    /// `"public"` or `"confidential"`. Optional: a client with a `secret_hash` is confidential,
    /// one without is public.
    #[serde(rename = "type", default)]
    pub client_type: Option<ClientType>,
    /// The argon2 hash of the client secret (a `$argon2id$…` string; make one with
    /// `auth-service hash-secret`, which reads the secret from standard input). Confidential
    /// clients only.
    #[serde(default)]
    pub secret_hash: Option<String>,
    /// Scopes its `client_credentials` tokens may carry (the user grants offer `user_scopes`).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Grant types the client may use: `client_credentials` (the default; confidential clients
    /// only), `password`, `refresh_token`, `authorization_code`.
    #[serde(default = "default_grant_types")]
    pub grant_types: Vec<String>,
    /// Where the authorization endpoint may send the browser back (`authorization_code`):
    /// matched exactly, except loopback URIs (`http://127.0.0.1/…`, `http://[::1]/…`,
    /// `http://localhost/…`), which match on any port (RFC 8252 §7.3).
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// The authorization endpoint refuses a request without `state` (`invalid_request`).
    #[serde(default)]
    pub require_state: bool,
    /// May call `POST /oauth/introspect` (RFC 7662). Confidential clients only.
    #[serde(default)]
    pub introspect: bool,
}

/// The two client types of RFC 6749 §2.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientType {
    /// Cannot keep a secret; identifies itself with `client_id` alone.
    Public,
    /// Authenticates with its secret.
    Confidential,
}

fn default_grant_types() -> Vec<String> {
    vec!["client_credentials".to_owned()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn example() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("auth-service.example.toml")
    }

    #[test]
    fn the_example_file_parses_with_every_key() {
        let config = Config::load_file(&example()).unwrap();
        assert!(!config.demo);
        assert_eq!(config.database.url, "sqlite://auth.db?mode=rwc");
        assert_eq!(config.signing.keys.len(), 1);
        assert_eq!(config.signing.keys[0].alg, KeyAlgorithm::RS256);
        assert_eq!(config.throttle.max_failures, 5);
        assert_eq!(config.clients[0].grant_types, ["client_credentials"]);
        let hash = config.clients[0]
            .secret_hash
            .as_deref()
            .expect("a secret hash");
        argon2::PasswordHash::new(hash).expect("a PHC string");
        assert_eq!(config.server, ServerConfig::default());
    }

    /// The example client's secret is written next to it, and its hash really is that secret's.
    #[test]
    fn the_example_clients_secret_is_the_one_its_comment_gives() {
        use argon2::{Argon2, PasswordHash, PasswordVerifier};
        let text = std::fs::read_to_string(example()).unwrap();
        assert!(text.contains("printf %s 'example-reporting-secret' | auth-service hash-secret"));
        let config = Config::load_file(&example()).unwrap();
        let hash = config.clients[0]
            .secret_hash
            .as_deref()
            .expect("a secret hash");
        let hash = PasswordHash::new(hash).expect("a PHC string");
        Argon2::default()
            .verify_password(b"example-reporting-secret", &hash)
            .expect("the documented secret matches the example hash");
    }

    #[test]
    fn an_issuer_that_is_not_a_public_url_is_refused_with_the_fix() {
        let config = Config {
            issuer: "http://localhost:8080/".to_owned(),
            ..Config::demo()
        };
        let error = config.validate().unwrap_err().to_string();
        assert!(error.contains("key `issuer`"), "{error}");
        assert!(error.contains("must not end with `/`"), "{error}");
        let config = Config {
            issuer: "http://192.168.1.20:8080".to_owned(),
            ..Config::demo()
        };
        config.validate().unwrap();
    }

    #[test]
    fn a_misspelt_key_is_refused_by_name() {
        let dir = std::env::temp_dir().join(format!("auth-cfg-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("auth.toml");
        std::fs::write(&file, "[throttle]\nmax_failure = 3\n").unwrap();
        let error = Config::load_file(&file).unwrap_err();
        assert!(error.to_string().contains("max_failure"), "{error}");
        let _ = std::fs::remove_dir_all(dir);
    }

    /// The old spellings the auth-service itself used (the full table, with the environment
    /// variables, is tested in `shared::service_kit::renamed`).
    #[test]
    fn each_old_spelling_is_refused_with_its_new_one() {
        let cases = [
            (
                "database_url = \"sqlite::memory:\"",
                "`database_url` was renamed: write `[database] url = …`",
            ),
            (
                "listen = \"0.0.0.0:8081\"",
                "`listen` was renamed: write `[server] listen = …`",
            ),
            (
                "max_body_bytes = 100",
                "`max_body_bytes` was renamed: write `[server] max_body_bytes = …`",
            ),
            (
                "[server]\nheader_read_timeout_ms = 100",
                "`server.header_read_timeout_ms` was renamed: write `[server.limits] \
                 header_read_timeout_ms = …`",
            ),
        ];
        let dir = std::env::temp_dir().join(format!("auth-cfg-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("auth.toml");
        for (text, expected) in cases {
            std::fs::write(&file, format!("{text}\n")).unwrap();
            let error = Config::load_file(&file).unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
