//! `[admin]`: a listener other hosts can reach needs a token, and the token must be long.

use super::{AUTH_AND_USERS, Config, errors};

fn with_admin(admin: &str) -> String {
    format!("[admin]\n{admin}\n\n{AUTH_AND_USERS}")
}

#[test]
fn loopback_without_a_token_is_fine() {
    let config = Config::from_toml(&with_admin("listen = \"127.0.0.1:9080\""), "gw.toml").unwrap();
    assert_eq!(config.admin.listen.port(), 9080);
    let config = Config::from_toml(AUTH_AND_USERS, "gw.toml").unwrap();
    assert!(
        config.admin.listen.ip().is_loopback(),
        "loopback by default"
    );
}

#[test]
fn a_public_admin_listener_without_a_token_is_refused_at_its_line() {
    let e = errors(&with_admin("listen = \"0.0.0.0:9080\""));
    let d = &e.diagnostics[0];
    assert_eq!(d.key, "admin.listen");
    assert_eq!(d.location.map(|l| l.0), Some(2));
    assert!(d.message.contains("no `admin.token`"), "{e}");
    assert!(d.fix.contains("GATEWAY__ADMIN__TOKEN"), "{e}");
}

#[test]
fn a_public_admin_listener_with_a_token_is_accepted() {
    let text = with_admin("listen = \"0.0.0.0:9080\"\ntoken = \"0123456789abcdef0123\"");
    let config = Config::from_toml(&text, "gw.toml").unwrap();
    // The token is a secret: it never shows in a `Debug` print.
    assert!(!format!("{config:?}").contains("0123456789abcdef0123"));
}

#[test]
fn a_short_token_is_refused() {
    let e = errors(&with_admin("listen = \"0.0.0.0:9080\"\ntoken = \"short\""));
    assert_eq!(e.diagnostics[0].key, "admin.token");
}
