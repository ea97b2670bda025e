//! `[[upstreams]]`: unusable URLs, repeated names, retries and breakers that cannot work.

use super::{base, errors};

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
