//! `[auth]`: algorithms that do not fit their keys, private keys, short or public secrets.

use super::{Config, KEYS, base, errors};

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
