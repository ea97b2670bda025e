//! `[[rate_limits]]`, `[[quotas]]` and `[redis]`: the configuration of [`crate::ratelimit`], with
//! its own checks (kept apart from `validate.rs` so the rate-limiting concern lives in one file).
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

use super::{
    Config,
    diagnostic::{Diagnostic, did_you_mean, suggestion},
    load::{KeyPath, Locator},
};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::collections::HashMap;

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

/// The demo's policies (`gateway.demo.toml` holds the same): a generous per-user rate for the
/// API, strict per-IP and per-account limits for the login endpoints, and a daily quota.
pub fn demo_policies() -> (Vec<RateLimitConfig>, Vec<QuotaConfig>) {
    let policy = |name: &str, rate, per, burst, key: &[KeyPart]| RateLimitConfig {
        name: name.to_owned(),
        rate,
        period_secs: None,
        per: Some(per),
        burst: Some(burst),
        key: key.to_vec(),
        backend: Backend::Local,
        on_redis_error: OnRedisError::Open,
    };
    (
        vec![
            policy("per-user", 600, Per::Minute, 100, &[KeyPart::User]),
            policy("login-ip", 60, Per::Minute, 20, &[KeyPart::Ip]),
            policy("login-account", 10, Per::Minute, 10, &[KeyPart::Account]),
        ],
        vec![QuotaConfig {
            name: "daily".to_owned(),
            limit: 10_000,
            per: QuotaPer::Day,
            backend: Backend::Local,
            on_redis_error: OnRedisError::Open,
        }],
    )
}

/// Every problem in the rate-limiting sections, and in the routes' `rate_limits` lists.
pub fn validate(config: &Config, at: &Locator<'_>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut push = |key: &KeyPath, message: String, fix: &str| {
        out.push(Diagnostic {
            location: at.locate(key),
            key: key.to_string(),
            message,
            fix: fix.to_owned(),
        });
    };
    let line_of = |key: &KeyPath| {
        at.locate(key)
            .map_or_else(String::new, |(line, _)| format!(" (line {line})"))
    };

    let mut names: HashMap<&str, KeyPath> = HashMap::new();
    let mut uses_redis = None;
    for (i, policy) in config.rate_limits.iter().enumerate() {
        let path = KeyPath::key("rate_limits").index(i);
        check_name(&policy.name, &path, &mut names, &mut push, &line_of);
        if policy.rate == 0 {
            push(
                &path.field("rate"),
                "a rate of 0 refuses every request".into(),
                "set a positive number of requests per period (remove the route's policy to not limit it)",
            );
        }
        match (policy.period_secs, policy.per) {
            (Some(_), Some(_)) => push(
                &path.field("per"),
                "both `period_secs` and `per` are set".into(),
                "keep one: per = \"minute\" is the same as period_secs = 60",
            ),
            (None, None) => push(
                &path,
                format!("the policy `{}` has no period", policy.name),
                "add per = \"second\" | \"minute\" | \"hour\" | \"day\", or period_secs = N",
            ),
            (Some(0), None) => push(
                &path.field("period_secs"),
                "a period of 0 seconds has no meaning".into(),
                "set a positive number of seconds",
            ),
            _ => {}
        }
        if policy.burst == Some(0) {
            push(
                &path.field("burst"),
                "a burst of 0 refuses every request".into(),
                "set burst to at least 1 (how many requests may come at once); it defaults to `rate`",
            );
        }
        if policy.key.is_empty() {
            push(
                &path.field("key"),
                "the key is empty, so nothing says whose requests are counted".into(),
                "use e.g. key = [\"user\"], [\"ip\"], [\"route\"] or [\"user\", \"route\"]",
            );
        }
        for (k, part) in policy.key.iter().enumerate() {
            if policy.key[..k].contains(part) {
                push(
                    &path.field("key").index(k),
                    format!("`{}` appears twice in the key", part.as_str()),
                    "list each part once",
                );
            }
        }
        if policy.backend == Backend::Redis && uses_redis.is_none() {
            uses_redis = Some(path.field("backend"));
        }
    }
    for (i, quota) in config.quotas.iter().enumerate() {
        let path = KeyPath::key("quotas").index(i);
        check_name(&quota.name, &path, &mut names, &mut push, &line_of);
        if quota.limit == 0 {
            push(
                &path.field("limit"),
                "a quota of 0 refuses every request".into(),
                "set a positive number of requests per period",
            );
        }
        if quota.backend == Backend::Redis && uses_redis.is_none() {
            uses_redis = Some(path.field("backend"));
        }
    }
    match (&config.redis, uses_redis) {
        (None, Some(path)) => push(
            &path,
            "this policy keeps its counters in Redis, but there is no [redis] section".into(),
            "add [redis] with url = \"redis://host:6379\", or use backend = \"local\"",
        ),
        (Some(redis), _) => {
            let url = redis.url.expose_secret();
            if !(url.starts_with("redis://") || url.starts_with("rediss://"))
                || redis::Client::open(url).is_err()
            {
                // The URL is not echoed: it may hold a password.
                push(
                    &KeyPath::key("redis").field("url"),
                    "the Redis URL cannot be parsed".into(),
                    "write redis://[:password@]host:port[/db]",
                );
            }
            if redis.timeout_ms == 0 {
                push(
                    &KeyPath::key("redis").field("timeout_ms"),
                    "a zero timeout fails every check".into(),
                    "set a positive number of milliseconds, e.g. 100",
                );
            }
        }
        (None, None) => {}
    }

    let mut known: Vec<&str> = Vec::new();
    for name in config
        .rate_limits
        .iter()
        .map(|p| p.name.as_str())
        .chain(config.quotas.iter().map(|q| q.name.as_str()))
    {
        if !known.contains(&name) {
            known.push(name);
        }
    }
    for (i, route) in config.routes.iter().enumerate() {
        let path = KeyPath::key("routes").index(i).field("rate_limits");
        check_references(&route.rate_limits, &path, &known, &mut push);
    }
    for (i, aggregate) in config.aggregates.iter().enumerate() {
        let path = KeyPath::key("aggregates").index(i).field("rate_limits");
        check_references(&aggregate.rate_limits, &path, &known, &mut push);
    }
    out
}

/// Checks a `rate_limits = [...]` list: every name known, none twice. Public so that other
/// sections with the same field (aggregates) can reuse it.
pub fn check_references(
    list: &[String],
    path: &KeyPath,
    known: &[&str],
    push: &mut impl FnMut(&KeyPath, String, &str),
) {
    for (j, name) in list.iter().enumerate() {
        let item = path.index(j);
        if !known.contains(&name.as_str()) {
            let fix = if known.is_empty() {
                "no [[rate_limits]] or [[quotas]] are defined yet".to_owned()
            } else {
                format!(
                    "name one of the [[rate_limits]] or [[quotas]] (defined: {})",
                    known.join(", ")
                )
            };
            push(
                &item,
                format!(
                    "unknown rate limit `{name}`{}",
                    suggestion(did_you_mean(name, known.iter().copied()))
                ),
                &fix,
            );
        } else if list[..j].contains(name) {
            push(
                &item,
                format!("`{name}` is listed twice"),
                "list each policy once",
            );
        }
    }
}

fn check_name<'c>(
    name: &'c str,
    path: &KeyPath,
    names: &mut HashMap<&'c str, KeyPath>,
    push: &mut impl FnMut(&KeyPath, String, &str),
    line_of: &impl Fn(&KeyPath) -> String,
) {
    // The name goes into a structured-field string in the `RateLimit` headers and into Redis
    // keys: keep it to a safe alphabet.
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    {
        push(
            &path.field("name"),
            format!("`{name}` is not a usable policy name"),
            "use letters, digits, `-`, `_` and `.` only",
        );
    } else if let Some(first) = names.insert(name, path.clone()) {
        push(
            &path.field("name"),
            format!(
                "duplicate rate limit name `{name}`: already used{}",
                line_of(&first)
            ),
            "rate limits and quotas share one namespace: give each its own name",
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, ConfigErrors};

    const BASE: &str = r#"[auth]
issuer = "http://localhost:8080"
audience = "ecommerce-api"
hs256_secret = "a-test-secret-that-is-long-enough-for-hs256"

[[upstreams]]
name = "users"
targets = ["http://127.0.0.1:8082"]

[[rate_limits]]
name = "per-user"
rate = 10
per = "minute"
key = ["user"]

[[quotas]]
name = "daily"
limit = 1000
per = "day"

[[routes]]
name = "users"
prefix = "/api/users"
upstream = "users"
rate_limits = ["per-user", "daily"]
"#;

    fn errors(text: &str) -> ConfigErrors {
        Config::from_toml(text, "gw.toml").expect_err("the configuration should be refused")
    }

    #[test]
    fn policies_and_quotas_parse_and_attach() {
        let config = Config::from_toml(BASE, "gw.toml").unwrap();
        assert_eq!(config.rate_limits[0].period_secs(), 60);
        assert_eq!(
            config.rate_limits[0].burst(),
            10,
            "the burst defaults to the rate"
        );
        assert_eq!(config.quotas[0].as_rate_limit().period_secs(), 86_400);
        assert_eq!(config.routes[0].rate_limits, ["per-user", "daily"]);
    }

    #[test]
    fn an_unknown_policy_is_located_with_a_suggestion() {
        let e = errors(&BASE.replace(
            "rate_limits = [\"per-user\", \"daily\"]",
            "rate_limits = [\"per-usr\"]",
        ));
        let d = &e.diagnostics[0];
        assert_eq!(d.key, "routes[0].rate_limits[0]");
        assert_eq!(d.location, Some((25, 16)));
        assert!(
            d.message
                .contains("unknown rate limit `per-usr` (did you mean `per-user`?)"),
            "{e}"
        );
        assert!(d.fix.contains("defined: per-user, daily"), "{e}");
    }

    #[test]
    fn zero_rates_bursts_and_periods_are_refused() {
        let e = errors(
            &BASE
                .replace("rate = 10", "rate = 0\nburst = 0")
                .replace("limit = 1000", "limit = 0"),
        );
        assert!(e.mentions("a rate of 0 refuses every request"), "{e}");
        assert!(e.mentions("a burst of 0 refuses every request"), "{e}");
        assert!(e.mentions("a quota of 0"), "{e}");
        assert_eq!(e.diagnostics[0].location.map(|l| l.0), Some(12), "{e}");

        let e = errors(&BASE.replace("per = \"minute\"", "per = \"minute\"\nperiod_secs = 60"));
        assert!(e.mentions("both `period_secs` and `per`"), "{e}");
        let e = errors(&BASE.replace("per = \"minute\"\n", ""));
        assert!(e.mentions("has no period"), "{e}");
    }

    #[test]
    fn redis_needs_its_section_and_names_are_unique() {
        let e = errors(&BASE.replace(
            "key = [\"user\"]",
            "key = [\"user\", \"user\"]\nbackend = \"redis\"",
        ));
        assert!(e.mentions("there is no [redis] section"), "{e}");
        assert!(e.mentions("`user` appears twice"), "{e}");
        let e = errors(&BASE.replace("name = \"daily\"", "name = \"per-user\""));
        assert!(
            e.mentions("duplicate rate limit name `per-user`: already used (line 10)"),
            "{e}"
        );
        let e = errors(&format!("{BASE}\n[redis]\nurl = \"http://secret@host\"\n"));
        assert!(e.mentions("the Redis URL cannot be parsed"), "{e}");
        assert!(
            !e.to_string().contains("secret@"),
            "the URL is never echoed: {e}"
        );
        let e = errors(&BASE.replace("key = [\"user\"]", "key = [\"usr\"]"));
        assert!(e.mentions("unknown variant `usr`"), "{e}");
    }
}
