//! The optional sections of a route: `[routes.cors]`, `[routes.headers]`, `[routes.split]` and
//! `[routes.response_cache]`.
//!
//! Each is absent unless configured, and a route without it pays nothing for it: the compiled
//! route holds an `Option` the pipeline checks once ([`crate::routing::Route`]).
//!
//! ```toml
//! [[routes]]
//! name = "billing"
//! prefix = "/api/billing"
//! upstream = "billing"
//!
//! [routes.cors]                 # browsers on these origins may call the route
//! allow_origins = ["https://shop.example.edu"]
//! allow_methods = ["GET"]
//! allow_headers = ["Authorization"]
//! max_age_s = 600
//!
//! [routes.headers.response]     # add, set, remove headers on the way (request or response)
//! remove = ["Server"]
//!
//! [routes.split]                # a canary: 10 % of the traffic to version 2
//! sticky = true
//! weights = [{ upstream = "billing", weight = 90 }, { upstream = "billing-v2", weight = 10 }]
//!
//! [routes.response_cache]       # answers kept for 10 s, per user
//! ttl_ms = 10000
//! ```

use serde::Deserialize;
use std::collections::BTreeMap;

/// `[routes.cors]`: which browser origins may call the route (the CORS protocol, Fetch §3.2).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsConfig {
    /// Origins allowed, each matched exactly: `https://shop.example.edu` or
    /// `http://localhost:3000`. No wildcard and no `null`: a pattern matches origins nobody
    /// reviewed, and `null` is every sandboxed page and local file at once.
    pub allow_origins: Vec<String>,
    /// Methods a cross-origin request may use (default `GET`, `HEAD`, `POST`).
    #[serde(default = "default_cors_methods")]
    pub allow_methods: Vec<String>,
    /// Request headers a cross-origin request may send beyond the CORS-safelisted ones,
    /// e.g. `Authorization`, `Content-Type`.
    #[serde(default)]
    pub allow_headers: Vec<String>,
    /// Response headers the page's script may read beyond the safelisted ones.
    #[serde(default)]
    pub expose_headers: Vec<String>,
    /// Whether the browser sends cookies and HTTP authentication with the request, and lets
    /// the page read the answer.
    #[serde(default)]
    pub allow_credentials: bool,
    /// How long a browser may keep a preflight's answer (seconds).
    #[serde(default = "default_cors_max_age_s")]
    pub max_age_s: u32,
}

fn default_cors_methods() -> Vec<String> {
    ["GET", "HEAD", "POST"].map(String::from).to_vec()
}

fn default_cors_max_age_s() -> u32 {
    600
}

/// `[routes.headers]`: header rewrites, on the request to the upstream and on its response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HeadersConfig {
    /// `[routes.headers.request]`: applied after admission, before the request is forwarded.
    pub request: HeaderRewrites,
    /// `[routes.headers.response]`: applied to the upstream's answer.
    pub response: HeaderRewrites,
}

/// One direction's rewrites, applied in this order: remove, set, add.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HeaderRewrites {
    /// Headers removed.
    pub remove: Vec<String>,
    /// Headers set, replacing any value already there.
    pub set: BTreeMap<String, String>,
    /// Headers added, keeping any value already there.
    pub add: BTreeMap<String, String>,
}

impl HeaderRewrites {
    /// True when nothing is rewritten.
    pub fn is_empty(&self) -> bool {
        self.remove.is_empty() && self.set.is_empty() && self.add.is_empty()
    }
}

/// `[routes.split]`: the route's traffic spread over several upstreams by weight — a canary
/// release, or a blue/green switch.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitConfig {
    /// A caller with a token always reaches the same upstream while the weights stay the same
    /// (their `sub` is hashed), so a user does not flip between versions. Callers without a
    /// token are spread by count.
    #[serde(default)]
    pub sticky: bool,
    /// The upstreams and their weights. The route's own `upstream` must be one of them: it is
    /// where the traffic returns when the split is removed.
    pub weights: Vec<WeightConfig>,
}

/// One upstream of a split and its share.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightConfig {
    /// Name of an `[[upstreams]]` entry.
    pub upstream: String,
    /// Its share of the traffic, relative to the others; 0 drains it.
    pub weight: u32,
}

/// `[routes.response_cache]`: the gateway keeps successful `GET` answers and serves them again
/// without calling the upstream, after admission (authentication, authorization and rate
/// limiting run for every request, hit or miss).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseCacheConfig {
    /// How long an answer is served from the cache (milliseconds); a backend's shorter
    /// `max-age`/`s-maxage` wins.
    pub ttl_ms: u64,
    /// The answer is the same for every caller: entries are shared. Off by default, so an
    /// answer is kept per user (the verified `sub` and role are part of its key); and even
    /// when shared, an answer to a request with a token is kept only when the backend marks it
    /// `public` or gives `s-maxage` (RFC 9111 §3.5).
    #[serde(default)]
    pub shared: bool,
    /// Most entries kept for this route.
    #[serde(default = "default_cache_entries")]
    pub max_entries: u64,
    /// Most body bytes kept for this route.
    #[serde(default = "default_cache_bytes")]
    pub max_bytes: u64,
    /// Largest body kept; a larger answer streams through and is not kept.
    #[serde(default = "default_cache_entry_bytes")]
    pub max_entry_bytes: u64,
}

fn default_cache_entries() -> u64 {
    10_000
}

fn default_cache_bytes() -> u64 {
    16 * 1024 * 1024
}

fn default_cache_entry_bytes() -> u64 {
    256 * 1024
}
