//! One test per class of configuration mistake: each must be caught, located and explained.

use super::*;
use secrecy::ExposeSecret;

const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/keys");

/// A valid file; tests splice their mistake into it.
fn base(extra_routes: &str) -> String {
    format!(
        r#"[server]
listen = "127.0.0.1:0"

[auth]
issuer = "http://localhost:8080"
audience = "ecommerce-api"
hs256_secret = "a-test-secret-that-is-long-enough-for-hs256"

[[upstreams]]
name = "users"
targets = ["http://127.0.0.1:8082"]

[[routes]]
name = "users"
prefix = "/api/users"
upstream = "users"
{extra_routes}"#
    )
}

fn errors(text: &str) -> ConfigErrors {
    Config::from_toml(text, "gw.toml").expect_err("the configuration should be refused")
}

#[test]
fn the_base_file_is_valid() {
    Config::from_toml(&base(""), "gw.toml").unwrap();
}

#[test]
fn an_unknown_upstream_is_located_with_a_suggestion() {
    let text = base("\n[[routes]]\nname = \"me\"\nprefix = \"/api/me\"\nupstream = \"user\"\n");
    let e = errors(&text);
    let d = &e.diagnostics[0];
    assert_eq!(d.key, "routes[1].upstream");
    assert_eq!(d.location, Some((21, 12)));
    assert!(
        d.message
            .contains("unknown upstream `user` (did you mean `users`?)"),
        "{e}"
    );
    assert!(d.fix.contains("defined upstreams: users"), "{e}");
    assert!(
        e.to_string()
            .starts_with("gw.toml:21:12: `routes[1].upstream`"),
        "{e}"
    );
}

#[test]
fn a_shadowed_route_is_refused() {
    let text = base(
        "\n[[routes]]\nname = \"users-get\"\nprefix = \"/api/users\"\nmethods = [\"GET\"]\nupstream = \"users\"\n",
    );
    let e = errors(&text);
    assert_eq!(e.diagnostics[0].key, "routes[1]");
    assert!(
        e.mentions("route `users-get` is shadowed for GET, HEAD by route `users` (line 13)"),
        "{e}"
    );
    assert_eq!(e.diagnostics[0].location.map(|l| l.0), Some(18));
}

#[test]
fn disjoint_methods_or_exact_routes_are_not_shadowed() {
    let text = base(
        "\n[[routes]]\nname = \"list\"\nprefix = \"/api/users\"\nexact = true\nmethods = [\"GET\"]\nupstream = \"users\"\nauth = \"required\"\nroles = [\"ADMIN\"]\n",
    );
    Config::from_toml(&text, "gw.toml").unwrap();
}

#[test]
fn an_algorithm_that_does_not_fit_its_key_is_refused() {
    let text = base("").replace(
        "[[upstreams]]",
        &format!(
            "[[auth.public_keys]]\nkid = \"k1\"\nalg = \"RS256\"\npem_file = \"{KEYS}/ed25519.pub.pem\"\n\n[[auth.public_keys]]\nkid = \"k2\"\nalg = \"HS256\"\npem_file = \"{KEYS}/rsa-2048.pub.pem\"\n\n[[upstreams]]"
        ),
    );
    let e = errors(&text);
    assert_eq!(e.diagnostics.len(), 2, "{e}");
    assert_eq!(e.diagnostics[0].key, "auth.public_keys[0].alg");
    assert!(
        e.diagnostics[0].message.contains("which is an EdDSA key"),
        "{e}"
    );
    assert!(e.diagnostics[0].fix.contains("set alg = \"EdDSA\""), "{e}");
    assert_eq!(e.diagnostics[1].key, "auth.public_keys[1].alg");
    assert!(
        e.diagnostics[1].message.contains("shared-secret algorithm"),
        "{e}"
    );
}

#[test]
fn a_private_key_or_a_short_secret_is_refused() {
    let text = base("")
        .replace("a-test-secret-that-is-long-enough-for-hs256", "short")
        .replace(
            "[[upstreams]]",
            &format!("[[auth.public_keys]]\nkid = \"k\"\nalg = \"RS256\"\npem_file = \"{KEYS}/rsa-2048.pem\"\n\n[[upstreams]]"),
        );
    let e = errors(&text);
    assert!(e.mentions("HS256 needs at least 32"), "{e}");
    assert!(e.mentions("holds a private key"), "{e}");
}

#[test]
fn the_public_demo_secret_needs_demo_mode() {
    let text = base("").replace(
        "a-test-secret-that-is-long-enough-for-hs256",
        shared::demo::HS256_SECRET,
    );
    let e = errors(&text);
    assert_eq!(e.diagnostics[0].key, "auth.hs256_secret");
    assert!(e.mentions("public demo secret"), "{e}");
    Config::from_toml(&format!("demo = true\n{text}"), "gw.toml").unwrap();
}

#[test]
fn a_bad_url_is_refused() {
    let text = base("").replace("http://127.0.0.1:8082", "https://127.0.0.1:8082/api");
    let e = errors(&text);
    assert_eq!(e.diagnostics[0].key, "upstreams[0].targets[0]");
    assert_eq!(e.diagnostics[0].location, Some((11, 12)));
    let text = base("").replace("http://127.0.0.1:8082", "127.0.0.1:8082");
    assert!(errors(&text).mentions("http://"));
}

#[test]
fn duplicate_names_are_refused() {
    let text = base("\n[[routes]]\nname = \"users\"\nprefix = \"/api/other\"\nupstream = \"users\"\n")
        .replace(
            "[[routes]]\nname = \"users\"\nprefix = \"/api/users\"",
            "[[upstreams]]\nname = \"users\"\ntargets = [\"http://127.0.0.1:9\"]\n\n[[routes]]\nname = \"users\"\nprefix = \"/api/users\"",
        );
    let e = errors(&text);
    assert!(
        e.mentions("duplicate upstream name `users`: already defined (line 9)"),
        "{e}"
    );
    assert!(
        e.mentions("duplicate route name `users`: already used"),
        "{e}"
    );
}

#[test]
fn an_unknown_key_is_located_with_a_suggestion() {
    let text = base("").replace("prefix = \"/api/users\"", "prefx = \"/api/users\"");
    let e = errors(&text);
    let d = &e.diagnostics[0];
    assert!(d.message.contains("unknown field `prefx`"), "{e}");
    assert!(d.fix.contains("did you mean `prefix`?"), "{e}");
    assert_eq!(d.location.map(|l| l.0), Some(15));
}

#[test]
fn other_route_mistakes_are_explained() {
    let text = base(
        "\n[[routes]]\nname = \"x\"\nprefix = \"/api/x/\"\nmethods = [\"GTE\"]\nstrip_prefix = true\nrewrite_prefix = \"/x\"\nupstream = \"users\"\nauth = \"public\"\nroles = [\"ADMN\"]\n",
    );
    let e = errors(&text);
    assert!(e.mentions("write \"/api/x\""), "{e}");
    assert!(
        e.mentions("`GTE` is not an HTTP method (did you mean `GET`?)"),
        "{e}"
    );
    assert!(
        e.mentions("both `strip_prefix` and `rewrite_prefix`"),
        "{e}"
    );
    assert!(
        e.mentions("unknown role `ADMN` (did you mean `ADMIN`?)"),
        "{e}"
    );
    assert!(e.mentions("not `auth = \"required\"`"), "{e}");
}

#[test]
fn a_bad_trusted_proxy_is_refused() {
    let text = format!(
        "trusted_proxies = [\"10.0.0.0/8\", \"10.0.0.0/99\"]\n{}",
        base("")
    );
    let e = errors(&text);
    assert_eq!(e.diagnostics[0].key, "trusted_proxies[1]");
}

#[test]
fn demo_is_valid_and_matches_the_demo_file() {
    let demo = Config::demo();
    demo.validate().unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/gateway.demo.toml");
    let file = Config::from_toml(&std::fs::read_to_string(path).unwrap(), path).unwrap();
    assert_eq!(file.demo, demo.demo);
    assert_eq!(file.server.listen, demo.server.listen);
    assert_eq!(file.upstreams, demo.upstreams);
    assert_eq!(file.routes, demo.routes);
    assert_eq!(file.rate_limits, demo.rate_limits);
    assert_eq!(file.quotas, demo.quotas);
    assert_eq!(file.redis.is_some(), demo.redis.is_some());
    assert_eq!(file.aggregates, demo.aggregates);
    assert_eq!(file.auth.issuer, demo.auth.issuer);
    assert_eq!(file.auth.audience, demo.auth.audience);
    assert_eq!(
        file.auth
            .hs256_secret
            .as_ref()
            .map(|s| s.expose_secret().to_owned()),
        demo.auth
            .hs256_secret
            .as_ref()
            .map(|s| s.expose_secret().to_owned()),
    );
}

#[test]
fn the_commented_example_is_valid() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/gateway.toml");
    Config::from_toml(&std::fs::read_to_string(path).unwrap(), path).unwrap();
}

#[test]
fn environment_overrides_apply_and_are_validated() {
    let dir = std::env::temp_dir().join(format!("gw-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("gw.toml");
    std::fs::write(&file, base("")).unwrap();
    let env = [
        (
            "GATEWAY__SERVER__LISTEN".to_owned(),
            "127.0.0.1:9999".to_owned(),
        ),
        ("GATEWAY__ROUTES__0__UPSTREAM".to_owned(), "nope".to_owned()),
        ("OTHER".to_owned(), "x".to_owned()),
    ];
    let e = load::load_with_env(Some(&file), load::ENV_PREFIX, env.clone()).unwrap_err();
    assert!(e.source.contains("GATEWAY__* overrides"), "{e}");
    assert!(e.mentions("unknown upstream `nope`"), "{e}");
    let ok = load::load_with_env(Some(&file), load::ENV_PREFIX, env[..1].to_vec()).unwrap();
    assert_eq!(ok.server.listen.port(), 9999);
}

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
fn retry_statuses_and_breakers_are_checked() {
    let text = base("").replace(
        "targets = [\"http://127.0.0.1:8082\"]",
        "targets = [\"http://127.0.0.1:8082\"]\nbalance = \"least_outstanding\"\n[upstreams.retry]\nstatuses = [404]\n[upstreams.breaker]\nopen_ms = 0\n[upstreams.health_check]\npath = \"healthz\"\n",
    );
    let e = errors(&text);
    assert!(e.mentions("retrying on 404"), "{e}");
    assert!(e.mentions("open for 0 ms"), "{e}");
    assert!(
        e.to_string().contains("upstreams[0].health_check.path"),
        "{e}"
    );
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
fn the_compose_file_has_the_demo_policy_with_service_addresses() {
    // docker/gateway.toml is the demo's policy for containers: same routes, limits and
    // aggregates; only the listen address and the upstream hosts differ, and the secret comes
    // from the environment. A policy change made in one file and not the other fails here.
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docker/gateway.toml");
    let text = std::fs::read_to_string(path).unwrap().replace(
        "[auth]\n",
        &format!(
            "[auth]\nhs256_secret = \"{}\"\n",
            shared::demo::HS256_SECRET
        ),
    );
    let file = Config::from_toml(&text, path).unwrap();
    let demo = Config::demo();
    assert_eq!(file.server.listen.port(), demo.server.listen.port());
    assert_eq!(file.routes, demo.routes);
    assert_eq!(file.rate_limits, demo.rate_limits);
    assert_eq!(file.quotas, demo.quotas);
    assert_eq!(file.aggregates, demo.aggregates);
    let hosts: Vec<(&str, &Vec<String>)> = file
        .upstreams
        .iter()
        .map(|u| (u.name.as_str(), &u.targets))
        .collect();
    assert_eq!(
        hosts,
        [
            ("auth", &vec!["http://auth-service:8081".to_owned()]),
            ("users", &vec!["http://user-service:8082".to_owned()]),
            ("billing", &vec!["http://billing-service:8083".to_owned()]),
        ]
    );
}
