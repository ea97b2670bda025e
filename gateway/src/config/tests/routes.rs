//! `[[routes]]`: unknown upstreams, shadowed routes, non-canonical paths, methods and roles.

use super::{Config, base, errors};

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
fn the_cache_mode_defaults_from_auth_and_a_wrong_value_is_located() {
    use crate::config::CacheMode;
    let text = base(
        "auth = \"public\"\n\n[[routes]]\nname = \"me\"\nprefix = \"/api/me\"\nupstream = \"users\"\n\n[[routes]]\nname = \"docs\"\nprefix = \"/api/docs\"\nupstream = \"users\"\nauth = \"public\"\ncache = \"no-store\"\n",
    );
    let config = Config::from_toml(&text, "gw.toml").unwrap();
    let modes: Vec<_> = config.routes.iter().map(|r| r.cache_mode()).collect();
    assert_eq!(
        modes,
        [CacheMode::Backend, CacheMode::NoStore, CacheMode::NoStore]
    );

    let text = base("cache = \"private\"\n");
    let e = errors(&text);
    assert!(e.mentions("unknown variant `private`"), "{e}");
    assert!(e.mentions("`no-store`") && e.mentions("`backend`"), "{e}");
    assert_eq!(e.diagnostics[0].location.map(|l| l.0), Some(17), "{e}");
}

#[test]
fn a_scope_with_a_space_or_a_quote_is_located_and_explained() {
    let text = base(
        "\n[[routes]]\nname = \"bill\"\nprefix = \"/api/bill\"\nupstream = \"users\"\nscopes = [\"billing:read\", \"billing write\", \"a\\\"b\", \"\"]\n",
    );
    let e = errors(&text);
    let keys: Vec<&str> = e.diagnostics.iter().map(|d| d.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "routes[1].scopes[1]",
            "routes[1].scopes[2]",
            "routes[1].scopes[3]"
        ],
        "{e}"
    );
    assert_eq!(e.diagnostics[0].location.map(|l| l.0), Some(22), "{e}");
    assert!(
        e.mentions(
            "the scope `billing write` contains a space, which RFC 6749 §3.3 does not allow"
        ),
        "{e}"
    );
    assert!(e.mentions("one scope per list item"), "{e}");
    assert!(e.mentions("the scope `a\\\"b` contains `\"`"), "{e}");
    assert!(e.mentions("a scope is empty"), "{e}");
}

#[test]
fn scopes_need_a_verified_token() {
    let text = base(
        "\n[[routes]]\nname = \"bill\"\nprefix = \"/api/bill\"\nupstream = \"users\"\nauth = \"optional\"\nscopes = [\"billing\"]\n",
    );
    let e = errors(&text);
    assert_eq!(e.diagnostics[0].key, "routes[1].scopes");
    assert!(
        e.mentions("scopes can only be checked on a verified token, but this route is not `auth = \"required\"`"),
        "{e}"
    );
}

#[test]
fn valid_scopes_are_accepted() {
    let text = base(
        "\n[[routes]]\nname = \"bill\"\nprefix = \"/api/bill\"\nupstream = \"users\"\nscopes = [\"billing:read\", \"https://api.example/read!\"]\n",
    );
    Config::from_toml(&text, "gw.toml").unwrap();
}
