//! `[[rate_limits]]`, `[[quotas]]`, `[redis]` and the lists that attach them to routes and
//! aggregates.

use super::{AUTH_AND_USERS, errors};
use crate::config::Config;

/// The base file with one policy and one quota, both attached to the route.
fn base_with_limits() -> String {
    format!(
        r#"{AUTH_AND_USERS}
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
"#
    )
}

#[test]
fn policies_and_quotas_parse_and_attach() {
    let config = Config::from_toml(&base_with_limits(), "gw.toml").unwrap();
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
    let e = errors(&base_with_limits().replace(
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
        &base_with_limits()
            .replace("rate = 10", "rate = 0\nburst = 0")
            .replace("limit = 1000", "limit = 0"),
    );
    assert!(e.mentions("a rate of 0 refuses every request"), "{e}");
    assert!(e.mentions("a burst of 0 refuses every request"), "{e}");
    assert!(e.mentions("a quota of 0"), "{e}");
    assert_eq!(e.diagnostics[0].location.map(|l| l.0), Some(12), "{e}");

    let e = errors(
        &base_with_limits().replace("per = \"minute\"", "per = \"minute\"\nperiod_secs = 60"),
    );
    assert!(e.mentions("both `period_secs` and `per`"), "{e}");
    let e = errors(&base_with_limits().replace("per = \"minute\"\n", ""));
    assert!(e.mentions("has no period"), "{e}");
}

#[test]
fn redis_needs_its_section_and_names_are_unique() {
    let e = errors(&base_with_limits().replace(
        "key = [\"user\"]",
        "key = [\"user\", \"user\"]\nbackend = \"redis\"",
    ));
    assert!(e.mentions("there is no [redis] section"), "{e}");
    assert!(e.mentions("`user` appears twice"), "{e}");
    let e = errors(&base_with_limits().replace("name = \"daily\"", "name = \"per-user\""));
    assert!(
        e.mentions("duplicate rate limit name `per-user`: already used (line 10)"),
        "{e}"
    );
    let e = errors(&format!(
        "{}\n[redis]\nurl = \"http://secret@host\"\n",
        base_with_limits()
    ));
    assert!(e.mentions("the Redis URL cannot be parsed"), "{e}");
    assert!(
        !e.to_string().contains("secret@"),
        "the URL is never echoed: {e}"
    );
    let e = errors(&base_with_limits().replace("key = [\"user\"]", "key = [\"usr\"]"));
    assert!(e.mentions("unknown variant `usr`"), "{e}");
}
