//! One public URL: the launcher derives it from the gateway's bound port, and it is the issuer
//! the auth-service signs and advertises and every verifier expects — whatever `Host` or
//! `X-Forwarded-Host` a client sends.

use crate::helpers::{TestDemo, decode_parts};
use serde_json::Value;

async fn metadata(demo: &TestDemo, headers: &[(&str, &str)]) -> Value {
    let mut request = demo
        .client
        .get(demo.gateway("/.well-known/oauth-authorization-server"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn on_a_port_other_than_8080_the_issuer_and_the_metadata_name_that_port() {
    let demo = TestDemo::start().await;
    let port = demo.demo.addresses.gateway.port();
    assert_ne!(port, 8080);
    let public_url = format!("http://localhost:{port}");
    assert_eq!(demo.demo.public_url, public_url);

    let document = metadata(&demo, &[]).await;
    assert_eq!(document["issuer"], public_url.as_str());
    assert_eq!(
        document["token_endpoint"],
        format!("{public_url}/api/oauth/token")
    );
    assert_eq!(
        document["jwks_uri"],
        format!("{public_url}/.well-known/jwks.json")
    );

    // The token names it, and the gateway and the backends accept it.
    let token = demo.student_token().await;
    let (_, payload) = decode_parts(&token);
    assert_eq!(payload["iss"], public_url.as_str());
    for path in ["/api/users/me", "/api/billing/summary", "/api/dashboard"] {
        let response = demo.get(path, &token).await;
        assert_eq!(response.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn a_clients_host_or_forwarded_host_changes_neither_the_metadata_nor_the_issuer() {
    let demo = TestDemo::start().await;
    let honest = metadata(&demo, &[]).await;
    for headers in [
        &[("host", "evil.example")][..],
        &[("x-forwarded-host", "evil.example")][..],
        &[("forwarded", "host=evil.example;proto=https")][..],
    ] {
        let document = metadata(&demo, headers).await;
        assert_eq!(document, honest, "{headers:?}");
        assert!(!document.to_string().contains("evil"), "{document}");

        let mut login = demo
            .client
            .post(demo.gateway("/api/auth/login"))
            .json(&serde_json::json!({"email": "student@example.edu", "password": "student123"}));
        for (name, value) in headers {
            login = login.header(*name, *value);
        }
        let body: Value = login.send().await.unwrap().json().await.unwrap();
        let (_, payload) = decode_parts(body["access_token"].as_str().unwrap());
        assert_eq!(payload["iss"], demo.demo.public_url.as_str(), "{headers:?}");
    }
}
