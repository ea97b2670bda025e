//! `[[rate_limits]]`, `[[quotas]]` and `[redis]`: policy names that are unique across both lists
//! and safe in headers and Redis keys, rates, bursts, periods and limits above zero, a `[redis]`
//! section that parses wherever a policy counts in Redis — and, in `[[routes]]` and
//! `[[aggregates]]`, `rate_limits` lists that name defined policies once each.

use super::{
    common::{NameForm, NameRule, Names},
    report::Report,
};
use crate::config::{
    Config,
    diagnostic::{did_you_mean, suggestion},
    location::KeyPath,
    rate_limits::Backend,
};
use secrecy::ExposeSecret;

/// Checks the rate-limiting sections, and the lists in routes and aggregates that name them.
pub fn check(config: &Config, report: &mut Report<'_, '_>) {
    // Rate limits and quotas share one namespace: a route names either by the same word.
    let mut names = Names::new(NameRule {
        what: "rate limit",
        form: NameForm::Token,
        first_was: "already used",
        duplicate_fix: "rate limits and quotas share one namespace: give each its own name",
    });
    let mut uses_redis = None;
    for (i, policy) in config.rate_limits.iter().enumerate() {
        let path = KeyPath::key("rate_limits").index(i);
        names.check(&policy.name, &path, report);
        if policy.rate == 0 {
            report.push(
                &path.field("rate"),
                "a rate of 0 refuses every request",
                "set a positive number of requests per period (remove the route's policy to not limit it)",
            );
        }
        match (policy.period_secs, policy.per) {
            (Some(_), Some(_)) => report.push(
                &path.field("per"),
                "both `period_secs` and `per` are set",
                "keep one: per = \"minute\" is the same as period_secs = 60",
            ),
            (None, None) => report.push(
                &path,
                format!("the policy `{}` has no period", policy.name),
                "add per = \"second\" | \"minute\" | \"hour\" | \"day\", or period_secs = N",
            ),
            (Some(0), None) => report.push(
                &path.field("period_secs"),
                "a period of 0 seconds has no meaning",
                "set a positive number of seconds",
            ),
            _ => {}
        }
        if policy.burst == Some(0) {
            report.push(
                &path.field("burst"),
                "a burst of 0 refuses every request",
                "set burst to at least 1 (how many requests may come at once); it defaults to `rate`",
            );
        }
        if policy.key.is_empty() {
            report.push(
                &path.field("key"),
                "the key is empty, so nothing says whose requests are counted",
                "use e.g. key = [\"user\"], [\"ip\"], [\"route\"] or [\"user\", \"route\"]",
            );
        }
        for (k, part) in policy.key.iter().enumerate() {
            if policy.key[..k].contains(part) {
                report.push(
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
        names.check(&quota.name, &path, report);
        if quota.limit == 0 {
            report.push(
                &path.field("limit"),
                "a quota of 0 refuses every request",
                "set a positive number of requests per period",
            );
        }
        if quota.backend == Backend::Redis && uses_redis.is_none() {
            uses_redis = Some(path.field("backend"));
        }
    }
    check_redis(config, uses_redis, report);
    check_attachments(config, report);
}

/// `[redis]` must exist when `first_user` (the first policy with `backend = "redis"`) needs it,
/// and parse whenever it is given.
fn check_redis(config: &Config, first_user: Option<KeyPath>, report: &mut Report<'_, '_>) {
    match (&config.redis, first_user) {
        (None, Some(path)) => report.push(
            &path,
            "this policy keeps its counters in Redis, but there is no [redis] section",
            "add [redis] with url = \"redis://host:6379\", or use backend = \"local\"",
        ),
        (Some(redis), _) => {
            let url = redis.url.expose_secret();
            if !(url.starts_with("redis://") || url.starts_with("rediss://"))
                || redis::Client::open(url).is_err()
            {
                // The URL is not echoed: it may hold a password.
                report.push(
                    &KeyPath::key("redis").field("url"),
                    "the Redis URL cannot be parsed",
                    "write redis://[:password@]host:port[/db]",
                );
            }
            if redis.timeout_ms == 0 {
                report.push(
                    &KeyPath::key("redis").field("timeout_ms"),
                    "a zero timeout fails every check",
                    "set a positive number of milliseconds, e.g. 100",
                );
            }
        }
        (None, None) => {}
    }
}

/// The `rate_limits = [...]` lists of routes and aggregates: every name defined, none twice.
fn check_attachments(config: &Config, report: &mut Report<'_, '_>) {
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
        check_references(&route.rate_limits, &path, &known, report);
    }
    for (i, aggregate) in config.aggregates.iter().enumerate() {
        let path = KeyPath::key("aggregates").index(i).field("rate_limits");
        check_references(&aggregate.rate_limits, &path, &known, report);
    }
}

/// Checks one `rate_limits = [...]` list at `path` against the `known` policy names.
fn check_references(list: &[String], path: &KeyPath, known: &[&str], report: &mut Report<'_, '_>) {
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
            report.push(
                &item,
                format!(
                    "unknown rate limit `{name}`{}",
                    suggestion(did_you_mean(name, known.iter().copied()))
                ),
                fix,
            );
        } else if list[..j].contains(name) {
            report.push(
                &item,
                format!("`{name}` is listed twice"),
                "list each policy once",
            );
        }
    }
}
