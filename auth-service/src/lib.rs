//! # auth-service — the token issuer of the API Gateway demo
//!
//! The gateway verifies tokens; this service *issues* them. A user logs in with e-mail and
//! password and receives a short-lived JWT access token (the lecture's `{"alg":"HS256"}` token by
//! default) plus an opaque refresh token that can be rotated and revoked. Machine clients get
//! tokens through the standard OAuth 2.0 token endpoint. Verifiers anywhere can fetch the public
//! keys from `/.well-known/jwks.json` when tokens are signed with RS256 or EdDSA.
//!
//! # Layout
//!
//! - [`config`]: [`Config`], read from TOML and `AUTH__*` variables; [`Config::demo`].
//! - [`keys`]: signing keys (HS256 / RS256 / EdDSA), refusing weak ones; the JWKS.
//! - [`tokens`]: signing access tokens with the newest key.
//! - [`refresh`]: opaque refresh tokens, stored hashed, rotated with reuse detection.
//! - [`passwords`]: argon2id hashing on the blocking pool.
//! - [`throttle`]: exponential back-off after repeated failed logins.
//! - [`accounts`]: registration, login (throttle + constant-time unknown user), demo seed.
//! - [`store`]: users and refresh tokens in SQLite or Postgres (sqlx `Any`, one set of migrations).
//! - [`clock`]: injectable time, so tests of expiry and back-off need no sleeps.
//! - [`routes`]: `auth` (JSON API), `oauth` (RFC 6749), `well_known` (JWKS, discovery), `health`.
//! - [`error`]: [`error::AuthError`] and the problem+json each variant becomes.
//!
//! A login travels: `shared::server` → request-id layer → body limit → `routes::auth::login`
//! ([`shared::AppJson`] parses the body) → [`accounts::authenticate`] (throttle, store, argon2 on
//! the blocking pool) → [`refresh::start_session`] (refresh token stored as a hash) →
//! [`tokens::TokenIssuer::issue`] (JWT signed with the newest key) → 200 with `Cache-Control: no-store`.
//!
//! # Configuration (TOML, every key optional)
//!
//! ```toml
//! demo = false                       # seeds the demo accounts; allows the public demo secret
//! listen = "127.0.0.1:8081"
//! database_url = "sqlite::memory:"   # or "sqlite://auth.db?mode=rwc", "postgres://user@host/db"
//! issuer = "http://localhost:8080"   # `iss`; also the base of the discovery URLs
//! audience = "ecommerce-api"         # `aud`
//! access_token_ttl_secs = 900
//! refresh_token_ttl_secs = 604800
//! max_body_bytes = 16384
//! user_scopes = ["profile", "billing"]   # scopes the OAuth password grant may ask for
//!
//! [[signing.keys]]                   # oldest first; the LAST one signs new tokens
//! kid = "2025-01"
//! alg = "RS256"                      # HS256 | RS256 | EdDSA
//! private_key_file = "keys/rsa.pem"  # PKCS#8 PEM (RS256, EdDSA); HS256 uses `secret = "…"`
//!
//! [throttle]
//! max_failures = 5
//! window_secs = 900
//! base_lock_secs = 30
//! max_lock_secs = 900
//!
//! [[clients]]
//! client_id = "reporting"
//! secret_hash = "$argon2id$v=19$m=19456,t=2,p=1$…"   # `auth-service hash-secret < secret.txt`
//! scopes = ["billing:read"]
//! grant_types = ["client_credentials"]
//!
//! [server]                           # shared::server::ServerLimits
//! header_read_timeout_ms = 10000
//! ```

pub mod accounts;
pub mod clock;
pub mod config;
pub mod error;
pub mod keys;
pub mod passwords;
pub mod refresh;
pub mod routes;
pub mod store;
pub mod throttle;
pub mod tokens;

pub use config::Config;

use axum::{
    Router,
    extract::{DefaultBodyLimit, FromRef},
    middleware,
};
use clock::{Clock, SystemClock};
use config::ClientConfig;
use keys::KeyRing;
use shared::{Problem, Verifier, VerifierSettings, server::Server};
use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};
use store::Store;
use throttle::Throttle;
use tokens::TokenIssuer;

/// Settings the handlers read, fixed at start.
#[derive(Debug)]
pub struct Settings {
    /// `iss`, and the base of the discovery URLs.
    pub issuer: String,
    /// Refresh-token lifetime.
    pub refresh_token_ttl_secs: u64,
    /// Scopes the OAuth password grant may ask for.
    pub user_scopes: Vec<String>,
    /// Every scope a token can carry (for the discovery document).
    pub scopes_supported: Vec<String>,
    /// The signing algorithms in use (for the discovery document).
    pub algorithms: Vec<String>,
    /// An argon2 hash of a random value, verified when a login names an unknown account.
    pub dummy_hash: String,
    /// Largest request body.
    pub max_body_bytes: usize,
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
    /// Failed-login back-off.
    pub throttle: Arc<Throttle>,
    /// "Now", injectable.
    pub clock: Arc<dyn Clock>,
    /// OAuth clients from the configuration.
    pub clients: Arc<Vec<ClientConfig>>,
    /// Fixed settings.
    pub settings: Arc<Settings>,
    /// Verifies our own access tokens (for `/auth/logout`).
    pub verifier: Verifier,
}

impl FromRef<AppState> for Verifier {
    fn from_ref(state: &AppState) -> Verifier {
        state.verifier.clone()
    }
}

impl AppState {
    /// Builds the state from `config`: loads and checks keys, opens and migrates the database,
    /// seeds the demo accounts in demo mode.
    pub async fn new(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<AppState> {
        let verifier_settings = VerifierSettings {
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            leeway: Duration::from_secs(30),
        };
        // Demo mode without keys signs with the public demo secret, so `AUTH__DEMO=true` alone
        // starts a working demo. Outside demo mode a missing key is an error (see `keys`).
        let signing = if config.demo && config.signing.keys.is_empty() {
            Config::demo().signing
        } else {
            config.signing.clone()
        };
        let keys = Arc::new(KeyRing::load(&signing, verifier_settings, config.demo)?);
        for client in &config.clients {
            argon2::PasswordHash::new(&client.secret_hash).map_err(|e| {
                anyhow::anyhow!(
                    "[[clients]] `{}`: secret_hash is not an argon2 PHC string ({e}); \
                     make one with `auth-service hash-secret`",
                    client.client_id
                )
            })?;
        }
        let store = Store::connect(&config.database_url).await?;
        if config.demo {
            accounts::seed_demo(&store, clock.now()).await?;
        }
        let mut algorithms: Vec<String> = Vec::new();
        for key in &signing.keys {
            let alg = format!("{:?}", key.alg);
            if !algorithms.contains(&alg) {
                algorithms.push(alg);
            }
        }
        let mut scopes_supported = config.user_scopes.clone();
        for scope in config.clients.iter().flat_map(|c| &c.scopes) {
            if !scopes_supported.contains(scope) {
                scopes_supported.push(scope.clone());
            }
        }
        let settings = Settings {
            issuer: config.issuer.clone(),
            refresh_token_ttl_secs: config.refresh_token_ttl_secs,
            user_scopes: config.user_scopes.clone(),
            scopes_supported,
            algorithms,
            dummy_hash: passwords::dummy_hash().await?,
            max_body_bytes: config.max_body_bytes,
        };
        Ok(AppState {
            verifier: Verifier::from_static(keys.verifier().clone()),
            tokens: TokenIssuer::new(
                Arc::clone(&keys),
                config.issuer.clone(),
                config.audience.clone(),
                config.access_token_ttl_secs,
            ),
            keys,
            store,
            throttle: Arc::new(Throttle::new(config.throttle.clone())),
            clock,
            clients: Arc::new(config.clients.clone()),
            settings: Arc::new(settings),
        })
    }
}

/// The whole HTTP surface with its middleware, without a listener (tests can `oneshot` it).
pub fn router(state: AppState) -> Router {
    let max_body = state.settings.max_body_bytes;
    Router::new()
        .merge(routes::auth::router())
        .merge(routes::oauth::router())
        .merge(routes::well_known::router())
        .merge(routes::health::router())
        .fallback(|| async { Problem::not_found("no such endpoint on the auth-service") })
        .method_not_allowed_fallback(|| async {
            Problem::new(
                http::StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this endpoint does not accept that HTTP method",
            )
        })
        // Layers wrap inside-out: the request id is assigned first, so every error quotes it.
        // Cap request bodies: a 1 MB "password" is refused with 413 before anything reads it.
        .layer(DefaultBodyLimit::max(max_body))
        // Assign / keep X-Request-Id, make it the current id for problem bodies and logs.
        .layer(middleware::from_fn(shared::request_id::layer))
        .with_state(state)
}

/// A started (bound) auth-service.
pub struct App {
    server: Server,
    state: AppState,
}

impl App {
    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// The state (tests use it to reach the store or the clock).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then drains in-flight requests.
    pub async fn run_until<F: Future<Output = ()> + Send>(
        self,
        shutdown: F,
    ) -> std::io::Result<()> {
        self.server.run_until(shutdown).await
    }
}

/// Loads keys, opens the database, seeds (demo mode), binds the listener. Uses the system clock.
pub async fn build(config: Config) -> anyhow::Result<App> {
    build_with_clock(config, Arc::new(SystemClock)).await
}

/// [`build`] with an injected clock (tests pass a [`clock::ManualClock`]).
pub async fn build_with_clock(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<App> {
    let state = AppState::new(&config, clock).await?;
    let server = Server::bind(config.listen, router(state.clone()), config.server.clone())
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {} (listen): {e}", config.listen))?;
    Ok(App { server, state })
}
