//! The demo configuration in code, `gateway.demo.toml` and `docker/gateway.toml` stay in step.

use super::Config;
use secrecy::ExposeSecret;

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
            (
                "billing-v2",
                &vec!["http://billing-service-v2:8083".to_owned()]
            ),
        ]
    );
}
