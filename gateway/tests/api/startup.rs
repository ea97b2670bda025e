//! Start-up refusals: a gateway that would be unsafe does not start, and says how to fix it.

use gateway::Config;

#[tokio::test]
async fn the_public_demo_secret_is_refused_outside_demo_mode() {
    // The demo configuration (its [auth] holds the public demo secret) with demo mode off.
    let mut config = Config::demo();
    config.demo = false;
    config.server.listen = "127.0.0.1:0".parse().unwrap();
    let error = match gateway::build(config).await {
        Ok(_) => panic!("the gateway started with the public demo secret and demo mode off"),
        Err(error) => format!("{error:#}"),
    };
    test_support::tokens::assert_refuses_the_public_demo_secret(&error);
    assert!(error.contains("hs256_secret"), "names the key: {error}");
}
