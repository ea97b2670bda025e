//! `[[aggregates]]`: calls, keys, timeouts, placeholders and names that clash with routes.

use super::{Config, base, errors};

/// The base file plus a `billing` upstream and one aggregate whose calls are `calls`.
fn with_aggregate(aggregate_extra: &str, calls: &str) -> String {
    base(&format!(
        r#"
[[upstreams]]
name = "billing"
targets = ["http://127.0.0.1:8083"]

[[aggregates]]
name = "dashboard"
path = "/api/dashboard"
timeout_ms = 1000
{aggregate_extra}
{calls}"#
    ))
}

const PROFILE: &str = "[[aggregates.calls]]\nkey = \"profile\"\nupstream = \"users\"\npath = \"/users/{sub}\"\nrequired = true\n";

#[test]
fn a_valid_aggregate_is_accepted() {
    let text = with_aggregate("", PROFILE);
    let config = Config::from_toml(&text, "gw.toml").unwrap();
    assert_eq!(config.aggregates[0].calls[0].path, "/users/{sub}");
}

#[test]
fn an_aggregate_call_to_an_unknown_upstream_is_located_with_a_suggestion() {
    let calls = format!(
        "{PROFILE}\n[[aggregates.calls]]\nkey = \"invoices\"\nupstream = \"biling\"\npath = \"/billing/invoices\"\n"
    );
    let e = errors(&with_aggregate("", &calls));
    let d = &e.diagnostics[0];
    assert_eq!(d.key, "aggregates[0].calls[1].upstream");
    assert!(d.location.is_some(), "{e}");
    assert!(d.message.contains("did you mean `billing`"), "{e}");
}

#[test]
fn duplicate_call_keys_and_the_reserved_meta_key_are_refused() {
    let calls = format!(
        "{PROFILE}\n[[aggregates.calls]]\nkey = \"profile\"\nupstream = \"billing\"\npath = \"/b\"\n\n[[aggregates.calls]]\nkey = \"_meta\"\nupstream = \"billing\"\npath = \"/c\"\n"
    );
    let e = errors(&with_aggregate("", &calls));
    assert!(e.mentions("duplicate call key `profile`"), "{e}");
    assert!(e.mentions("`_meta` is reserved"), "{e}");
    assert_eq!(e.diagnostics.len(), 2, "{e}");
}

#[test]
fn a_call_timeout_beyond_the_budget_is_refused_with_the_limit() {
    let calls = format!("{PROFILE}timeout_ms = 5000\n");
    let e = errors(&with_aggregate("", &calls));
    assert_eq!(e.diagnostics[0].key, "aggregates[0].calls[0].timeout_ms");
    assert!(
        e.mentions("longer than the aggregate's budget (1000 ms)"),
        "{e}"
    );
    assert!(e.mentions("at most 1000 ms"), "{e}");
}

#[test]
fn an_aggregate_path_colliding_with_a_route_is_refused() {
    let text =
        with_aggregate("", PROFILE).replace("path = \"/api/dashboard\"", "path = \"/api/users\"");
    let e = errors(&text);
    assert!(e.mentions("also the prefix of route `users`"), "{e}");
    assert!(e.to_string().contains("aggregates[0].path"), "{e}");
}

#[test]
fn sub_needs_a_required_token_and_unknown_placeholders_are_refused() {
    let e = errors(&with_aggregate("auth = \"public\"", PROFILE));
    assert!(e.mentions("anonymous caller has no id"), "{e}");
    let e = errors(&with_aggregate("", &PROFILE.replace("{sub}", "{user}")));
    assert!(e.mentions("unknown placeholder `{user}`"), "{e}");
}

#[test]
fn an_aggregate_named_like_a_route_or_naming_an_unknown_limit_is_refused() {
    let text = with_aggregate("rate_limits = [\"per-usr\"]", PROFILE)
        .replace("name = \"dashboard\"", "name = \"users\"");
    let e = errors(&text);
    assert!(e.mentions("the name `users` is already a route's"), "{e}");
    assert!(e.mentions("unknown rate limit `per-usr`"), "{e}");
    assert!(
        e.to_string().contains("aggregates[0].rate_limits[0]"),
        "{e}"
    );
}

#[test]
fn an_aggregates_scopes_are_checked_like_a_routes() {
    let text = with_aggregate("scopes = [\"profile\", \"pro file\"]", PROFILE);
    let e = errors(&text);
    assert_eq!(e.diagnostics[0].key, "aggregates[0].scopes[1]", "{e}");
    assert!(e.mentions("the scope `pro file` contains a space"), "{e}");
    let text = with_aggregate("scopes = [\"profile\"]", PROFILE);
    let config = Config::from_toml(&text, "gw.toml").unwrap();
    assert_eq!(config.aggregates[0].scopes, ["profile"]);
}
