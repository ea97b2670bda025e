//! The configuration every service shares: the `[server]` section, loading with the old
//! spellings refused, where `[auth]` comes from, the public URL, and the checks serde cannot
//! express.
//!
//! # The public URL
//!
//! `public_url` is where clients reach the gateway (`http://localhost:8080` by default). It is
//! the one value behind the token issuer — the `iss` the auth-service signs, the `issuer` of its
//! RFC 8414 metadata and the base of the metadata's URLs — and the `issuer` every verifier
//! expects (`[auth] issuer` of the gateway and the backends). It comes from configuration only,
//! never from a request's `Host` or `X-Forwarded-Host`: a client that could choose it could
//! make the server advertise an endpoint of its own. The demo launcher derives it from the
//! gateway's bound address ([`public_url_for`]); compose sets every service's issuer from one
//! `PUBLIC_URL` variable.
//!
//! Each service keeps its own `Config` struct (with `deny_unknown_fields`, so a typo is an
//! error) made of these sections plus its own keys, and implements [`ServiceConfig`] to load it.
//! The keys and their environment spellings are listed in `docs/configuration.md`.

use super::{renamed, toggles::Toggles};
use crate::{VerifierConfig, config::ConfigError, server::ServerLimits};
use serde::{Deserialize, de::DeserializeOwned};
use std::{
    marker::PhantomData,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::Path,
};

/// Default largest request body, in bytes (64 KiB: far above any real JSON request here).
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;

/// A service's `[server]` defaults: its port in the design, and its largest request body.
/// Each service names them once, on a marker type (see [`ServerConfig`]).
pub trait ServerDefaults {
    /// The port `listen` defaults to (on loopback).
    const PORT: u16;
    /// The `max_body_bytes` default.
    const MAX_BODY_BYTES: usize = DEFAULT_MAX_BODY_BYTES;
}

/// The `[server]` section: where a service listens and what it accepts from a client.
///
/// `D` carries the service's defaults, so a key left out of the file takes *that service's*
/// default; each service names its section once:
///
/// ```ignore
/// #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
/// pub struct UserServer;
/// impl ServerDefaults for UserServer { const PORT: u16 = 8082; }
/// pub type ServerConfig = service_kit::ServerConfig<UserServer>;
/// ```
///
/// The gateway has its own struct with the same spellings (it adds `max_uri_bytes`).
///
/// ```toml
/// [server]
/// listen = "127.0.0.1:8082"     # port 0 lets the OS choose (tests)
/// max_body_bytes = 65536        # larger bodies get 413
/// [server.limits]               # connection limits: crate::server::ServerLimits
/// header_read_timeout_ms = 10000
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields, bound(deserialize = "D: ServerDefaults"))]
pub struct ServerConfig<D> {
    /// Where to listen. Loopback by default: exposing a service is a decision, not an accident.
    pub listen: SocketAddr,
    /// Largest request body accepted, in bytes; larger ones get 413 `body_too_large`.
    pub max_body_bytes: usize,
    /// `[server.limits]`: header-read timeout, header size, connection cap, drain timeout.
    pub limits: ServerLimits,
    #[serde(skip)]
    defaults: PhantomData<D>,
}

impl<D: ServerDefaults> Default for ServerConfig<D> {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, D::PORT)),
            max_body_bytes: D::MAX_BODY_BYTES,
            limits: ServerLimits::default(),
            defaults: PhantomData,
        }
    }
}

impl<D: ServerDefaults> ServerConfig<D> {
    /// The defaults, listening on `listen` instead (tests pass port 0, the demo its own ports).
    pub fn listening_on(listen: SocketAddr) -> Self {
        ServerConfig {
            listen,
            ..ServerConfig::default()
        }
    }

    /// Range checks serde cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_body_bytes == 0 {
            return Err(ConfigError::new(format!(
                "key `server.max_body_bytes` must be greater than 0 (the default is {})",
                D::MAX_BODY_BYTES
            )));
        }
        Ok(())
    }
}

/// What the kit needs to know of a service's `Config` to load it: the environment prefix, and the
/// checks serde cannot express. [`ServiceConfig::load`] is then the same for every service.
pub trait ServiceConfig: DeserializeOwned {
    /// The environment variable prefix, e.g. `"USERS__"`.
    const ENV_PREFIX: &'static str;

    /// Checks what serde cannot (value ranges, required sections, the token rules); the message
    /// names the key and the fix.
    fn validate(&self) -> Result<(), ConfigError>;

    /// Reads the file named by `--config` (if any), then the `ENV_PREFIX` variables, refusing old
    /// spellings with their new ones (see [`renamed`]), and checks the result.
    fn load() -> Result<Self, ConfigError> {
        let config: Self = load(crate::config::path_from_args().as_deref(), Self::ENV_PREFIX)?;
        config.validate()?;
        Ok(config)
    }

    /// Reads and checks `file` alone, ignoring the environment: what a `check-config` command
    /// and the tests of the example files need.
    fn load_file(file: &Path) -> Result<Self, ConfigError> {
        // A prefix no environment sets, so a developer's variables cannot change the result.
        let config: Self = load(Some(file), "SERVICE_KIT_FILE_ONLY_UNUSED__")?;
        config.validate()?;
        Ok(config)
    }
}

/// Reads `T` from `file` (if any) and the variables that start with `env_prefix`. An old
/// spelling, in the file or the environment, is refused with the new one (see [`renamed`]);
/// anything else unknown is refused by serde with its key.
pub fn load<T: DeserializeOwned>(file: Option<&Path>, env_prefix: &str) -> Result<T, ConfigError> {
    // First as plain data, to recognise old spellings and name their replacement; a typed read
    // would only say "unknown field".
    let raw: serde_json::Value = crate::config::load(file, env_prefix)?;
    renamed::refuse_old_spellings(&raw, env_prefix)?;
    crate::config::load(file, env_prefix)
}

/// The `[auth]` section in force — the configured one; the demo one in demo mode; otherwise an
/// error, since a service outside demo mode must never silently trust the public demo secret —
/// after the token rules ([`VerifierConfig::check_token_rules`]): a configured public demo secret
/// is refused outside demo mode too.
pub fn resolve_auth(
    auth: Option<&VerifierConfig>,
    demo: bool,
) -> Result<VerifierConfig, ConfigError> {
    let auth = match (auth, demo) {
        (Some(auth), _) => auth.clone(),
        (None, true) => VerifierConfig::demo(),
        (None, false) => {
            return Err(ConfigError::new(
                "section `[auth]` is missing: set `auth.issuer`, `auth.audience` and a key \
                 (`auth.hs256_secret`, `auth.public_keys` or `auth.jwks_url`), or set `demo = true`",
            ));
        }
    };
    auth.check_token_rules(demo)
        .map_err(|error| ConfigError::new(error.to_string()))?;
    Ok(auth)
}

/// The public URL of a gateway bound to `addr`: `http://localhost:<port>` when it listens on a
/// loopback or wildcard address (a browser on this machine reaches it as `localhost`; a
/// wildcard gives no one address to name), otherwise `http://<address>:<port>`. The port is the
/// one actually bound, so port 0 works.
pub fn public_url_for(addr: SocketAddr) -> String {
    let ip = addr.ip();
    if ip.is_loopback() || ip.is_unspecified() {
        format!("http://localhost:{}", addr.port())
    } else {
        match ip {
            IpAddr::V4(v4) => format!("http://{v4}:{}", addr.port()),
            IpAddr::V6(v6) => format!("http://[{v6}]:{}", addr.port()),
        }
    }
}

/// Checks that `value`, given for `key`, can be a public URL: `http` or `https`, a host, and
/// nothing else — no path (the issuer is compared byte for byte, and the metadata's URLs are
/// built on it), no query, fragment or user name.
pub fn check_public_url(key: &str, value: &str) -> Result<(), ConfigError> {
    let refuse = |why: &str| {
        Err(ConfigError::new(format!(
            "key `{key}` = \"{value}\" {why}: write where clients reach the gateway, e.g. \
             \"http://localhost:8080\" or \"https://api.example.edu\" (compose: PUBLIC_URL)"
        )))
    };
    let Ok(uri) = value.parse::<http::Uri>() else {
        return refuse("is not a URL");
    };
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return refuse("must start with http:// or https://");
    }
    let Some(authority) = uri.authority() else {
        return refuse("names no host");
    };
    if authority.as_str().contains('@') || authority.host().is_empty() {
        return refuse("must name a host and nothing before it");
    }
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() || value.contains('#') {
        return refuse("must not have a path, a query or a fragment");
    }
    if value.ends_with('/') {
        return refuse("must not end with `/` (tokens name it exactly)");
    }
    Ok(())
}

/// The checks every backend's configuration needs: the `[server]` and `[toggles]` ranges, and an
/// `[auth]` section that is present (or demo mode) and keeps the token rules ([`resolve_auth`]).
pub fn check_backend<D: ServerDefaults>(
    server: &ServerConfig<D>,
    toggles: &Toggles,
    auth: Option<&VerifierConfig>,
    demo: bool,
) -> Result<(), ConfigError> {
    server.validate()?;
    toggles
        .validate()
        .map_err(|message| ConfigError::new(format!("[toggles] {message}")))?;
    resolve_auth(auth, demo).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    struct Users;
    impl ServerDefaults for Users {
        const PORT: u16 = 8082;
    }
    type UsersServer = ServerConfig<Users>;

    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    struct Auth;
    impl ServerDefaults for Auth {
        const PORT: u16 = 8081;
        const MAX_BODY_BYTES: usize = 16384;
    }

    #[test]
    fn a_section_left_out_takes_the_services_defaults() {
        let server: ServerConfig<Auth> = serde_json::from_str("{}").unwrap();
        assert_eq!(server.listen, "127.0.0.1:8081".parse().unwrap());
        assert_eq!(server.max_body_bytes, 16384);
        let server: UsersServer =
            serde_json::from_str(r#"{"limits": {"max_connections": 5}}"#).unwrap();
        assert_eq!(server.listen, "127.0.0.1:8082".parse().unwrap());
        assert_eq!(server.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
        assert_eq!(server.limits.max_connections, 5);
    }

    #[test]
    fn a_zero_body_limit_names_the_key() {
        let server = UsersServer {
            max_body_bytes: 0,
            ..UsersServer::default()
        };
        let error = server.validate().unwrap_err().to_string();
        assert!(error.contains("server.max_body_bytes"), "{error}");
    }

    #[test]
    fn the_public_url_follows_the_bound_address() {
        let url = |addr: &str| public_url_for(addr.parse().unwrap());
        assert_eq!(url("127.0.0.1:18080"), "http://localhost:18080");
        assert_eq!(url("0.0.0.0:8080"), "http://localhost:8080");
        assert_eq!(url("[::]:8080"), "http://localhost:8080");
        assert_eq!(url("[::1]:41234"), "http://localhost:41234");
        assert_eq!(url("192.168.1.20:8080"), "http://192.168.1.20:8080");
        assert_eq!(url("[fd00::7]:8080"), "http://[fd00::7]:8080");
    }

    #[test]
    fn a_public_url_is_a_bare_http_origin() {
        for good in [
            "http://localhost:8080",
            "https://api.example.edu",
            "http://192.168.1.20:8080",
        ] {
            assert!(check_public_url("issuer", good).is_ok(), "{good}");
        }
        for (bad, why) in [
            ("localhost:8080", "must start with http://"),
            ("ftp://example.edu", "must start with http://"),
            ("http://localhost:8080/", "must not end with `/`"),
            ("http://localhost:8080/api", "must not have a path"),
            ("http://localhost:8080?x=1", "must not have a path, a query"),
            ("http://user@localhost:8080", "nothing before it"),
            ("not a url", "is not a URL"),
        ] {
            let error = check_public_url("issuer", bad).unwrap_err().to_string();
            assert!(error.contains(why), "{bad}: {error}");
            assert!(error.contains("key `issuer`"), "{error}");
            assert!(error.contains("PUBLIC_URL"), "{error}");
        }
    }

    #[test]
    fn the_public_demo_secret_is_refused_outside_demo_mode() {
        let demo_section = VerifierConfig::demo();
        assert!(resolve_auth(Some(&demo_section), true).is_ok());
        let error = resolve_auth(Some(&demo_section), false)
            .unwrap_err()
            .to_string();
        assert!(error.contains("public demo secret"), "{error}");
        assert!(error.contains("demo = true"), "{error}");
    }
}
