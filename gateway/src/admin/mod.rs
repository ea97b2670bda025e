//! The admin listener: what operators (and students) may ask the gateway about itself, on a
//! port of its own — `127.0.0.1:9080` unless `[admin] listen` says otherwise.
//!
//! | path | what |
//! |---|---|
//! | `GET /metrics` | Prometheus text format ([`crate::metrics`]) |
//! | `GET /config` | the configuration's version, when it was loaded, and what a restart would still apply ([`crate::live`]) |
//! | `GET /routes` | the loaded routes, aggregates and rate-limit policies; the `[auth]` section with its secret redacted |
//! | `GET /upstreams` | every target's address, health, circuit state and requests in flight |
//! | `GET /readyz` | readiness, naming every target (the public `/readyz` says only ready or not) |
//! | `GET /ratelimitz` | the rate limiter's counters |
//! | `GET /decisions` | the most recent decision records, newest first (id, route, status, reason) |
//! | `GET /decisions/{id}` | one decision record: route, checks in order, upstream attempts ([`crate::decision`]) |
//! | `PUT /routes/{name}/split` | replace a route's traffic split (JSON: `{"sticky", "weights"}`), applied as a reload ([`crate::split`]) |
//!
//! Why a separate listener: these answers name internal addresses and show what other callers
//! did, so they must not be reachable where clients are. A port of its own lets a firewall (or
//! loopback) keep it private, and no route of the public configuration can expose it by
//! mistake. On loopback no token is needed; anywhere else `[admin] token` is required (the
//! configuration is refused without it) and every request must carry
//! `Authorization: Bearer <token>`, else 401.
//!
//! # Layout
//!
//! - this file: [`router`] (the paths above and the token check) and [`Admin`] (the listener);
//! - [`report`]: the JSON views of the configuration and the metrics refreshed at a scrape.

pub mod report;

use crate::{
    config::{Config, SplitConfig},
    decision::DecisionId,
    live::Live,
    ratelimit, upstream,
};
use axum::{
    Json, Router,
    extract::{Path, Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::{get, put},
};
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use secrecy::SecretString;
use serde_json::{Value, json};
use shared::{
    Problem,
    server::{Server, ServerLimits},
};
use std::{
    net::SocketAddr,
    sync::{Arc, Weak},
    time::Duration,
};

/// What the admin handlers share: the gateway in use, read at each request (a reload shows
/// at once).
#[derive(Clone)]
struct AdminState {
    live: Arc<Live>,
}

/// The admin router for the gateway `live` holds, with `[admin]` from `config`: every path,
/// behind the token check when `[admin] token` is set.
pub fn router(live: Arc<Live>, config: &Config) -> Router {
    let state = AdminState { live };
    let token = config.admin.token.clone().map(Arc::new);
    Router::new()
        .route("/metrics", get(metrics))
        .route("/config", get(loaded_config))
        .route("/routes", get(routes))
        .route("/upstreams", get(upstreams))
        .route("/readyz", get(readyz))
        .route("/ratelimitz", get(ratelimitz))
        .route("/decisions", get(recent_decisions))
        .route("/decisions/{id}", get(decision))
        .route("/routes/{name}/split", put(set_split))
        .layer(axum::middleware::from_fn(move |request, next| {
            require_token(token.clone(), request, next)
        }))
        .with_state(state)
}

/// 401 unless the request carries the admin token (when one is configured). The comparison
/// takes the same time wherever the first difference is, so the token cannot be guessed byte by
/// byte from response times.
async fn require_token(token: Option<Arc<SecretString>>, request: Request, next: Next) -> Response {
    if let Some(token) = token {
        let matches = shared::bearer::carries_token(request.headers(), &token);
        if !matches {
            return Problem::new(
                StatusCode::UNAUTHORIZED,
                "admin_token_required",
                "the admin listener needs `Authorization: Bearer <admin token>` ([admin] token)",
            )
            .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))
            .into_response();
        }
    }
    next.run(request).await
}

/// `PUT /routes/{name}/split`: the route's `[routes.split]` replaced by the JSON body
/// (`{"sticky": true, "weights": [{"upstream": "billing", "weight": 90}, …]}`) and applied as a
/// reload ([`Live::reload`]): the same validation — a refused split changes nothing and the
/// answer is 400 with the located messages — and the same state carried over (pools, breakers,
/// rate-limit counts). How a canary is rolled out without editing a file; a later reload from
/// the file replaces it.
async fn set_split(
    State(admin): State<AdminState>,
    Path(name): Path<String>,
    headers: http::HeaderMap,
    body: Bytes,
) -> Response {
    let tokenless = admin.live.current().config.admin.token.is_none();
    if tokenless && !loopback_host(&headers) {
        // Without a token the listener trusts its loopback address; a page whose host name
        // resolves to 127.0.0.1 (DNS rebinding) must not be able to move traffic through it.
        return Problem::new(
            StatusCode::FORBIDDEN,
            "admin_host_refused",
            "without [admin] token, changes are taken only from `Host: localhost` or a loopback address",
        )
        .into_response();
    }
    let split: SplitConfig = match serde_json::from_slice(&body) {
        Ok(split) => split,
        Err(e) => {
            return Problem::bad_request(
                "bad_split",
                format!(
                    "the body is not a split ({e}); send {{\"sticky\": true, \"weights\": [{{\"upstream\": \"…\", \"weight\": 90}}, …]}}"
                ),
            )
            .into_response();
        }
    };
    let mut config = (*admin.live.current().config).clone();
    let Some(route) = config.routes.iter_mut().find(|r| r.name == name) else {
        return Problem::new(
            StatusCode::NOT_FOUND,
            "no_such_route",
            format!("no route is named `{name}`"),
        )
        .into_response();
    };
    let weights: Vec<Value> = split
        .weights
        .iter()
        .map(|w| json!({"upstream": w.upstream, "weight": w.weight}))
        .collect();
    let sticky = split.sticky;
    route.split = Some(split);
    match admin.live.reload(config) {
        Ok(reloaded) => Json(json!({
            "route": name,
            "version": reloaded.version,
            "split": {"sticky": sticky, "weights": weights},
        }))
        .into_response(),
        Err(error) => Problem::bad_request("split_refused", format!("{error:#}")).into_response(),
    }
}

/// True when `Host` names this machine: `localhost`, `127.0.0.1` or `[::1]`, with any port.
fn loopback_host(headers: &http::HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let name = match host.rsplit_once(':') {
        Some((name, port)) if !name.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Prometheus's text format (version 0.0.4), with the health and circuit gauges read now.
async fn metrics(State(admin): State<AdminState>) -> Response {
    let gateway = admin.live.current();
    report::refresh_gauges(&gateway).await;
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        gateway.metrics.render(),
    )
        .into_response()
}

/// `{"version", "loaded_at", "needs_restart"}`: which configuration is in use.
async fn loaded_config(State(admin): State<AdminState>) -> Json<Value> {
    let generation = admin.live.current().generation;
    Json(json!({
        "version": generation.version,
        "loaded_at": generation.loaded_at,
        "needs_restart": admin.live.pending_restart(),
    }))
}

async fn routes(State(admin): State<AdminState>) -> Json<Value> {
    Json(report::loaded(&admin.live.current().config))
}

async fn upstreams(State(admin): State<AdminState>) -> Json<Value> {
    let (_, upstreams) = upstream::probe::report(&admin.live.current().upstreams).await;
    Json(upstreams)
}

/// 200 or 503, with every target's address and state.
async fn readyz(State(admin): State<AdminState>) -> Response {
    let (ready, upstreams) = upstream::probe::report(&admin.live.current().upstreams).await;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let word = if ready { "ready" } else { "not_ready" };
    (
        status,
        Json(json!({"status": word, "upstreams": upstreams})),
    )
        .into_response()
}

async fn ratelimitz(State(admin): State<AdminState>) -> Json<Value> {
    Json(ratelimit::status::report(&admin.live.current().limiter))
}

async fn recent_decisions(State(admin): State<AdminState>) -> Json<Value> {
    Json(json!({"decisions": admin.live.current().decisions.recent(100)}))
}

async fn decision(State(admin): State<AdminState>, Path(id): Path<String>) -> Response {
    let gateway = admin.live.current();
    match DecisionId::parse(&id).and_then(|id| gateway.decisions.get(id, None)) {
        Some(record) => pretty(&record),
        None => not_kept(),
    }
}

/// A decision record as indented JSON: one fact per line, for a person reading `curl`'s output.
pub fn pretty(record: &Value) -> Response {
    let text = serde_json::to_string_pretty(record).unwrap_or_default();
    let json = HeaderValue::from_static("application/json");
    ([(header::CONTENT_TYPE, json)], text + "\n").into_response()
}

/// 404 for a decision id that is not (or no longer) in the ring.
pub fn not_kept() -> Response {
    Problem::new(
        StatusCode::NOT_FOUND,
        "decision_not_found",
        "no decision record with this id: it is not one, or it has been pushed out by newer ones",
    )
    .into_response()
}

/// The admin listener, bound.
pub struct Admin {
    server: Server<Router>,
}

impl Admin {
    /// Binds `[admin] listen` to serve [`router`].
    pub async fn bind(live: Arc<Live>, config: &Config) -> anyhow::Result<Admin> {
        let listen = config.admin.listen;
        let server = Server::bind(listen, router(live, config), ServerLimits::default())
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {listen} (`admin.listen`): {e}"))?;
        Ok(Admin { server })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Serves until `shutdown` resolves.
    pub async fn run_until<F: Future<Output = ()> + Send>(
        self,
        shutdown: F,
    ) -> std::io::Result<()> {
        self.server.run_until(shutdown).await
    }
}

/// Folds histogram samples into their buckets every few seconds, so that they do not pile up
/// between two scrapes (or forever, when nobody scrapes). Stops with the gateway.
pub fn spawn_upkeep(live: &Arc<Live>) {
    let live: Weak<Live> = Arc::downgrade(live);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            let Some(live) = live.upgrade() else {
                return;
            };
            live.current().metrics.run_upkeep();
        }
    });
}
