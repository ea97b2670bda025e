//! # gateway — the single front door
//!
//! Every client request enters the system here (port 8080). The gateway normalises the path,
//! picks a route by longest segment prefix, verifies the bearer token (once, for every service
//! behind it), checks the route's roles, replaces any identity headers the client sent with the
//! verified ones, and streams the request to the upstream service and its response back. Every
//! refusal is problem+json with a stable reason and the request id; every request leaves one
//! access-log line. Routes, upstreams and policies are declared in one TOML file
//! (`gateway.toml`), validated at start with messages that name the line and the fix.
//!
//! # Layout
//!
//! - [`config`]: the TOML file and `GATEWAY__…` overrides; validation with located messages.
//! - [`normalize`]: the one canonical spelling of a path (pure, heavily tested).
//! - [`routing`]: the compiled route table (segment prefixes, exact routes, methods).
//! - [`handler`]: the pipeline below, in one place.
//! - [`auth`] (who is calling), [`policy`] (may they), [`identity`] (tell the backend);
//!   [`token_cache`]: the claims of recently verified tokens (a signature is checked once).
//! - [`proxy`]: hop-by-hop hygiene, the upstream URI, streaming, failure classification.
//! - [`forwarded`]: `X-Forwarded-*` / `Forwarded` and trusted proxies.
//! - [`aggregate`]: `[[aggregates]]` — several upstream calls run at once, merged into one JSON
//!   answer with a `_meta` report; partial answers for failed optional calls.
//! - [`upstream`]: targets and how they are reached, split by concern: `pool` (keep-alive
//!   connections per target), `balancer` (round robin, least outstanding), `breaker` (a circuit
//!   per target, injectable clock), `health` (active checks, the readiness report), `retry`
//!   (policy and budget), `call` (one exchange).
//! - [`limits`]: URI and body limits (the body counted on the stream).
//! - [`error`]: every gateway error with its status, reason and side (downstream/upstream).
//! - [`access_log`]: one structured line per request.
//! - [`health`]: `/healthz`, `/readyz`.
//! - [`ratelimit`]: rate limits and quotas (GCRA, in-process or in Redis), the `RateLimit`
//!   headers, login protection; `/ratelimitz` shows its counters.
//!
//! A request's path: `shared::server` (connection limits, header-read timeout, 431) →
//! [`FrontDoor`] (the gateway's own endpoints, else: `shared::request_id` (id kept or
//! assigned) → [`handler::handle`]): URI length (414) →
//! [`normalize`] (400) → [`aggregate`] for an aggregate's exact path (its own [`auth`],
//! [`policy`], [`identity`], then concurrent calls) or [`routing`] (404/405) → `Content-Length`
//! (413) → [`auth`] (401) → [`policy`] (403) → [`identity`] → [`ratelimit`] (429, or 503 when
//! Redis fails closed) → [`proxy`] → [`upstream`]: lease a target (503 `circuit_open`), send,
//! record the outcome, retry if allowed (502/504, streamed 413) → [`access_log`].

pub mod access_log;
pub mod aggregate;
pub mod auth;
pub mod config;
pub mod error;
pub mod forwarded;
pub mod handler;
pub mod health;
pub mod identity;
pub mod limits;
pub mod normalize;
pub mod policy;
pub mod proxy;
pub mod ratelimit;
pub mod routing;
pub mod token_cache;
pub mod upstream;

pub use config::Config;

use axum::{Router, body::Body, routing::get};
use hyper::body::Incoming;
use shared::{
    request_id,
    server::{Handler, Server, ServerLimits},
};
use std::{net::SocketAddr, sync::Arc};

/// Everything a request needs, compiled once from the configuration. Shared read-only by all
/// requests: no locks on the hot path.
#[derive(Debug)]
pub struct Gateway {
    /// The route table.
    pub routes: routing::RouteTable,
    /// The aggregates, by exact path (looked up before the routes).
    pub aggregates: aggregate::Aggregates,
    /// The upstreams, indexed by `Route::upstream`.
    pub upstreams: Vec<upstream::Upstream>,
    /// Token verification (static keys or a JWKS cache).
    pub verifier: shared::Verifier,
    /// Claims of recently verified tokens.
    pub token_cache: token_cache::TokenCache,
    /// Peers whose forwarding headers are believed.
    pub trusted_proxies: forwarded::TrustedProxies,
    /// Longest request target, in bytes.
    pub max_uri_bytes: usize,
    /// Largest request body, in bytes.
    pub max_body_bytes: u64,
    /// Rate limits and quotas, with their stores ([`ratelimit`]).
    pub limiter: ratelimit::Limiter,
}

impl Gateway {
    /// Validates `config` and compiles it.
    pub fn new(config: &Config) -> anyhow::Result<Gateway> {
        Self::with_clock(
            config,
            Arc::new(upstream::breaker::MonotonicClock::default()),
        )
    }

    /// [`Gateway::new`] with the circuit breakers' clock injected, so tests can move time.
    pub fn with_clock(
        config: &Config,
        clock: Arc<dyn upstream::breaker::Clock>,
    ) -> anyhow::Result<Gateway> {
        config.validate()?;
        let verifier = config
            .auth
            .build()
            .map_err(|e| anyhow::anyhow!("[auth]: {e}"))?;
        Ok(Gateway {
            routes: routing::RouteTable::compile(config),
            aggregates: aggregate::Aggregates::compile(config),
            upstreams: config
                .upstreams
                .iter()
                .map(|u| upstream::Upstream::with_clock(u, Arc::clone(&clock)))
                .collect(),
            verifier,
            token_cache: token_cache::TokenCache::default(),
            trusted_proxies: forwarded::TrustedProxies::new(&config.trusted_proxies),
            max_uri_bytes: config.server.max_uri_bytes,
            max_body_bytes: config.server.max_body_bytes,
            limiter: ratelimit::Limiter::new(
                config,
                Arc::new(ratelimit::clock::SystemClock::default()),
            )?,
        })
    }
}

/// The router's state.
pub type AppState = Arc<Gateway>;

/// The gateway's own endpoints, answered by the gateway itself (never forwarded).
pub const OWN_ENDPOINTS: [&str; 3] = ["/healthz", "/readyz", "/ratelimitz"];

/// What the server runs for every request: the gateway's own endpoints go to a small axum
/// router; everything else gets its request id and goes straight into the pipeline
/// ([`handler::handle`]). Straight, because this is every proxied request's path: an axum
/// router with a fallback and a `from_fn` middleware would add path matching and boxed futures
/// to each of them (measured: about 6,000 instructions per request, `docs/performance.md`).
///
/// One clone per client connection ([`Handler::for_connection`]) carries that connection's
/// [`forwarded::Peer`]: whether it is a trusted proxy and its address as the forwarding headers
/// write it, worked out once instead of on every request.
#[derive(Clone)]
pub struct FrontDoor {
    gateway: AppState,
    own_endpoints: Router,
    peer: Arc<forwarded::Peer>,
}

impl FrontDoor {
    /// The front door of `gateway`.
    pub fn new(gateway: AppState) -> FrontDoor {
        let own_endpoints = Router::new()
            .route(OWN_ENDPOINTS[0], get(health::healthz))
            .route(OWN_ENDPOINTS[1], get(health::readyz))
            .route(OWN_ENDPOINTS[2], get(ratelimit::status::status))
            .layer(axum::middleware::from_fn(request_id::layer))
            .with_state(Arc::clone(&gateway));
        FrontDoor {
            gateway,
            own_endpoints,
            peer: Arc::new(forwarded::Peer::unknown()),
        }
    }
}

impl Handler for FrontDoor {
    type Body = Body;

    // The peer travels with the front door (below), not in each request's extensions.
    const CONNECT_INFO: bool = false;

    fn for_connection(&self, peer: SocketAddr) -> FrontDoor {
        FrontDoor {
            peer: Arc::new(forwarded::Peer::new(peer, &self.gateway.trusted_proxies)),
            ..self.clone()
        }
    }

    // The pipeline's future is several kilobytes, and a future is moved (copied) each time it
    // is handed to a wrapper: hyper's dispatcher, the request id's task-local and span. So it
    // is boxed where it is made, and only the pointer travels (measured: unboxed, the copies
    // cost more than the rest of the request; boxed at the outside, ~17k bytes were still
    // copied per request).
    async fn call(self, mut request: http::Request<Incoming>) -> http::Response<Body> {
        if OWN_ENDPOINTS.contains(&request.uri().path()) {
            return Box::pin(self.own_endpoints.call(request)).await;
        }
        // Every response, errors included, carries the request id.
        let id = request_id::assign(&mut request);
        let handling = Box::pin(handler::handle(
            self.gateway,
            self.peer,
            id.clone(),
            request.map(Body::new),
        ));
        id.run(handling).await
    }
}

/// A gateway bound to its listener, ready to run.
pub struct App {
    server: Server<FrontDoor>,
}

/// Validates the configuration, compiles it, and binds the listener (port 0 allowed).
pub async fn build(config: Config) -> anyhow::Result<App> {
    build_with_clock(
        config,
        Arc::new(upstream::breaker::MonotonicClock::default()),
    )
    .await
}

/// [`build`] with the circuit breakers' clock injected (tests move it by hand).
pub async fn build_with_clock(
    config: Config,
    clock: Arc<dyn upstream::breaker::Clock>,
) -> anyhow::Result<App> {
    let gateway = Gateway::with_clock(&config, clock)?;
    App::bind(gateway, config.server.listen, config.server.limits.clone()).await
}

impl App {
    /// Starts the health checks of a compiled gateway and binds its listener (tests use it to
    /// swap a part first, such as the limiter's clock).
    pub async fn bind(
        gateway: Gateway,
        listen: SocketAddr,
        limits: ServerLimits,
    ) -> anyhow::Result<App> {
        let gateway = Arc::new(gateway);
        upstream::health::spawn(&gateway);
        let server = Server::bind_handler(listen, FrontDoor::new(gateway), limits)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {listen} (`server.listen`): {e}"))?;
        Ok(App { server })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Serves until `shutdown` resolves, then drains in-flight requests.
    pub async fn run_until<F: Future<Output = ()> + Send>(
        self,
        shutdown: F,
    ) -> std::io::Result<()> {
        self.server.run_until(shutdown).await
    }
}
