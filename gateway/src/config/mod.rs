//! The gateway's declarative configuration: one TOML file, plus `GATEWAY__…` environment overrides.
//!
//! Everything the gateway does is described here — where it listens, which tokens it trusts,
//! which upstreams exist and which route sends which path to which upstream under which policy.
//! Nothing about routing is in code, so a student can read one file and know the front door.
//!
//! ```toml
//! [server]
//! listen = "127.0.0.1:8080"
//!
//! [auth]                       # shared::VerifierConfig, the same section every service has
//! issuer = "http://localhost:8080"
//! audience = "ecommerce-api"
//! hs256_secret = "…"
//!
//! [[upstreams]]
//! name = "users"
//! targets = ["http://127.0.0.1:8082"]
//!
//! [[routes]]
//! name = "users"
//! prefix = "/api/users"
//! rewrite_prefix = "/users"
//! upstream = "users"
//! auth = "required"
//!
//! [[aggregates]]               # several calls at once, one JSON answer (docs/aggregation.md)
//! name = "dashboard"
//! path = "/api/dashboard"
//!
//! [[aggregates.calls]]
//! key = "profile"
//! upstream = "users"
//! path = "/users/{sub}"
//! required = true
//! ```
//!
//! # Layout
//!
//! The modules form a stack, each using only those below it:
//!
//! - leaves: this file (the types and their safe defaults), [`rate_limits`] (the types of the
//!   rate-limiting sections), [`route_features`] (a route's optional CORS, header rewrites,
//!   traffic split and response cache), [`diagnostic`] (the error type every message lives in) and
//!   [`location`] (a key's path, `routes[3].upstream`, and its line in the file);
//! - [`validate`]: every semantic check (unknown upstream, shadowed route, key/algorithm mismatch,
//!   bad URL, duplicate name, aggregate call keys and timeouts, …), one file per section, each
//!   message naming the line, the key and the fix;
//! - [`load`]: reading the file and the `GATEWAY__…` environment (the overrides follow the rule
//!   every service shares, in [`shared::config`]), then validating;
//! - [`demo`]: [`Config::demo`], the demo's configuration built in code.

pub mod demo;
pub mod diagnostic;
pub mod load;
pub mod location;
pub mod rate_limits;
pub mod route_features;
pub mod validate;

pub use diagnostic::{ConfigErrors, Diagnostic};
pub use rate_limits::{
    Backend, KeyPart, OnRedisError, Per, QuotaConfig, QuotaPer, RateLimitConfig, RedisConfig,
};
pub use route_features::{
    CorsConfig, HeaderRewrites, HeadersConfig, ResponseCacheConfig, SplitConfig, WeightConfig,
};

use secrecy::SecretString;
use serde::Deserialize;
use shared::{VerifierConfig, server::ServerLimits};
use std::net::SocketAddr;

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Demo mode: allows the public demo HS256 secret. Off unless asked for.
    #[serde(default)]
    pub demo: bool,
    /// Where to listen and how much a client may send.
    #[serde(default)]
    pub server: ServerConfig,
    /// Which tokens are accepted: the `[auth]` section every service shares.
    pub auth: VerifierConfig,
    /// Peers (CIDRs) whose `X-Forwarded-For` / `Forwarded` headers are believed and extended.
    /// Anyone else's are replaced: a client cannot choose the IP address the backends see.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// The services requests are forwarded to.
    #[serde(default)]
    pub upstreams: Vec<UpstreamConfig>,
    /// Which path goes where, under which policy. The longest matching prefix wins.
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
    /// Paths answered by calling several upstreams at once and merging their JSON
    /// (`/api/dashboard`). See [`AggregateConfig`] and `docs/aggregation.md`.
    #[serde(default)]
    pub aggregates: Vec<AggregateConfig>,
    /// Named rate-limit policies routes refer to ([`rate_limits`]).
    #[serde(default)]
    pub rate_limits: Vec<RateLimitConfig>,
    /// Named long-period allowances per user ([`rate_limits`]).
    #[serde(default)]
    pub quotas: Vec<QuotaConfig>,
    /// The Redis server that `backend = "redis"` policies share.
    #[serde(default)]
    pub redis: Option<RedisConfig>,
    /// The admin listener: metrics, the loaded configuration, decisions (`[admin]`).
    #[serde(default)]
    pub admin: AdminConfig,
    /// When the configuration is read again while running (`[reload]`).
    #[serde(default)]
    pub reload: ReloadConfig,
    /// W3C trace context: whether a client's `traceparent` is continued (`[tracing]`).
    #[serde(default)]
    pub tracing: TracingConfig,
    /// The JWT console at `/console` (`[console]`): on in demo mode unless switched off.
    #[serde(default)]
    pub console: ConsoleConfig,
}

impl Config {
    /// Whether the gateway serves the console: `[console] enabled`, or demo mode when unset.
    pub fn console_enabled(&self) -> bool {
        self.console.enabled.unwrap_or(self.demo)
    }
}

/// `[reload]`: the gateway reads its file again on `SIGHUP` always, and also when the file
/// changes if `watch` is on. An invalid file is refused and the configuration in use stays.
///
/// ```toml
/// [reload]
/// watch = true          # also reload when the file's contents change
/// poll_interval_ms = 2000
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReloadConfig {
    /// Reload when the file changes (checked every `poll_interval_ms`). Off by default: an
    /// operator who edits a file by hand may save it half-done; `SIGHUP` says "now".
    pub watch: bool,
    /// How often the file is checked when `watch` is on, in milliseconds.
    pub poll_interval_ms: u64,
}

impl Default for ReloadConfig {
    fn default() -> Self {
        ReloadConfig {
            watch: false,
            poll_interval_ms: 2000,
        }
    }
}

/// `[tracing]`: how the gateway takes part in a W3C trace (docs/observability.md).
///
/// ```toml
/// [tracing]
/// accept_incoming = true   # continue a client's well-formed `traceparent` (W3C's advice)
/// # otlp_endpoint = "http://localhost:4318"   # send spans to an OpenTelemetry collector
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TracingConfig {
    /// Continue the trace a client's `traceparent` names (true, the default, as W3C advises), or
    /// start a new trace for every request (false: a gateway facing untrusted clients that does
    /// not want them to choose trace ids in its logs, or to join their traces to its own). A
    /// malformed `traceparent` is ignored either way.
    pub accept_incoming: bool,
    /// An OpenTelemetry collector's OTLP/HTTP base URL (`http://host:4318`): each request's
    /// span is sent to `<url>/v1/traces`. None (the default) sends nothing, unless the standard
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` variable names one.
    pub otlp_endpoint: Option<String>,
}

impl Default for TracingConfig {
    fn default() -> Self {
        TracingConfig {
            accept_incoming: true,
            otlp_endpoint: None,
        }
    }
}

/// `[console]`: the JWT console, a teaching page the gateway serves itself at `/console`
/// (`docs/console.md`).
///
/// ```toml
/// [console]
/// enabled = true   # default: on in demo mode, off otherwise
/// ```
///
/// With it on, the public port also serves each caller their own decision records
/// (`/gateway/decisions/{id}`, read with the same `Authorization` header) and a live feed of
/// recent requests (`/console/events`: method, path, route, status, reason, latency — never a
/// token or a query). That is what a classroom wants to see and what a production gateway's
/// clients have no need for, hence off outside demo mode unless asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleConfig {
    /// `true` or `false`; unset follows `demo`.
    pub enabled: Option<bool>,
}

/// `[admin]`: the operators' listener (`/metrics`, `/routes`, `/upstreams`, `/decisions/{id}`,
/// detailed `/readyz`, `/ratelimitz`), apart from the public port so that a firewall, not a
/// route, keeps clients away from it.
///
/// ```toml
/// [admin]
/// listen = "127.0.0.1:9080"    # loopback: only this host can ask
/// token = "…"                  # required when `listen` is not a loopback address
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    /// Where the admin listener binds. Loopback by default; port 0 lets the OS choose.
    pub listen: SocketAddr,
    /// A bearer token every admin request must carry (`Authorization: Bearer …`). Optional on
    /// loopback; a non-loopback `listen` without it is refused at start.
    pub token: Option<SecretString>,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 9080)),
            token: None,
        }
    }
}

/// `[server]`: the listener and the limits on what one client may send.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Listen address. Port 0 lets the OS choose (tests).
    pub listen: SocketAddr,
    /// Longest request target (path + query) in bytes; longer gets 414 before anything else runs.
    pub max_uri_bytes: usize,
    /// Largest request body in bytes; checked on `Content-Length` and counted on the stream.
    pub max_body_bytes: u64,
    /// Connection-level limits: header-read timeout, header size, connection cap, drain time.
    pub limits: ServerLimits,
    /// `[server.tls]`: terminate TLS with this certificate and key (PEM files), reloaded when
    /// they change ([`shared::tls`]). None: plain HTTP, as in the demo.
    pub tls: Option<shared::tls::TlsConfig>,
    /// This replica's name, sent on every answer as `X-Served-By` so a client behind a load
    /// balancer can see which replica answered (the `scale` profile, a Kubernetes pod's name).
    /// Unset (the default) sends nothing: a single gateway has no reason to name itself.
    pub served_by: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_uri_bytes: 8 * 1024,
            max_body_bytes: 1024 * 1024,
            limits: ServerLimits::default(),
            tls: None,
            served_by: None,
        }
    }
}

/// `[[upstreams]]`: one backend service and the addresses it answers on.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// Name routes refer to.
    pub name: String,
    /// One or more `http://host:port` or `https://host:port` base URLs; requests are spread
    /// round-robin.
    pub targets: Vec<String>,
    /// Time allowed to open a TCP connection (milliseconds); past it → 502 `upstream_unavailable`.
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// Time allowed from sending the request to the response head (milliseconds); past it →
    /// 504 `upstream_timeout`. This is the per-request timeout.
    #[serde(default = "default_request_timeout_ms")]
    pub request_timeout_ms: u64,
    /// How a target is chosen: `round_robin` (default) or `least_outstanding`.
    #[serde(default)]
    pub balance: Balance,
    /// Active health checks (`[upstreams.health_check]`); none unless configured.
    #[serde(default)]
    pub health_check: Option<HealthCheckConfig>,
    /// Passive outlier detection: one circuit breaker per target (`[upstreams.breaker]`).
    #[serde(default)]
    pub breaker: BreakerConfig,
    /// Retries of idempotent, bodiless requests (`[upstreams.retry]`).
    #[serde(default)]
    pub retry: RetryConfig,
    /// How `https://` targets are reached (`[upstreams.tls]`): which CAs to trust (the
    /// system's unless `ca_file`), and a client certificate for mutual TLS.
    #[serde(default)]
    pub tls: Option<UpstreamTlsConfig>,
}

/// `[upstreams.tls]`: TLS to an upstream's `https://` targets ([`crate::upstream::tls`]).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamTlsConfig {
    /// PEM certificates of the CAs that may sign the targets' certificates; without it, the
    /// system's trusted CAs.
    #[serde(default)]
    pub ca_file: Option<std::path::PathBuf>,
    /// PEM certificate chain the gateway presents to the targets (mutual TLS), with
    /// `client_key_file`.
    #[serde(default)]
    pub client_cert_file: Option<std::path::PathBuf>,
    /// The private key of `client_cert_file`.
    #[serde(default)]
    pub client_key_file: Option<std::path::PathBuf>,
}

impl UpstreamConfig {
    /// An upstream with these targets and every other setting at its default.
    pub fn new(name: &str, targets: Vec<String>) -> UpstreamConfig {
        UpstreamConfig {
            name: name.to_owned(),
            targets,
            connect_timeout_ms: default_connect_timeout_ms(),
            request_timeout_ms: default_request_timeout_ms(),
            balance: Balance::default(),
            health_check: None,
            breaker: BreakerConfig::default(),
            retry: RetryConfig::default(),
            tls: None,
        }
    }
}

/// How an upstream spreads requests over its targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Balance {
    /// Each target in turn.
    #[default]
    RoundRobin,
    /// The target with the fewest requests in flight (ties go round-robin): a slow target
    /// automatically gets less traffic.
    LeastOutstanding,
}

/// `[upstreams.health_check]`: the gateway asks every target `GET path` every `interval_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthCheckConfig {
    /// The path asked, e.g. `/healthz`; a 2xx answer is healthy.
    pub path: String,
    /// Time between two checks of one target (milliseconds).
    #[serde(default = "default_health_interval_ms")]
    pub interval_ms: u64,
    /// Time one check may take (milliseconds); longer counts as unhealthy.
    #[serde(default = "default_health_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_health_interval_ms() -> u64 {
    2_000
}

fn default_health_timeout_ms() -> u64 {
    500
}

/// `[upstreams.breaker]`: a circuit breaker per target. It opens after `consecutive_failures`
/// failures in a row (connection failure, timeout, 502/503/504), answers 503 `circuit_open`
/// without calling the target for `open_ms`, then lets one probe request through (half-open):
/// success closes it, failure opens it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BreakerConfig {
    /// Failures in a row that open the circuit; 0 turns the breaker off.
    pub consecutive_failures: u32,
    /// How long the circuit stays open before a probe (milliseconds).
    pub open_ms: u64,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            consecutive_failures: 5,
            open_ms: 10_000,
        }
    }
}

/// `[upstreams.retry]`: which failed requests are tried again on another target.
///
/// Only requests with an idempotent method (`GET`, `HEAD`, `OPTIONS`, `PUT`, `DELETE`) and no
/// body are retried — a streamed body cannot be sent twice — and only when the connection
/// failed (the request never reached the target) or the answer's status is in `statuses`.
/// A budget keeps retries from multiplying load when an upstream is down: each request earns
/// `budget_percent`/100 of a retry, each retry spends one, and at most `min_retries` are
/// banked in advance.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryConfig {
    /// Extra attempts after the first (0 = never retry).
    pub attempts: u32,
    /// Response statuses that are retried (besides connection failures), e.g. `[503]`.
    pub statuses: Vec<u16>,
    /// Retries allowed per 100 requests, over time.
    pub budget_percent: u32,
    /// Retries available before any request has earned one (and the most that can be banked).
    pub min_retries: u32,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            attempts: 1,
            statuses: Vec::new(),
            budget_percent: 20,
            min_retries: 10,
        }
    }
}

/// `[[aggregates]]`: one path answered by several upstream calls run at once, merged into one
/// JSON object with a section per call and a `_meta` block (see `docs/aggregation.md`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AggregateConfig {
    /// Name shown in the access log and in messages.
    pub name: String,
    /// The exact path it answers (`GET` and `HEAD` only).
    pub path: String,
    /// Token policy, as for a route.
    #[serde(default)]
    pub auth: AuthMode,
    /// Roles accepted, as for a route.
    #[serde(default)]
    pub roles: Vec<String>,
    /// OAuth scopes accepted, as for a route.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The whole aggregate's budget (milliseconds): no call runs longer than this.
    #[serde(default = "default_aggregate_timeout_ms")]
    pub timeout_ms: u64,
    /// Largest response body read from one call (bytes); a larger one fails that call.
    #[serde(default = "default_aggregate_max_call_bytes")]
    pub max_call_bytes: usize,
    /// The calls, run concurrently.
    pub calls: Vec<CallConfig>,
    /// Names of `[[rate_limits]]` and `[[quotas]]` that apply to this aggregate, as for a route.
    #[serde(default)]
    pub rate_limits: Vec<String>,
    /// `Cache-Control` on its answer, as for a route (default: from `auth`).
    #[serde(default)]
    pub cache: Option<CacheMode>,
}

impl AggregateConfig {
    /// The aggregate's cache mode: the configured one, or the default for its `auth`.
    pub fn cache_mode(&self) -> CacheMode {
        self.cache.unwrap_or(CacheMode::default_for(self.auth))
    }
}

fn default_aggregate_timeout_ms() -> u64 {
    3_000
}

fn default_aggregate_max_call_bytes() -> usize {
    256 * 1024
}

/// `[[aggregates.calls]]`: one upstream call of an aggregate.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallConfig {
    /// The section of the response this call fills (`profile`); `_meta` is reserved.
    pub key: String,
    /// Name of the `[[upstreams]]` entry to call.
    pub upstream: String,
    /// The upstream path, e.g. `/users/{sub}`; `{sub}` is the caller's id (needs a token).
    pub path: String,
    /// A required call that fails fails the whole aggregate; an optional one leaves its
    /// section `null` and marks the response partial.
    #[serde(default)]
    pub required: bool,
    /// This call's timeout (milliseconds), within the aggregate's budget; defaults to it.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

fn default_connect_timeout_ms() -> u64 {
    1_000
}

fn default_request_timeout_ms() -> u64 {
    15_000
}

/// How a route treats the bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// No token is looked at (login, discovery documents).
    Public,
    /// A valid token is needed; otherwise 401. The default, so forgetting `auth` fails closed.
    #[default]
    Required,
    /// A valid token sets the identity headers; no token passes anonymously; a bad token is 401.
    Optional,
}

/// `[[routes]]`: a path prefix, where it goes and who may use it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Name shown in the access log and in validation messages.
    pub name: String,
    /// Path prefix, matched on whole segments: `/api/users` matches `/api/users` and
    /// `/api/users/7`, never `/api/users-admin`.
    pub prefix: String,
    /// Match the prefix only as the whole path (`GET /api/users`, not `/api/users/me`).
    #[serde(default)]
    pub exact: bool,
    /// Methods this route answers (`GET` also covers `HEAD`); empty means all.
    #[serde(default)]
    pub methods: Vec<String>,
    /// Remove the prefix before forwarding (`/api/users/7` → `/7`).
    #[serde(default)]
    pub strip_prefix: bool,
    /// Replace the prefix before forwarding (`/api/users/7` → `/users/7` with `"/users"`).
    #[serde(default)]
    pub rewrite_prefix: Option<String>,
    /// Name of the `[[upstreams]]` entry to forward to.
    pub upstream: String,
    /// Token policy: `public`, `required` (default) or `optional`.
    #[serde(default)]
    pub auth: AuthMode,
    /// The caller needs one of these roles (`STUDENT`, `ADMIN`, `SERVICE`); empty means any.
    #[serde(default)]
    pub roles: Vec<String>,
    /// The token's `scope` claim must hold one of these OAuth scopes (RFC 6749 §3.3), e.g.
    /// `["billing:read"]`; empty means no scope check. A user token that carries no `scope`
    /// claim (a password login) is not narrowed, and its role decides; see `crate::policy`.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Errors the gateway itself makes on this route (429, 413, 502, …) also carry RFC 6749's
    /// `error` and `error_description` members, so an OAuth client library reads them as the
    /// errors they are. Set on the `/api/oauth/*` routes.
    #[serde(default)]
    pub oauth_errors: bool,
    /// Names of `[[rate_limits]]` and `[[quotas]]` that apply to this route (all of them).
    #[serde(default)]
    pub rate_limits: Vec<String>,
    /// `Cache-Control` on its answers: `"no-store"` or `"backend"`; unset, it follows `auth`
    /// ([`CacheMode::default_for`]). See [`RouteConfig::cache_mode`].
    #[serde(default)]
    pub cache: Option<CacheMode>,
    /// `[routes.cors]`: the browser origins that may call the route ([`CorsConfig`]).
    #[serde(default)]
    pub cors: Option<CorsConfig>,
    /// `[routes.headers]`: headers added, set or removed on the way ([`HeadersConfig`]).
    #[serde(default)]
    pub headers: Option<HeadersConfig>,
    /// `[routes.split]`: the traffic spread over several upstreams by weight ([`SplitConfig`]).
    #[serde(default)]
    pub split: Option<SplitConfig>,
    /// `[routes.response_cache]`: answers kept and served again ([`ResponseCacheConfig`]).
    #[serde(default)]
    pub response_cache: Option<ResponseCacheConfig>,
}

impl RouteConfig {
    /// The route's cache mode: the configured one, or the default for its `auth`.
    pub fn cache_mode(&self) -> CacheMode {
        self.cache.unwrap_or(CacheMode::default_for(self.auth))
    }
}

/// `cache = …` on a route or an aggregate: what the gateway does with `Cache-Control`.
///
/// An answer meant for one caller (a profile, invoices) must not be kept by a browser's disk
/// cache or a shared proxy, where the next user of the machine or of the proxy could be served
/// it. So routes that look at a token default to `no-store`, whatever the backend forgot to
/// say; public routes default to `backend`, where the backend knows best (discovery documents,
/// the JWKS may be cached).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CacheMode {
    /// `Cache-Control: no-store` on every answer, replacing whatever the backend sent.
    NoStore,
    /// The backend's `Cache-Control` passes untouched, and the gateway adds none (for an
    /// aggregate, whose answer the gateway builds, its own: `private, no-cache`, or `no-store`
    /// for a partial answer).
    Backend,
}

impl CacheMode {
    /// `no-store` for `required` and `optional` (the answer may depend on who asks),
    /// `backend` for `public`.
    pub fn default_for(auth: AuthMode) -> CacheMode {
        match auth {
            AuthMode::Public => CacheMode::Backend,
            AuthMode::Required | AuthMode::Optional => CacheMode::NoStore,
        }
    }

    /// The configuration's spelling (`gateway explain-route`, the admin listener).
    pub fn as_str(self) -> &'static str {
        match self {
            CacheMode::NoStore => "no-store",
            CacheMode::Backend => "backend",
        }
    }
}

impl Config {
    /// Reads the file given with `--config FILE` (if any) and the `GATEWAY__…` environment, and
    /// validates the result. Every problem found is reported at once, each with its line.
    pub fn load() -> Result<Self, shared::config::ConfigError> {
        load::load(
            shared::config::path_from_args().as_deref(),
            load::ENV_PREFIX,
        )
        .map_err(|errors| shared::config::ConfigError::new(errors.to_string()))
    }

    /// Parses and validates TOML text; `source` names it in messages (usually the file name).
    pub fn from_toml(text: &str, source: &str) -> Result<Self, ConfigErrors> {
        load::from_toml(text, source)
    }

    /// Runs the semantic checks on a configuration built in code (no line numbers then).
    pub fn validate(&self) -> Result<(), ConfigErrors> {
        let diagnostics = validate::validate(self, &location::Locator::none());
        ConfigErrors::result("configuration", diagnostics)
    }
}

#[cfg(test)]
mod tests;
