//! Where a service's verification keys come from, and the [`Verifier`] handlers use.
//!
//! Two set-ups, chosen in configuration (`[auth]` of every service):
//!
//! - **Static keys**: the HS256 shared secret (the lecture's set-up) and/or public keys in PEM
//!   files. Simple, but every verifier must be redeployed when a key changes — and with HS256 every
//!   verifier holds the *signing* secret too.
//! - **JWKS URL**: the auth-service publishes its public keys at `/.well-known/jwks.json`; the
//!   verifier fetches them, caches them, and fetches again when a token names a `kid` it has not
//!   seen (key rotation), at most once per `jwks_min_refetch_secs`. If the JWKS endpoint is down,
//!   the cached keys keep working. 50 services can verify tokens without holding any secret.

use crate::{
    claims::Claims,
    verifier::{KeyError, TokenError, TokenVerifier, VerificationKey, VerifierSettings},
};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::{path::PathBuf, sync::Arc, time::Duration};

/// The `[auth]` section every service shares.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifierConfig {
    /// Exact `iss` accepted.
    pub issuer: String,
    /// Exact `aud` accepted.
    pub audience: String,
    /// Clock skew tolerated on `exp`/`nbf`, in seconds.
    #[serde(default = "default_leeway")]
    pub leeway_secs: u64,
    /// HS256 shared secret (tokens without `kid`).
    #[serde(default)]
    pub hs256_secret: Option<SecretString>,
    /// Public keys from PEM files.
    #[serde(default)]
    pub public_keys: Vec<PublicKeyConfig>,
    /// Fetch public keys from this JWKS URL (e.g. `http://localhost:8081/.well-known/jwks.json`).
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// Least time between two JWKS fetches triggered by unknown `kid`s, in seconds.
    #[serde(default = "default_min_refetch")]
    pub jwks_min_refetch_secs: u64,
}

fn default_leeway() -> u64 {
    30
}

fn default_min_refetch() -> u64 {
    10
}

/// A public key file and the one algorithm it may verify.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicKeyConfig {
    /// The `kid` tokens signed with this key carry.
    pub kid: String,
    /// `RS256` or `EdDSA`.
    pub alg: String,
    /// Path of the PEM public key.
    pub pem_file: PathBuf,
}

impl VerifierConfig {
    /// The demo's set-up: the public demo HS256 secret, the demo issuer and audience.
    pub fn demo() -> Self {
        VerifierConfig {
            issuer: crate::demo::ISSUER.to_owned(),
            audience: crate::demo::AUDIENCE.to_owned(),
            leeway_secs: default_leeway(),
            hs256_secret: Some(SecretString::from(crate::demo::HS256_SECRET)),
            public_keys: Vec::new(),
            jwks_url: None,
            jwks_min_refetch_secs: default_min_refetch(),
        }
    }

    fn settings(&self) -> VerifierSettings {
        VerifierSettings {
            issuer: self.issuer.clone(),
            audience: self.audience.clone(),
            leeway: Duration::from_secs(self.leeway_secs),
        }
    }

    /// The keys named directly in the configuration (secret and PEM files).
    fn static_keys(&self) -> Result<Vec<VerificationKey>, KeyError> {
        let mut keys = Vec::new();
        if let Some(secret) = &self.hs256_secret {
            keys.push(VerificationKey::hs256(
                None,
                secret.expose_secret().as_bytes(),
            )?);
        }
        for key in &self.public_keys {
            let pem = std::fs::read(&key.pem_file).map_err(|e| {
                KeyError::new(format!("cannot read {}: {e}", key.pem_file.display()))
            })?;
            let kid = Some(key.kid.clone());
            keys.push(match key.alg.as_str() {
                "RS256" => VerificationKey::rsa_pem(kid, &pem)?,
                "EdDSA" => VerificationKey::ed25519_pem(kid, &pem)?,
                other => {
                    return Err(KeyError::new(format!(
                        "public key `{}`: algorithm `{other}` is not supported; use RS256 or EdDSA",
                        key.kid
                    )));
                }
            });
        }
        Ok(keys)
    }

    /// Builds the verifier this configuration describes.
    pub fn build(&self) -> Result<Verifier, KeyError> {
        let keys = self.static_keys()?;
        if keys.is_empty() && self.jwks_url.is_none() {
            return Err(KeyError::new(
                "[auth] names no key: set `hs256_secret`, `public_keys` or `jwks_url`",
            ));
        }
        let verifier = TokenVerifier::new(self.settings(), keys);
        Ok(Verifier {
            inner: Arc::new(Inner { verifier }),
        })
    }
}

struct Inner {
    verifier: TokenVerifier,
}

/// The verifier handlers use: cheap to clone, put it in your state.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("verifier", &self.inner.verifier)
            .finish()
    }
}

impl Verifier {
    /// A verifier over fixed keys.
    pub fn from_static(verifier: TokenVerifier) -> Self {
        Verifier {
            inner: Arc::new(Inner { verifier }),
        }
    }

    /// Checks `token`; see [`TokenVerifier::verify`].
    pub async fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        self.inner.verifier.verify(token)
    }
}
