//! A route's optional sections: an origin that is not an origin, a rewrite of a header the
//! gateway owns, a split whose weights are all 0, a cache that keeps nothing — each located.

use super::{AUTH_AND_USERS, Config, errors};

/// A valid file with a second upstream, `users-v2`, and one route whose sections follow.
fn with_sections(sections: &str) -> String {
    format!(
        r#"[server]
listen = "127.0.0.1:0"

{AUTH_AND_USERS}
[[upstreams]]
name = "users-v2"
targets = ["http://127.0.0.1:8092"]

[[routes]]
name = "users"
prefix = "/api/users"
upstream = "users"
{sections}"#
    )
}

#[test]
fn every_section_is_accepted_when_right() {
    let text = with_sections(
        r#"
[routes.cors]
allow_origins = ["https://shop.example.edu", "http://localhost:3000"]
allow_methods = ["GET", "PUT"]
allow_headers = ["Authorization"]
allow_credentials = true

[routes.headers.request]
remove = ["Cookie"]
set = { "X-Api-Version" = "2" }

[routes.headers.response]
add = { "X-Served-By" = "gateway" }

[routes.split]
sticky = true
weights = [{ upstream = "users", weight = 90 }, { upstream = "users-v2", weight = 10 }]

[routes.response_cache]
ttl_ms = 5000
"#,
    );
    let config = Config::from_toml(&text, "gw.toml").unwrap();
    let route = &config.routes[0];
    assert_eq!(route.cors.as_ref().unwrap().max_age_s, 600);
    assert_eq!(route.split.as_ref().unwrap().weights[1].weight, 10);
    assert!(!route.response_cache.as_ref().unwrap().shared);
}

#[test]
fn an_origin_pattern_that_is_not_an_origin_is_located() {
    let text = with_sections(
        "\n[routes.cors]\nallow_origins = [\n  \"https://ok.example.edu\",\n  \"https://*.example.edu\",\n  \"https://shop.example.edu/\",\n  \"null\",\n  \"shop.example.edu\",\n]\nallow_methods = [\"GTE\"]\nmax_age_s = 999999\n",
    );
    let e = errors(&text);
    let at = |key: &str| {
        e.diagnostics
            .iter()
            .find(|d| d.key == key)
            .unwrap_or_else(|| panic!("no diagnostic at {key}: {e}"))
    };
    let wildcard = at("routes[0].cors.allow_origins[1]");
    assert_eq!(wildcard.location.map(|l| l.0), Some(25), "{e}");
    assert!(
        wildcard
            .message
            .contains("`https://*.example.edu` is not an origin: origins are matched exactly"),
        "{e}"
    );
    assert!(wildcard.fix.contains("scheme://host[:port]"), "{e}");
    assert!(
        at("routes[0].cors.allow_origins[2]")
            .message
            .contains("no path"),
        "{e}"
    );
    assert!(
        at("routes[0].cors.allow_origins[3]")
            .message
            .contains("sandboxed"),
        "{e}"
    );
    assert!(
        at("routes[0].cors.allow_origins[4]")
            .message
            .contains("no scheme"),
        "{e}"
    );
    assert!(
        e.mentions("`GTE` is not an HTTP method (did you mean `GET`?)"),
        "{e}"
    );
    assert!(
        e.mentions("longer than any browser keeps a preflight"),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("gw.toml:25:3: `routes[0].cors.allow_origins[1]`"),
        "{e}"
    );
}

#[test]
fn a_rewrite_of_an_owned_header_is_located() {
    let text = with_sections(
        "\n[routes.headers.request]\nset = { \"X-User-Role\" = \"ADMIN\" }\nremove = [\"X-Request-Id\"]\n\n[routes.headers.response]\nadd = { \"X-Api\" = \"1\", \"Age\" = \"0\" }\n",
    );
    let e = errors(&text);
    let d = e
        .diagnostics
        .iter()
        .find(|d| d.key == "routes[0].headers.request.set")
        .unwrap_or_else(|| panic!("{e}"));
    assert_eq!(d.location.map(|l| l.0), Some(23), "{e}");
    assert!(
        d.message
            .contains("`X-User-Role` is set by the gateway itself on the request"),
        "{e}"
    );
    assert!(
        e.mentions("`X-Request-Id` is set by the gateway itself"),
        "{e}"
    );
    assert!(
        e.mentions("`Age` is set by the gateway itself on the response"),
        "{e}"
    );
    assert!(!e.mentions("`X-Api`"), "{e}");
}

#[test]
fn all_zero_weights_and_unknown_upstreams_are_located() {
    let text = with_sections(
        "\n[routes.split]\nweights = [\n  { upstream = \"users\", weight = 0 },\n  { upstream = \"user-v2\", weight = 0 },\n]\n",
    );
    let e = errors(&text);
    let zero = e
        .diagnostics
        .iter()
        .find(|d| d.message.contains("every weight is 0"))
        .unwrap_or_else(|| panic!("{e}"));
    assert_eq!(zero.key, "routes[0].split.weights");
    assert_eq!(zero.location.map(|l| l.0), Some(23), "{e}");
    assert!(zero.fix.contains("0 drains one version, not all"), "{e}");
    assert!(
        e.mentions("unknown upstream `user-v2` (did you mean `users-v2`?)"),
        "{e}"
    );

    let text =
        with_sections("\n[routes.split]\nweights = [{ upstream = \"users-v2\", weight = 1 }]\n");
    let e = errors(&text);
    assert!(
        e.mentions("the route's own upstream `users` is not in its split"),
        "{e}"
    );
}

#[test]
fn a_cache_that_keeps_nothing_or_on_a_route_without_get_is_refused() {
    let text = with_sections(
        "methods = [\"POST\"]\n\n[routes.response_cache]\nttl_ms = 0\nmax_bytes = 10\nmax_entry_bytes = 100\n",
    );
    let e = errors(&text);
    assert!(e.mentions("a zero here keeps nothing"), "{e}");
    assert!(
        e.mentions("one entry may be larger than the whole cache"),
        "{e}"
    );
    assert!(e.mentions("only GET answers are cached"), "{e}");
    let text = with_sections("\n[routes.response_cache]\nttl = 5\n");
    let e = errors(&text);
    assert!(e.mentions("unknown field `ttl`"), "{e}");
}
