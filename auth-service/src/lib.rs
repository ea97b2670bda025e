//! # auth-service — the token issuer of the API Gateway demo
//!
//! The gateway verifies tokens; this service *issues* them. A user logs in with e-mail and
//! password and receives a short-lived JWT access token (the lecture's `{"alg":"HS256"}` token by
//! default) plus an opaque refresh token that can be rotated and revoked. OAuth clients — public
//! apps and confidential machine clients — get tokens through the standard OAuth 2.0 token
//! endpoint; every refresh token is bound to the client it was issued to. Verifiers anywhere can
//! fetch the public keys from `/.well-known/jwks.json` when tokens are signed with RS256 or EdDSA,
//! and OAuth clients configure themselves from `/.well-known/oauth-authorization-server`.
//!
//! # Layout
//!
//! - [`config`]: [`Config`], read from TOML and `AUTH__*` variables; [`Config::demo`].
//! - [`keys`]: signing keys (HS256 / RS256 / EdDSA), refusing weak ones; the JWKS.
//! - [`tokens`]: signing access tokens with the newest key.
//! - [`access`]: issued access tokens recorded by `jti` (client, session, revoked or not).
//! - [`refresh`]: opaque refresh tokens, stored hashed, bound to their client, rotated with reuse
//!   detection.
//! - [`passwords`]: argon2id hashing on the blocking pool.
//! - [`throttle`]: exponential back-off after repeated failures (logins, client secrets).
//! - [`clients`]: the OAuth clients (public or confidential), checked at start; the reserved
//!   first-party client of `/auth/*`; the demo clients.
//! - [`redirect_uris`]: exact matching of redirect URIs, any port for loopback ones (RFC 8252).
//! - [`pkce`]: PKCE `S256` challenges and verifiers (RFC 7636).
//! - [`codes`]: authorization codes, stored hashed, bound to client, redirect URI and
//!   challenge, redeemed once (a replay revokes what the first redemption issued).
//! - [`csrf`]: the login form's CSRF tokens (a signed double-submit cookie).
//! - [`device`]: device cookies, so a browser that logged in before gets through while an
//!   attacker keeps its account locked; failures with a cookie are throttled per device.
//! - [`accounts`]: registration (enumeration-safe), login (throttle + device cookie +
//!   constant-time unknown user), demo and classroom seed.
//! - [`provisioning`]: tells the user-service about accounts (`PUT /internal/profiles/{id}`) at
//!   registration and login: profiles come from accounts, never from tokens.
//! - [`store`]: users, refresh tokens and access-token records in SQLite or Postgres (sqlx
//!   `Any`, one set of migrations).
//! - [`routes`]: `auth` (JSON API), `oauth` (RFC 6749 `authorize` (login form) and `token`,
//!   RFC 7009 `revoke`, RFC 7662 `introspect`, each through `client_auth`; `form` parses their
//!   parameters), `well_known` (JWKS, RFC 8414 metadata).
//! - [`error`]: [`error::AuthError`] and the problem+json each variant becomes.
//! - [`counters`]: what `GET /metrics` counts besides HTTP traffic: logins by outcome,
//!   refresh-token reuse.
//! - `shared::service_kit`: the frame every service shares — [`App`], the middleware stack
//!   (request id, trace, panic guard, body limit), `/healthz` and `/readyz`, the `[server]` and
//!   `[database]` sections. `shared::clock`: the service's one clock, injected in [`AppState`].
//!
//! A login travels: `shared::server` → `service_kit::stack` (request id, trace, panic guard,
//! body limit) → `routes::auth::login` ([`shared::AppJson`] parses the body) →
//! [`accounts::authenticate`] (throttle, store, argon2 on the blocking pool) →
//! [`provisioning::Provisioner::provision`] (the profile at the user-service brought in line) →
//! [`refresh::start_session`] (refresh token stored as a hash, bound to the first-party client) →
//! [`access::issue`] ([`tokens::TokenIssuer::issue`] signs with the newest key; the `jti` is
//! recorded) → 200 with `Cache-Control: no-store`.
//!
//! A token request travels: the kit's stack → `routes::oauth::token` (`Params` parses the form)
//! → `routes::oauth::client_auth` (Basic, body or bare `client_id`; per-client throttle; argon2)
//! → the grant ([`accounts::authenticate`] and [`refresh::start_session`], [`refresh::rotate`]
//! for the client, or a `client_credentials` token) → 200, or an RFC 6749 §5.2 error.
//!
//! A sign-in through the authorization endpoint travels: the kit's stack →
//! `routes::oauth::authorize::show` (`request` checks client, redirect URI, PKCE; `page` renders
//! the form with a [`csrf`] token) → the browser posts it to `authorize::submit` (CSRF check,
//! then [`accounts::authenticate`], the login's own code) → [`codes::issue`] → 303 to the
//! client with `code` and `state` → `routes::oauth::token` → [`codes::redeem`] (once; PKCE) →
//! [`refresh::start_session_in`] → 200.
//!
//! # Configuration (TOML, every key optional)
//!
//! ```toml
//! demo = false                       # seeds the demo accounts; allows the public demo secret
//! issuer = "http://localhost:8080"   # `iss`; also the base of the discovery URLs
//! audience = "ecommerce-api"         # `aud`
//! access_token_ttl_secs = 900
//! refresh_token_ttl_secs = 604800
//! user_scopes = ["profile", "billing"]   # scopes the OAuth password grant may ask for
//!
//! [[signing.keys]]                   # oldest first; the LAST one signs new tokens
//! kid = "2025-01"
//! alg = "RS256"                      # HS256 | RS256 | EdDSA
//! private_key_file = "keys/rsa.pem"  # PKCS#8 PEM (RS256, EdDSA); HS256 uses `secret = "…"`
//!
//! [provisioning]                     # user-services told about registrations and logins
//! user_service_urls = ["http://127.0.0.1:8082"]
//!
//! [classroom]                        # needs demo = true; docs/classroom.md
//! enabled = false                    # seeds student01..student40@example.edu
//! admin_password = "…"               # replaces admin123; required when listening beyond loopback
//!
//! [throttle]
//! max_failures = 5
//! window_secs = 900
//! base_lock_secs = 30
//! max_lock_secs = 900
//!
//! [[clients]]                        # confidential: has a secret
//! client_id = "reporting"
//! secret_hash = "$argon2id$v=19$m=19456,t=2,p=1$…"   # `auth-service hash-secret < secret.txt`
//! scopes = ["billing:read"]
//! grant_types = ["client_credentials"]
//! introspect = false                 # may call POST /oauth/introspect
//!
//! [[clients]]                        # public: no secret, client_id alone
//! client_id = "web-app"
//! type = "public"                    # optional: no secret_hash means public
//! grant_types = ["authorization_code", "refresh_token"]
//! redirect_uris = ["http://127.0.0.1/callback"]   # exact; loopback ones on any port
//! require_state = true               # the authorization endpoint refuses requests without state
//!
//! [server]                           # the section every service shares
//! listen = "127.0.0.1:8081"
//! max_body_bytes = 16384
//! [server.limits]                    # shared::server::ServerLimits
//! header_read_timeout_ms = 10000
//!
//! [database]
//! url = "sqlite::memory:"            # or "sqlite://auth.db?mode=rwc", "postgres://user@host/db"
//! ```
//!
//! Every key of every service, with its environment spelling: `docs/configuration.md`.

pub mod access;
pub mod accounts;
pub mod clients;
pub mod codes;
pub mod config;
pub mod counters;
pub mod csrf;
pub mod device;
pub mod error;
pub mod keys;
pub mod passwords;
pub mod pkce;
pub mod provisioning;
pub mod redirect_uris;
pub mod refresh;
pub mod routes;
pub mod store;
pub mod throttle;
pub mod tokens;

pub use config::Config;

use axum::{Router, extract::FromRef};
use clients::Registry;
use counters::Counters;
use keys::KeyRing;
use shared::clock::{SharedClock, SystemClock};
use shared::service_kit::{self, BodyLimit, Readiness, ServiceMetrics};
use shared::{Verifier, VerifierSettings};
use std::{sync::Arc, time::Duration};
use store::Store;
use throttle::Throttle;
use tokens::TokenIssuer;

/// Settings the handlers read, fixed at start.
#[derive(Debug)]
pub struct Settings {
    /// `iss`, and the base of the metadata's URLs.
    pub issuer: String,
    /// Refresh-token lifetime.
    pub refresh_token_ttl_secs: u64,
    /// Scopes the OAuth password grant may ask for.
    pub user_scopes: Vec<String>,
    /// Every scope a token can carry (for the RFC 8414 metadata).
    pub scopes_supported: Vec<String>,
    /// An argon2 hash of a random value, verified when a login names an unknown account.
    pub dummy_hash: String,
    /// Largest request body (`[server] max_body_bytes`), answered in the OAuth error format on
    /// `/oauth/*`.
    pub body_limit: BodyLimit,
    /// Demo mode: serves `POST /admin/reset` ([`routes::admin`]).
    pub demo: bool,
}

/// Everything a handler needs. Cheap to clone: every field is a handle.
#[derive(Clone)]
pub struct AppState {
    /// Users and refresh tokens.
    pub store: Store,
    /// Signing keys and the JWKS.
    pub keys: Arc<KeyRing>,
    /// Signs access tokens.
    pub tokens: TokenIssuer,
    /// Failed-login back-off, per account.
    pub throttle: Arc<Throttle>,
    /// Device cookies and their per-device failed-login back-off.
    pub devices: Arc<device::DeviceCookies>,
    /// Failed client-authentication back-off, per `client_id`.
    pub client_throttle: Arc<Throttle>,
    /// "Now": the one clock of the service (expiry, throttle windows, `iat`/`exp`), injectable.
    pub clock: SharedClock,
    /// OAuth clients: the configuration's, and the demo clients in demo mode.
    pub clients: Arc<Registry>,
    /// Fixed settings.
    pub settings: Arc<Settings>,
    /// Verifies our own access tokens (for `/auth/logout`).
    pub verifier: Verifier,
    /// What the service counts (`GET /metrics`): HTTP traffic, and [`counters`] of its own.
    pub metrics: ServiceMetrics,
    /// Logins by outcome, refresh-token reuse.
    pub counters: Counters,
    /// Signs the login form's CSRF tokens (random per process).
    pub csrf: Arc<csrf::CsrfKey>,
    /// Creates the accounts' profiles at the user-service (registration, login).
    pub provisioner: provisioning::Provisioner,
}

impl FromRef<AppState> for Verifier {
    fn from_ref(state: &AppState) -> Verifier {
        state.verifier.clone()
    }
}

impl FromRef<AppState> for ServiceMetrics {
    fn from_ref(state: &AppState) -> ServiceMetrics {
        state.metrics.clone()
    }
}

impl AppState {
    /// Builds the state from `config`: loads and checks keys, opens and migrates the database,
    /// checks the OAuth clients, seeds the demo accounts and adds the demo clients in demo mode.
    pub async fn new(config: &Config, clock: SharedClock) -> anyhow::Result<AppState> {
        // `load` validated a file's configuration already; a `Config` built in code (the demo
        // launcher, tests) is checked here, so no way of starting skips the rules.
        shared::service_kit::ServiceConfig::validate(config)?;
        let verifier_settings = VerifierSettings {
            // Its own tokens live `access_token_ttl_secs`; never refuse one for its length.
            max_lifetime: Duration::from_secs(config.access_token_ttl_secs)
                .max(VerifierSettings::DEFAULT_MAX_LIFETIME),
            ..VerifierSettings::new(config.issuer.clone(), config.audience.clone())
        };
        // Demo mode without keys signs with the public demo secret, so `AUTH__DEMO=true` alone
        // starts a working demo. Outside demo mode a missing key is an error (see `keys`).
        let signing = if config.demo && config.signing.keys.is_empty() {
            Config::demo().signing
        } else {
            config.signing.clone()
        };
        let keys = Arc::new(KeyRing::load(&signing, verifier_settings, config.demo)?);
        let clients = Registry::load(config).await?;
        let store = Store::connect(&config.database).await?;
        if config.demo {
            accounts::seed_demo(&store, clock.unix_secs(), &config.classroom).await?;
        }
        let mut scopes_supported = config.user_scopes.clone();
        for scope in clients.iter().flat_map(|c| &c.scopes) {
            if !scopes_supported.contains(scope) {
                scopes_supported.push(scope.clone());
            }
        }
        let settings = Settings {
            issuer: config.issuer.clone(),
            refresh_token_ttl_secs: config.refresh_token_ttl_secs,
            user_scopes: config.user_scopes.clone(),
            scopes_supported,
            dummy_hash: passwords::dummy_hash().await?,
            body_limit: BodyLimit::new(config.server.max_body_bytes)
                .answered_by(routes::oauth::too_large),
            demo: config.demo,
        };
        let metrics = ServiceMetrics::new(&config.metrics);
        let provisioner = provisioning::Provisioner::new(
            config.provisioning.user_service_urls.clone(),
            TokenIssuer::new(
                Arc::clone(&keys),
                config.issuer.clone(),
                config.audience.clone(),
                shared::provisioning::TOKEN_TTL_SECS,
            ),
        )?;
        Ok(AppState {
            counters: Counters::new(&metrics),
            metrics,
            verifier: Verifier::from_static(keys.verifier().clone()),
            tokens: TokenIssuer::new(
                Arc::clone(&keys),
                config.issuer.clone(),
                config.audience.clone(),
                config.access_token_ttl_secs,
            ),
            keys,
            store,
            throttle: Arc::new(throttle(config, "account")?),
            client_throttle: Arc::new(throttle(config, "client")?),
            devices: Arc::new(device::DeviceCookies::new(
                &config.issuer,
                config.throttle.clone(),
            )),
            clock,
            clients: Arc::new(clients),
            settings: Arc::new(settings),
            csrf: Arc::new(csrf::CsrfKey::random()),
            provisioner,
        })
    }
}

/// A failed-login throttle on `config`: its records in Redis under `namespace` when `[redis]` is
/// configured (every replica counts the same failures), in this process's memory otherwise.
fn throttle(config: &Config, namespace: &str) -> anyhow::Result<Throttle> {
    Ok(match &config.redis {
        Some(redis) => Throttle::shared(
            config.throttle.clone(),
            throttle::redis::RedisRecords::new(redis, namespace)?,
        ),
        None => Throttle::new(config.throttle.clone()),
    })
}

/// `/readyz` asks the store (SQLite or Postgres).
impl Readiness for AppState {
    async fn ping_database(&self) -> Result<(), sqlx::Error> {
        self.store.ping().await
    }
}

/// The whole HTTP surface with its middleware (the kit's stack, with `/healthz` and `/readyz`),
/// without a listener (tests can `oneshot` it).
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .merge(routes::auth::router())
        .merge(routes::oauth::router())
        .merge(routes::well_known::router());
    let routes = if state.settings.demo {
        routes.merge(routes::admin::router())
    } else {
        routes
    };
    service_kit::router(routes, state.clone(), state.settings.body_limit)
}

/// A started (bound) auth-service, its state kept (see [`service_kit::App`]).
pub type App = service_kit::App<AppState>;

/// Loads keys, opens the database, seeds (demo mode), binds the listener. Uses the system clock.
pub async fn build(config: Config) -> anyhow::Result<App> {
    build_with_clock(config, SystemClock::shared()).await
}

/// [`build`] with an injected clock (tests pass a [`shared::clock::ManualClock`]).
pub async fn build_with_clock(config: Config, clock: SharedClock) -> anyhow::Result<App> {
    let state = AppState::new(&config, clock).await?;
    Ok(App::bind(&config.server, router, state).await?)
}
