//! `[[rate_limits]]`, `[[quotas]]` and `[redis]`: the configuration of [`crate::ratelimit`].
//!
//! These are the types only; their checks are in [`validate::rate_limits`](super::validate::rate_limits)
//! beside the other sections', and the demo's policies in [`demo`](super::demo).
//!
//! ```toml
//! [redis]                          # only needed by policies with backend = "redis"
//! url = "redis://127.0.0.1:6379"
//!
//! [[rate_limits]]
//! name = "per-user"
//! rate = 600                       # requests …
//! per = "minute"                   # … per minute (or period_secs = 60)
//! burst = 100                      # at most this many at once
//! key = ["user"]                   # user, ip, route, account — or a combination
//! backend = "local"                # or "redis" (shared by every replica)
//! on_redis_error = "open"          # or "closed": what to do when Redis does not answer
//!
//! [[quotas]]
//! name = "daily"
//! limit = 10000                    # requests per user …
//! per = "day"                      # … per day (or "hour")
//!
//! [[routes]]
//! name = "users"
//! rate_limits = ["per-user", "daily"]   # policies and quotas, by name
//! ```

use secrecy::SecretString;
use serde::Deserialize;

/// What a rate limit counts by. Several parts make a combined key (`["user", "route"]`: each
/// user has a separate allowance on each route).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyPart {
    /// The verified token's `sub`; anonymous callers are counted by IP address instead.
    User,
    /// The client's IP address (`X-Forwarded-For` is believed only from `trusted_proxies`).
    Ip,
    /// The route's name: one allowance shared by everyone on the route.
    Route,
    /// The account a login names (`email` in JSON, `username` in a form), lower-cased and
    /// hashed. Makes the gateway read the (small) body, so use it on login routes only.
    Account,
}

impl KeyPart {
    /// The name used in the configuration.
    pub const fn as_str(self) -> &'static str {
        match self {
            KeyPart::User => "user",
            KeyPart::Ip => "ip",
            KeyPart::Route => "route",
            KeyPart::Account => "account",
        }
    }
}

/// Where a limiter keeps its counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// In this process: exact for one replica; N replicas each allow the full limit.
    #[default]
    Local,
    /// In Redis, shared by every replica: the limit holds cluster-wide.
    Redis,
}

/// What a Redis-backed limit does when Redis does not answer in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnRedisError {
    /// Let the request through (availability first). The default.
    #[default]
    Open,
    /// Refuse it with 503 `rate_limiter_unavailable` (protection first: login endpoints).
    Closed,
}

/// A named period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Per {
    /// 1 s.
    Second,
    /// 60 s.
    Minute,
    /// 3600 s.
    Hour,
    /// 86 400 s.
    Day,
}

impl Per {
    /// Its length in seconds.
    pub const fn secs(self) -> u64 {
        match self {
            Per::Second => 1,
            Per::Minute => 60,
            Per::Hour => 3_600,
            Per::Day => 86_400,
        }
    }
}

/// `[[rate_limits]]`: `rate` requests per period, at most `burst` at once, counted per `key`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// The name routes refer to; also the policy name in the `RateLimit` headers.
    pub name: String,
    /// Requests allowed per period (the sustained rate).
    pub rate: u64,
    /// The period in seconds (or use `per`).
    #[serde(default)]
    pub period_secs: Option<u64>,
    /// The period by name: `second`, `minute`, `hour`, `day` (or use `period_secs`).
    #[serde(default)]
    pub per: Option<Per>,
    /// Requests allowed at once, after a quiet spell. Defaults to `rate`.
    #[serde(default)]
    pub burst: Option<u64>,
    /// What is counted: `["user"]`, `["ip"]`, `["route"]`, `["account"]` or a combination.
    pub key: Vec<KeyPart>,
    /// `local` (default) or `redis`.
    #[serde(default)]
    pub backend: Backend,
    /// `open` (default) or `closed`; only meaningful with `backend = "redis"`.
    #[serde(default)]
    pub on_redis_error: OnRedisError,
}

impl RateLimitConfig {
    /// The period in seconds (validation made sure exactly one way of giving it is used).
    pub fn period_secs(&self) -> u64 {
        self.period_secs.or(self.per.map(Per::secs)).unwrap_or(1)
    }

    /// The burst (defaults to the rate).
    pub fn burst(&self) -> u64 {
        self.burst.unwrap_or(self.rate)
    }
}

/// Which periods a quota may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuotaPer {
    /// 3600 s.
    Hour,
    /// 86 400 s.
    Day,
}

/// `[[quotas]]`: a long-period allowance per user (`limit` requests per hour or day).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaConfig {
    /// The name routes refer to; also the policy name in the `RateLimit` headers.
    pub name: String,
    /// Requests per user per period.
    pub limit: u64,
    /// `hour` or `day`.
    pub per: QuotaPer,
    /// `local` (default) or `redis`.
    #[serde(default)]
    pub backend: Backend,
    /// `open` (default) or `closed`.
    #[serde(default)]
    pub on_redis_error: OnRedisError,
}

impl QuotaConfig {
    /// A quota is a rate limit whose burst is the whole allowance, keyed by user: a user may
    /// spend it all at once, then earns it back at `limit` per period (no reset at midnight
    /// that would allow twice the quota around it).
    pub fn as_rate_limit(&self) -> RateLimitConfig {
        RateLimitConfig {
            name: self.name.clone(),
            rate: self.limit,
            period_secs: Some(match self.per {
                QuotaPer::Hour => 3_600,
                QuotaPer::Day => 86_400,
            }),
            per: None,
            burst: Some(self.limit),
            key: vec![KeyPart::User],
            backend: self.backend,
            on_redis_error: self.on_redis_error,
        }
    }
}

/// `[redis]`: the server Redis-backed limits share.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    /// `redis://[:password@]host:port[/db]`. Secret: it may hold a password.
    pub url: SecretString,
    /// Longest wait for one check (milliseconds); past it the policy's `on_redis_error` applies.
    #[serde(default = "default_redis_timeout_ms")]
    pub timeout_ms: u64,
    /// Prefix of every key the gateway writes, so several systems can share one Redis.
    #[serde(default = "default_redis_prefix")]
    pub key_prefix: String,
}

fn default_redis_timeout_ms() -> u64 {
    100
}

fn default_redis_prefix() -> String {
    "gw:rl:".to_owned()
}

impl RedisConfig {
    /// A configuration for `url` with the default timeout and prefix.
    pub fn new(url: &str) -> RedisConfig {
        RedisConfig {
            url: SecretString::from(url.to_owned()),
            timeout_ms: default_redis_timeout_ms(),
            key_prefix: default_redis_prefix(),
        }
    }
}
