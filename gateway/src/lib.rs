//! # gateway — the single front door
//!
//! Every client request enters the system here (port 8080). The gateway normalises the path,
//! picks a route by longest segment prefix, verifies the bearer token (once, for every service
//! behind it), checks the route's roles, replaces any identity headers the client sent with the
//! verified ones, and streams the request to the upstream service and its response back. Every
//! refusal is problem+json with a stable reason and the request id; every request leaves one
//! access-log line, its metrics and a decision record that explains it, which the admin listener
//! (`127.0.0.1:9080`) serves with `/metrics`, the loaded routes and the upstreams' health. Routes, upstreams and policies are declared in one TOML file
//! (`gateway.toml`), validated at start with messages that name the line and the fix.
//!
//! # Layout
//!
//! The modules form a stack: each uses only modules below it, so the crate reads bottom-up and a
//! new step lands in one place (`scripts/check-module-graph.py` keeps it so in CI).
//!
//! ```text
//! lib (wiring: build, App), explain (`gateway explain-route`), watch (reload triggers)
//!  └─ front_door, own_endpoints      the server's handler; /healthz, /readyz
//!     console                        the JWT console's page and live feed at /console
//!     admin                          the admin listener: /metrics, /routes, /decisions/{id}, …
//!      └─ live                       the gateway in use, swapped by a reload
//!      └─ handler                    the pipeline, in one file
//!          └─ aggregate               several upstream calls, merged
//!              └─ admission, proxy    the checks every request passes; forwarding
//!                  └─ state           the compiled Gateway
//!                      └─ steps: auth, policy, identity, ratelimit, upstream
//!                          └─ error   the one place a failure becomes an answer
//!                              └─ leaves: config, normalize, limits, forwarded, routing, oauth_errors,
//!                                 token_cache, context, access_log, otlp, metrics, decision,
//!                                 security_headers, console::feed, route features:
//!                                 cors, headers_rewrite, split, response_cache,
//!                                 upstream::{failure, breaker, balancer, …},
//!                                 ratelimit::{policy, gcra, headers}
//! ```
//!
//! - [`config`]: the TOML file and `GATEWAY__…` overrides; validation with located messages.
//! - [`normalize`]: the one canonical spelling of a path (pure, heavily tested).
//! - [`routing`]: the compiled route table (segment prefixes, exact routes, methods).
//! - [`limits`]: URI and body limits (the body counted on the stream).
//! - [`forwarded`]: `X-Forwarded-*` / `Forwarded` and trusted proxies.
//! - [`token_cache`]: the claims of recently verified tokens (a signature is checked once).
//! - [`security_headers`]: `nosniff`, `Referrer-Policy` and the routes' `Cache-Control`.
//! - a route's optional features, compiled into its [`routing::Features`]: [`cors`] (browser
//!   origins, preflights answered here), [`headers_rewrite`] (headers added, set, removed),
//!   [`split`] (weighted upstreams: canaries), [`response_cache`] (answers served again).
//! - [`context`]: the [`context::Caller`] (peer and request id) and the gateway's header names.
//! - [`access_log`]: one structured line per request.
//! - [`otlp`]: each request's span, sent to an OpenTelemetry collector when one is configured.
//! - [`metrics`]: the Prometheus metrics (names, bounded labels, the handles the steps bump).
//! - [`decision`]: the explained decision of each request (route, checks, upstream attempts)
//!   and the bounded ring of recent ones.
//! - [`console::feed`]: the console's live feed of finished requests (bounded, closed on
//!   shutdown).
//! - [`error`]: every gateway error with its status, reason and side (downstream/upstream).
//! - [`oauth_errors`]: on the OAuth endpoints, the gateway's errors also in RFC 6749's words.
//! - [`auth`] (who is calling), [`policy`] (may they), [`identity`] (tell the backend),
//!   [`ratelimit`] (how often: GCRA in-process or in Redis, the `RateLimit` headers).
//! - [`upstream`]: targets and how they are reached: `pool` (keep-alive connections per
//!   target), `balancer`, `breaker` (a circuit per target), `probe` (active health checks and
//!   the readiness report), `retry` (policy and budget), `call` (one exchange), `failure`.
//! - [`state`]: [`Gateway`], everything above compiled once, with the one clock.
//! - [`live`]: [`live::Live`], the gateway in use; a reload validates a new configuration and
//!   swaps it in atomically, keeping counters, breakers and pools.
//! - [`admission`]: authenticate → authorize → identity → rate limit, for routes and
//!   aggregates alike.
//! - [`proxy`]: hop-by-hop hygiene, the upstream URI, streaming.
//! - [`aggregate`]: `[[aggregates]]` — several upstream calls run at once, merged into one JSON
//!   answer with a `_meta` report; partial answers for failed optional calls.
//! - [`handler`]: the pipeline, in one place.
//! - [`front_door`]: [`FrontDoor`], what the server runs per request (and what tests drive
//!   without a socket); [`own_endpoints`]: the gateway's own endpoints.
//! - [`console`]: the JWT console (demo mode, or `[console] enabled`): a page embedded in the
//!   binary where a student sees a token, breaks it and watches the gateway decide.
//! - [`admin`]: the admin listener, on its own port.
//! - [`watch`]: what triggers a reload: `SIGHUP`, and a changed file with `[reload] watch`.
//! - [`explain`]: which route a request would take and what applies to it, from the
//!   configuration alone (`gateway explain-route METHOD PATH`).
//!
//! A request's path, step by step with the file of each step, is drawn once in
//! `docs/architecture.md`; [`handler`] runs it in that order.

pub mod access_log;
pub mod admin;
pub mod admission;
pub mod aggregate;
pub mod auth;
pub mod config;
pub mod console;
pub mod context;
pub mod cors;
pub mod decision;
pub mod error;
pub mod explain;
pub mod forwarded;
pub mod front_door;
pub mod handler;
pub mod headers_rewrite;
pub mod identity;
pub mod limits;
pub mod live;
pub mod metrics;
pub mod normalize;
pub mod oauth_errors;
pub mod otlp;
pub mod own_endpoints;
pub mod policy;
pub mod proxy;
pub mod ratelimit;
pub mod response_cache;
pub mod routing;
pub mod security_headers;
pub mod split;
pub mod state;
pub mod token_cache;
pub mod upstream;
pub mod watch;

pub use admin::Admin;
pub use config::Config;
pub use front_door::FrontDoor;
pub use state::Gateway;

use live::{Live, Reloaded};
use shared::{
    clock::{SharedClock, SystemClock},
    server::{Server, ServerLimits},
};
use std::{net::SocketAddr, sync::Arc};

/// A gateway bound to its listeners (public and admin), ready to run.
pub struct App {
    server: Server<FrontDoor>,
    front_door: FrontDoor,
    admin: Admin,
    admin_router: axum::Router,
}

/// Validates the configuration, compiles it, and binds the listener (port 0 allowed).
pub async fn build(config: Config) -> anyhow::Result<App> {
    build_with_clock(config, SystemClock::shared()).await
}

/// [`build`] on `clock`: the one clock the breakers, the rate limiter and the token cache read
/// (tests pass a [`shared::clock::ManualClock`] and move it by hand).
pub async fn build_with_clock(config: Config, clock: SharedClock) -> anyhow::Result<App> {
    let gateway = Gateway::with_clock(&config, clock)?;
    App::bind(gateway, &config).await
}

/// [`build`] on a public listener the caller already bound (`server.listen` is not used): the
/// demo launcher binds the gateway's port first, since the public URL every service is
/// configured with is the gateway's real address.
pub async fn build_on(config: Config, listener: tokio::net::TcpListener) -> anyhow::Result<App> {
    let gateway = Gateway::new(&config)?;
    App::bind_with(gateway, &config, Some(listener)).await
}

impl App {
    /// Starts the health checks and the metrics upkeep of a compiled gateway and binds its
    /// listeners: `server.listen` and `admin.listen`.
    pub async fn bind(gateway: Gateway, config: &Config) -> anyhow::Result<App> {
        Self::bind_with(gateway, config, None).await
    }

    /// [`App::bind`], serving the public port on `listener` when one is given.
    async fn bind_with(
        gateway: Gateway,
        config: &Config,
        listener: Option<tokio::net::TcpListener>,
    ) -> anyhow::Result<App> {
        let live = Live::new(Arc::new(gateway));
        admin::spawn_upkeep(&live);
        let front_door = FrontDoor::on(Arc::clone(&live));
        let limits: ServerLimits = config.server.limits.clone();
        let server = match listener {
            Some(listener) => Server::from_listener(listener, front_door.clone(), limits),
            None => {
                let listen = config.server.listen;
                Server::bind_handler(listen, front_door.clone(), limits)
                    .await
                    .map_err(|e| {
                        anyhow::anyhow!("cannot listen on {listen} (`server.listen`): {e}")
                    })?
            }
        };
        // TLS termination: the certificate was checked by validation; loaded here for use, and
        // watched for a replacement from now on.
        let server = match &config.server.tls {
            Some(tls) => {
                let certificates = shared::tls::Certificates::new(tls.clone())
                    .map_err(|e| anyhow::anyhow!("`server.tls`: {e}"))?;
                certificates.watch();
                server.with_tls(certificates.server_config())
            }
            None => server,
        };
        let admin_router = admin::router(Arc::clone(&live), config);
        let admin = Admin::bind(live, config).await?;
        Ok(App {
            server,
            front_door,
            admin,
            admin_router,
        })
    }

    /// The admin router, for requests sent in-process (tests), with the same token check.
    pub fn admin(&self) -> axum::Router {
        self.admin_router.clone()
    }

    /// The address the admin listener actually bound.
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin.local_addr()
    }

    /// The front door the server runs: the same gateway, for requests sent in-process (tests
    /// drive the pipeline with `tower::ServiceExt::oneshot`, no socket).
    pub fn front_door(&self) -> FrontDoor {
        self.front_door.clone()
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// The gateway in use, which [`Live::reload`] replaces (what `SIGHUP` triggers).
    pub fn live(&self) -> Arc<Live> {
        Arc::clone(self.front_door.live())
    }

    /// Validates `config` and puts it in use without dropping a request ([`Live::reload`]).
    pub fn reload(&self, config: Config) -> anyhow::Result<Reloaded> {
        self.front_door.live().reload(config)
    }

    /// Serves both listeners until `shutdown` resolves, then drains in-flight requests.
    pub async fn run_until<F: Future<Output = ()> + Send>(
        self,
        shutdown: F,
    ) -> std::io::Result<()> {
        // The console's live feeds never end by themselves: they are closed the moment the
        // signal arrives, so the drain waits for real requests only. The feed outlives reloads.
        let feed = Arc::clone(&self.front_door.live().current().feed);
        let shutdown = async move {
            shutdown.await;
            feed.close();
        };
        let shutdown = futures::FutureExt::shared(Box::pin(shutdown));
        let (public, admin) = tokio::join!(
            self.server.run_until(shutdown.clone()),
            self.admin.run_until(shutdown)
        );
        public.and(admin)
    }
}
