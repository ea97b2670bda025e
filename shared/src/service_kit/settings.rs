//! Configuration rules both backends share: where the `[auth]` section comes from, and the
//! checks serde cannot express. Each service keeps its own `Config` struct (with
//! `deny_unknown_fields`, so a typo is an error), and calls these.

use super::toggles::Toggles;
use crate::{VerifierConfig, config::ConfigError};

/// Default largest request body, in bytes (64 KiB: far above any real JSON request here).
pub const DEFAULT_BODY_LIMIT_BYTES: usize = 64 * 1024;

/// The `[auth]` section in force: the configured one; the demo one in demo mode; otherwise an
/// error — a service outside demo mode must never silently trust the public demo secret.
pub fn resolve_auth(
    auth: Option<&VerifierConfig>,
    demo: bool,
) -> Result<VerifierConfig, ConfigError> {
    match (auth, demo) {
        (Some(auth), _) => Ok(auth.clone()),
        (None, true) => Ok(VerifierConfig::demo()),
        (None, false) => Err(ConfigError::new(
            "section `[auth]` is missing: set `auth.issuer`, `auth.audience` and a key \
             (`auth.hs256_secret`, `auth.public_keys` or `auth.jwks_url`), or set `demo = true`",
        )),
    }
}

/// Range checks on the keys every backend has.
pub fn validate_common(toggles: &Toggles, body_limit_bytes: usize) -> Result<(), ConfigError> {
    toggles
        .validate()
        .map_err(|message| ConfigError::new(format!("[toggles] {message}")))?;
    if body_limit_bytes == 0 {
        return Err(ConfigError::new(format!(
            "key `body_limit_bytes` must be greater than 0 (the default is {DEFAULT_BODY_LIMIT_BYTES})"
        )));
    }
    Ok(())
}
