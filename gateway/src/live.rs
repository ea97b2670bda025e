//! Live reload: the gateway in use, swapped for a new one without dropping a request.
//!
//! [`Live`] holds the current [`Gateway`] behind an [`ArcSwap`]. Each request takes the
//! current one when it starts (one atomic reference count) and keeps it to its end, so a
//! reload never changes the rules under a request already running: in-flight requests finish on
//! the old configuration, new ones start on the new one, and the old one is dropped when its
//! last request is done.
//!
//! [`Live::reload`] validates first: an invalid configuration is refused with its located
//! errors (logged and counted in `gateway_config_reloads_total{outcome="rejected"}`) and the
//! old one stays in use. A valid one is compiled with [`Gateway::reloaded`], which keeps the
//! rate-limit counts, the unchanged upstreams' pools, breakers and health, the metrics and the
//! decision ring. Some settings are read once, at start — the listeners (`[server] listen` and
//! its connection limits, `[admin]`) and the token rules (`[auth]`, its signing keys): a reload
//! that changes them applies everything else and says what needs a restart
//! ([`needs_restart`]), in the log and on the admin listener's `/config`.
//!
//! What triggers a reload (`SIGHUP`, a changed file) is the binary's business
//! (`src/main.rs`); tests call [`Live::reload`] directly.

use crate::{config::Config, state::Gateway, upstream};
use arc_swap::ArcSwap;
use secrecy::ExposeSecret;
use shared::VerifierConfig;
use std::sync::{Arc, Mutex};

/// The gateway in use, replaceable at run time.
pub struct Live {
    current: ArcSwap<Gateway>,
    /// Serialises reloads (two signals at once compile one after the other) and holds what
    /// the last one could not apply.
    last: Mutex<Vec<String>>,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live")
            .field("generation", &self.current.load().generation)
            .finish_non_exhaustive()
    }
}

/// What an applied reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reloaded {
    /// The version now in use.
    pub version: u64,
    /// Settings that changed but apply only after a restart (empty: all applied).
    pub needs_restart: Vec<String>,
}

impl Live {
    /// Starts with `gateway` in use and its upstreams' health checks running.
    pub fn new(gateway: Arc<Gateway>) -> Arc<Live> {
        upstream::probe::spawn(gateway.upstreams.iter());
        gateway
            .metrics
            .config_reload(true, gateway.generation.version);
        Arc::new(Live {
            current: ArcSwap::new(gateway),
            last: Mutex::new(Vec::new()),
        })
    }

    /// The gateway in use now. A request keeps what it got until it ends.
    pub fn current(&self) -> Arc<Gateway> {
        self.current.load_full()
    }

    /// Settings of the configuration in use that a restart would still have to apply.
    pub fn pending_restart(&self) -> Vec<String> {
        self.last.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Validates `config` and, if it is valid, puts it in use atomically; otherwise keeps the
    /// current one and returns why (every located error, as `gateway check-config` prints).
    pub fn reload(&self, config: Config) -> anyhow::Result<Reloaded> {
        let mut pending = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let old = self.current.load_full();
        let new = match old.reloaded(&config) {
            Ok(new) => Arc::new(new),
            Err(error) => {
                drop(pending);
                self.rejected(&format!("{error:#}"));
                return Err(error);
            }
        };
        // Health checks for the upstreams that are new or changed; the others' tasks go on.
        upstream::probe::spawn(
            new.upstreams
                .iter()
                .filter(|u| !old.upstreams.iter().any(|o| Arc::ptr_eq(o, u))),
        );
        *pending = needs_restart(&old.config, &config);
        let version = new.generation.version;
        new.metrics.config_reload(true, version);
        self.current.store(new);
        for setting in pending.iter() {
            tracing::warn!(version, "{setting}");
        }
        tracing::info!(
            version,
            routes = config.routes.len(),
            "configuration reloaded"
        );
        Ok(Reloaded {
            version,
            needs_restart: pending.clone(),
        })
    }
}

impl Live {
    /// Records a reload refused before it reached [`Live::reload`] (a file that does not
    /// parse) or by it: logged with `why` (the located errors) and counted; nothing changes.
    pub fn rejected(&self, why: &str) {
        let current = self.current.load();
        current
            .metrics
            .config_reload(false, current.generation.version);
        tracing::error!(
            version = current.generation.version,
            "configuration reload rejected; the configuration in use stays:\n{why}"
        );
    }
}

/// The settings read only at start that differ between `running` and `new`, each as a sentence
/// naming the setting and why it needs a restart.
pub fn needs_restart(running: &Config, new: &Config) -> Vec<String> {
    let mut changed = Vec::new();
    if running.server.listen != new.server.listen {
        changed.push(format!(
            "`server.listen` changed ({} → {}): the listener is bound at start; restart to move it",
            running.server.listen, new.server.listen
        ));
    }
    if running.server.limits != new.server.limits {
        changed.push(
            "`[server.limits]` changed: connection limits are set when the listener starts; \
             restart to apply them"
                .to_owned(),
        );
    }
    let same_admin_token = match (&running.admin.token, &new.admin.token) {
        (None, None) => true,
        (Some(a), Some(b)) => a.expose_secret() == b.expose_secret(),
        _ => false,
    };
    if running.admin.listen != new.admin.listen || !same_admin_token {
        changed.push(
            "`[admin]` changed: the admin listener and its token are set at start; restart to \
             apply"
                .to_owned(),
        );
    }
    if !same_auth(&running.auth, &new.auth) {
        changed.push(
            "`[auth]` changed: the token rules and signing keys (secret, key files, JWKS URL) \
             are loaded at start; tokens are still checked with the old ones until a restart"
                .to_owned(),
        );
    }
    changed
}

/// The same token rules and key sources (secrets compared, never shown).
fn same_auth(a: &VerifierConfig, b: &VerifierConfig) -> bool {
    let secret = |c: &VerifierConfig| {
        c.hs256_secret
            .as_ref()
            .map(|s| s.expose_secret().to_owned())
    };
    let keys = |c: &VerifierConfig| format!("{:?}", c.public_keys);
    a.issuer == b.issuer
        && a.audience == b.audience
        && a.leeway_secs == b.leeway_secs
        && a.max_token_lifetime_secs == b.max_token_lifetime_secs
        && secret(a) == secret(b)
        && keys(a) == keys(b)
        && a.jwks_url == b.jwks_url
        && a.jwks_min_refetch_secs == b.jwks_min_refetch_secs
        && a.jwks_refresh_secs == b.jwks_refresh_secs
}
