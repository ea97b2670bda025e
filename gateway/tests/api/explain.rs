//! `gateway explain-route METHOD PATH [--config FILE]`: the route a request would take and the
//! policies that apply, from the configuration file alone.

use std::process::{Command, Output};

const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/gateway.demo.toml");

fn explain(method: &str, path: &str) -> (Output, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .args(["explain-route", method, path, "--config", DEMO])
        .env_remove("GATEWAY__SERVER__LISTEN")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (output, stdout)
}

#[test]
fn a_public_path_needs_no_token_and_names_its_login_limits() {
    let (output, text) = explain("POST", "/api/auth/login");
    assert!(output.status.success(), "{output:?}");
    assert!(
        text.contains("route        login (prefix /api/auth/login)"),
        "{text}"
    );
    assert!(text.contains("forwarded as /auth/login"), "{text}");
    assert!(
        text.contains("token        public: the token is not read"),
        "{text}"
    );
    assert!(text.contains("login-ip (60 per 60 s, by ip)"), "{text}");
    // No per-account policy at the edge: only the auth-service knows which logins failed.
    assert!(!text.contains("login-account"), "{text}");
}

#[test]
fn a_protected_path_needs_a_valid_token() {
    let (output, text) = explain("GET", "/api/billing/invoices");
    assert!(output.status.success(), "{output:?}");
    assert!(
        text.contains("route        billing (prefix /api/billing)"),
        "{text}"
    );
    assert!(
        text.contains(
            "upstream     billing: http://127.0.0.1:8083, forwarded as /billing/invoices"
        ),
        "{text}"
    );
    assert!(text.contains("token        required"), "{text}");
    assert!(text.contains("roles        any valid token"), "{text}");
    assert!(
        text.contains("per-user (600 per 60 s, by user), daily (10000 per 86400 s, by user)"),
        "{text}"
    );
}

#[test]
fn the_user_list_is_admin_only_and_me_is_not() {
    let (output, text) = explain("GET", "/api/users");
    assert!(output.status.success(), "{output:?}");
    assert!(
        text.contains("route        users-list (prefix /api/users, exact)"),
        "{text}"
    );
    assert!(
        text.contains("roles        ADMIN (403 role_required otherwise)"),
        "{text}"
    );
    let (_, me) = explain("GET", "/api/users/me");
    assert!(
        me.contains("route        users (prefix /api/users)"),
        "{me}"
    );
    assert!(me.contains("roles        any valid token"), "{me}");
}

#[test]
fn an_aggregate_lists_its_calls() {
    let (output, text) = explain("GET", "/api/dashboard");
    assert!(output.status.success(), "{output:?}");
    assert!(
        text.contains("aggregate    dashboard (exact path /api/dashboard)"),
        "{text}"
    );
    assert!(
        text.contains("call         profile → users /users/me (required, 2000 ms)"),
        "{text}"
    );
    assert!(
        text.contains("call         invoices → billing /billing/invoices (optional, 2000 ms)"),
        "{text}"
    );
    assert!(text.contains("token        required"), "{text}");
}

#[test]
fn an_unknown_path_or_a_bad_spelling_is_refused_with_its_reason() {
    let (output, text) = explain("GET", "/api/nowhere");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(
        text.contains("refused      404 no_route: no route matches this path"),
        "{text}"
    );
    // Dot segments are resolved as the gateway resolves them; an encoded slash is refused.
    let (_, text) = explain("GET", "/api/users/../../etc");
    assert!(
        text.contains("path         /etc\n  refused      404 no_route"),
        "{text}"
    );
    let (output, text) = explain("GET", "/api/users%2F..%2Fadmin");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(text.contains("refused      400 bad_path"), "{text}");
    let (output, text) = explain("DELETE", "/api/dashboard");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(text.contains("405 method_not_allowed"), "{text}");
}

#[test]
fn without_a_method_and_path_it_shows_its_usage() {
    let output = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .arg("explain-route")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("usage: gateway explain-route"));
}

#[test]
fn a_scoped_route_and_aggregate_name_their_scopes_and_oauth_routes_their_error_format() {
    let (output, text) = explain("GET", "/api/billing/invoices");
    assert!(output.status.success(), "{output:?}");
    assert!(
        text.contains("scopes       billing billing:read (403 insufficient_scope otherwise"),
        "{text}"
    );
    let (_, text) = explain("POST", "/api/billing/invoices");
    assert!(
        text.contains("route        billing-write (prefix /api/billing)"),
        "{text}"
    );
    assert!(text.contains("scopes       billing (403"), "{text}");
    let (_, text) = explain("GET", "/api/dashboard");
    assert!(text.contains("scopes       profile (403"), "{text}");
    let (_, text) = explain("POST", "/api/oauth/token");
    assert!(
        text.contains("errors       problem+json with RFC 6749 `error` and `error_description`"),
        "{text}"
    );
    assert!(!text.contains("scopes "), "{text}");
}

#[test]
fn a_routes_optional_sections_are_named() {
    let (output, text) = explain("GET", "/api/billing/summary");
    assert!(output.status.success(), "{output:?}");
    for expected in [
        "cors         origins http://localhost:3000; methods GET; preflights answered by the gateway",
        "headers      request: remove Cookie; response: -",
        "split        billing 100, billing-v2 0 (sticky per user)",
    ] {
        assert!(text.contains(expected), "`{expected}` missing:\n{text}");
    }
    let (_, text) = explain("GET", "/.well-known/jwks.json");
    assert!(
        text.contains("cached       GET answers kept 60000 ms, shared (X-Gateway-Cache)"),
        "{text}"
    );
}
