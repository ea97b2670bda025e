//! Where a service's verification keys come from, and the [`Verifier`] handlers use.
//!
//! Two set-ups, chosen in configuration (`[auth]` of every service), and they combine:
//!
//! - **Static keys**: the HS256 shared secret (the lecture's set-up) and/or public keys in PEM
//!   files. Simple, but every verifier must be redeployed when a key changes — and with HS256 every
//!   verifier holds the *signing* secret too, so any of them could mint tokens.
//! - **JWKS URL**: the auth-service publishes its public keys at `/.well-known/jwks.json`. The
//!   verifier fetches them, caches them, refreshes them periodically, and fetches again at once
//!   when a token names a `kid` it has not seen (the auth-service rotated its key) — but at most
//!   once per `jwks_min_refetch_secs`, so a flood of tokens with made-up `kid`s cannot turn into a
//!   flood of requests to the auth-service. If the JWKS endpoint is down, the cached keys keep
//!   working. Fifty services can verify tokens without holding any secret.

use crate::{
    claims::Claims,
    verifier::{KeyError, TokenError, TokenVerifier, VerificationKey, VerifierSettings},
};
use arc_swap::ArcSwap;
use jsonwebtoken::jwk::JwkSet;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::{
    path::PathBuf,
    sync::{
        Arc, Weak,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

/// A JWKS document larger than this is refused: ours is a few KiB.
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// The `[auth]` section every service shares.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifierConfig {
    /// Exact `iss` accepted.
    pub issuer: String,
    /// Exact `aud` accepted.
    pub audience: String,
    /// Clock skew tolerated on `exp`/`nbf`/`iat`, in seconds.
    #[serde(default = "default_leeway")]
    pub leeway_secs: u64,
    /// The longest life an access token may claim (`exp` − `iat`), in seconds; longer ones are
    /// refused with `token_lifetime_too_long`. Keep it at or above the auth-service's
    /// `access_token_ttl_secs`.
    #[serde(default = "default_max_token_lifetime")]
    pub max_token_lifetime_secs: u64,
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
    /// How often the JWKS is refreshed in the background, in seconds.
    #[serde(default = "default_refresh")]
    pub jwks_refresh_secs: u64,
}

fn default_leeway() -> u64 {
    VerifierSettings::DEFAULT_LEEWAY.as_secs()
}

fn default_max_token_lifetime() -> u64 {
    VerifierSettings::DEFAULT_MAX_LIFETIME.as_secs()
}

fn default_min_refetch() -> u64 {
    10
}

fn default_refresh() -> u64 {
    300
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
            max_token_lifetime_secs: default_max_token_lifetime(),
            hs256_secret: Some(SecretString::from(crate::demo::HS256_SECRET)),
            public_keys: Vec::new(),
            jwks_url: None,
            jwks_min_refetch_secs: default_min_refetch(),
            jwks_refresh_secs: default_refresh(),
        }
    }

    /// The issuer, audience and leeway as verifier settings.
    pub fn settings(&self) -> VerifierSettings {
        VerifierSettings {
            issuer: self.issuer.clone(),
            audience: self.audience.clone(),
            leeway: Duration::from_secs(self.leeway_secs),
            max_lifetime: Duration::from_secs(self.max_token_lifetime_secs),
        }
    }

    /// The keys named directly in the configuration (secret and PEM files).
    pub fn static_keys(&self) -> Result<Vec<VerificationKey>, KeyError> {
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

    /// Builds the verifier this configuration describes. With a `jwks_url`, the keys are fetched
    /// on first use and then refreshed in the background (which needs a Tokio runtime).
    pub fn build(&self) -> Result<Verifier, KeyError> {
        let static_keys = self.static_keys()?;
        let jwks = match &self.jwks_url {
            None if static_keys.is_empty() => {
                return Err(KeyError::new(
                    "[auth] names no key: set `hs256_secret`, `public_keys` or `jwks_url`",
                ));
            }
            None => None,
            Some(url) => {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(KeyError::new(format!(
                        "[auth] jwks_url `{url}` must be an http:// or https:// URL"
                    )));
                }
                Some(JwksSource {
                    url: url.clone(),
                    client: reqwest::Client::builder()
                        .timeout(Duration::from_secs(5))
                        .build()
                        .map_err(|e| KeyError::new(format!("HTTP client: {e}")))?,
                    min_refetch: Duration::from_secs(self.jwks_min_refetch_secs),
                    last_attempt: tokio::sync::Mutex::new(None),
                    fetched: AtomicU64::new(0),
                    failed: AtomicU64::new(0),
                })
            }
        };
        let settings = self.settings();
        let current = TokenVerifier::new(settings.clone(), static_keys.clone());
        let inner = Arc::new(Inner {
            settings,
            static_keys,
            current: ArcSwap::from_pointee(current),
            jwks,
        });
        if inner.jwks.is_some()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(refresh_periodically(
                Arc::downgrade(&inner),
                Duration::from_secs(self.jwks_refresh_secs.max(1)),
            ));
        }
        Ok(Verifier { inner })
    }
}

struct JwksSource {
    url: String,
    client: reqwest::Client,
    min_refetch: Duration,
    /// When the last fetch was attempted; also serialises fetches.
    last_attempt: tokio::sync::Mutex<Option<Instant>>,
    /// Fetches that installed keys, and fetches that failed (kept for metrics).
    fetched: AtomicU64,
    failed: AtomicU64,
}

/// What a JWKS-backed verifier has done so far (the gateway's `/metrics` shows it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JwksStats {
    /// Fetches that installed a key set.
    pub fetched: u64,
    /// Fetches that failed (the cached keys stayed in use).
    pub failed: u64,
    /// Keys in use now (static and fetched).
    pub keys: usize,
}

struct Inner {
    settings: VerifierSettings,
    static_keys: Vec<VerificationKey>,
    /// The keys in use. Readers never wait: a refresh builds a new verifier and swaps it in.
    current: ArcSwap<TokenVerifier>,
    jwks: Option<JwksSource>,
}

/// The verifier handlers use: cheap to clone, put it in your state.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("current", &self.inner.current.load())
            .field("jwks_url", &self.inner.jwks.as_ref().map(|j| &j.url))
            .finish()
    }
}

impl Verifier {
    /// A verifier over fixed keys.
    pub fn from_static(verifier: TokenVerifier) -> Self {
        Verifier {
            inner: Arc::new(Inner {
                settings: verifier.settings().clone(),
                static_keys: verifier.keys().cloned().collect(),
                current: ArcSwap::from_pointee(verifier),
                jwks: None,
            }),
        }
    }

    /// Checks `token`; see [`TokenVerifier::verify`]. An unknown `kid` triggers one JWKS fetch
    /// (rate-limited) before the token is refused.
    pub async fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let result = self.inner.current.load().verify(token);
        match result {
            Err(TokenError::UnknownKid) if self.inner.jwks.is_some() => {
                self.inner.refetch().await;
                // Look again whether this request fetched or not: the first tokens after a start
                // or a rotation arrive together, and the ones that waited for another request's
                // fetch (and may not fetch again so soon) find the new keys in place.
                self.inner.current.load().verify(token)
            }
            other => other,
        }
    }

    /// Fetches the JWKS now (ignoring the refetch limit). `Ok(n)` is the number of keys in use.
    pub async fn refresh(&self) -> Result<usize, KeyError> {
        self.inner.fetch_and_swap().await
    }

    /// JWKS fetches so far and keys in use; `None` for a verifier without a JWKS URL.
    pub fn jwks_stats(&self) -> Option<JwksStats> {
        let jwks = self.inner.jwks.as_ref()?;
        Some(JwksStats {
            fetched: jwks.fetched.load(Ordering::Relaxed),
            failed: jwks.failed.load(Ordering::Relaxed),
            keys: self.inner.current.load().keys().count(),
        })
    }

    /// The `kid`s currently accepted (for readiness and admin pages).
    pub fn known_kids(&self) -> Vec<String> {
        self.inner
            .current
            .load()
            .keys()
            .filter_map(|k| k.kid().map(str::to_owned))
            .collect()
    }
}

impl Inner {
    /// A fetch triggered by an unknown `kid`: skipped when another fetch happened within
    /// `min_refetch` — including one that was under way, which this call waits for.
    async fn refetch(&self) {
        let Some(jwks) = &self.jwks else { return };
        {
            let last = jwks.last_attempt.lock().await;
            if last.is_some_and(|at| at.elapsed() < jwks.min_refetch) {
                return;
            }
        }
        let _ = self.fetch_and_swap().await;
    }

    async fn fetch_and_swap(&self) -> Result<usize, KeyError> {
        let Some(jwks) = &self.jwks else {
            return Ok(self.current.load().keys().count());
        };
        let mut last = jwks.last_attempt.lock().await;
        *last = Some(Instant::now());
        let fetched = fetch_jwks(&jwks.client, &jwks.url).await;
        drop(last);
        match fetched {
            Ok(set) => {
                let mut keys = self.static_keys.clone();
                keys.extend(VerificationKey::from_jwks(&set));
                let count = keys.len();
                self.current
                    .store(Arc::new(TokenVerifier::new(self.settings.clone(), keys)));
                jwks.fetched.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(url = %jwks.url, keys = count, "JWKS refreshed");
                Ok(count)
            }
            Err(error) => {
                // Keep serving with the cached keys: an auth-service outage must not become
                // an outage of every service that verifies tokens.
                jwks.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(url = %jwks.url, %error, "JWKS fetch failed; keeping cached keys");
                Err(error)
            }
        }
    }
}

async fn fetch_jwks(client: &reqwest::Client, url: &str) -> Result<JwkSet, KeyError> {
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| KeyError::new(format!("JWKS request failed: {e}")))?;
    if !response.status().is_success() {
        return Err(KeyError::new(format!(
            "JWKS endpoint answered {}",
            response.status()
        )));
    }
    if response
        .content_length()
        .is_some_and(|len| len as usize > MAX_JWKS_BYTES)
    {
        return Err(KeyError::new("JWKS document too large"));
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| KeyError::new(format!("JWKS body: {e}")))?;
    if body.len() > MAX_JWKS_BYTES {
        return Err(KeyError::new("JWKS document too large"));
    }
    serde_json::from_slice(&body).map_err(|e| KeyError::new(format!("JWKS is not valid: {e}")))
}

/// Background refresh; ends when the verifier is dropped. The first fetch is not done here but on
/// demand, by the first token whose `kid` is not known yet.
async fn refresh_periodically(inner: Weak<Inner>, every: Duration) {
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        ticker.tick().await;
        let Some(inner) = inner.upgrade() else { return };
        let _ = inner.fetch_and_swap().await;
    }
}
