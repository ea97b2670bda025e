//! Every service's `/metrics` after known traffic: the counts a test can predict, and
//! `promtool check metrics` (Prometheus's own linter) on each page.

use crate::helpers::{Service, TestDemo};
use serde_json::json;
use test_support::prometheus_sample as sample;

/// `promtool check metrics` on `text`: `None` when promtool is not installed (outside CI).
fn promtool(text: &str) -> Option<std::process::Output> {
    use std::io::Write;
    let mut child = match std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(_) => {
            assert_ne!(
                std::env::var("CI").as_deref(),
                Ok("true"),
                "promtool is missing in CI: .ci/run installs Debian's `prometheus`"
            );
            return None;
        }
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    Some(child.wait_with_output().unwrap())
}

#[tokio::test]
async fn every_service_counts_known_traffic_in_valid_prometheus_text() {
    let t = TestDemo::start().await;
    // Known traffic: one good login, two bad ones, a refresh token used twice (reuse), two
    // profile reads, one invoice list.
    let login = t.login("student@example.edu", "student123").await;
    for _ in 0..2 {
        let response = t
            .client
            .post(t.gateway("/api/auth/login"))
            .json(&json!({"email": "student@example.edu", "password": "wrong-password"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
    }
    let refresh = login["refresh_token"].as_str().unwrap();
    for expected in [200, 401] {
        let response = t
            .client
            .post(t.gateway("/api/auth/refresh"))
            .json(&json!({"refresh_token": refresh}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), expected);
    }
    let token = login["access_token"].as_str().unwrap();
    for _ in 0..2 {
        let r = t
            .client
            .get(t.gateway("/api/users/me"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let r = t
        .client
        .get(t.gateway("/api/billing/invoices"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let scrape = |url: String| {
        let client = t.client.clone();
        async move {
            let response = client.get(&url).send().await.unwrap();
            assert_eq!(response.status(), 200, "{url}");
            response.text().await.unwrap()
        }
    };
    let auth = scrape(t.direct(Service::Auth, "/metrics")).await;
    let users = scrape(t.direct(Service::Users, "/metrics")).await;
    let billing = scrape(t.direct(Service::Billing, "/metrics")).await;
    let gateway = scrape(format!("http://{}/metrics", t.demo.addresses.admin)).await;

    let logins = |outcome| sample(&auth, "auth_logins_total", &[("outcome", outcome)]);
    assert_eq!(logins("success"), Some(1.0), "{auth}");
    assert_eq!(logins("invalid_credentials"), Some(2.0), "{auth}");
    assert_eq!(logins("throttled"), Some(0.0), "{auth}");
    assert_eq!(
        sample(&auth, "auth_refresh_reuse_detected_total", &[]),
        Some(1.0),
        "{auth}"
    );
    assert_eq!(
        sample(
            &auth,
            "http_server_requests_total",
            &[("route", "/auth/login"), ("status_class", "4xx")]
        ),
        Some(2.0),
        "{auth}"
    );
    assert_eq!(
        sample(
            &users,
            "http_server_requests_total",
            &[
                ("route", "/users/me"),
                ("method", "GET"),
                ("status_class", "2xx")
            ]
        ),
        Some(2.0),
        "{users}"
    );
    assert_eq!(
        sample(
            &billing,
            "http_server_requests_total",
            &[("route", "/billing/invoices"), ("status_class", "2xx")]
        ),
        Some(1.0),
        "{billing}"
    );
    assert_eq!(
        sample(
            &gateway,
            "gateway_requests_total",
            &[("route", "users"), ("status_class", "2xx")]
        ),
        Some(2.0),
        "{gateway}"
    );

    for (service, text) in [
        ("auth-service", &auth),
        ("user-service", &users),
        ("billing-service", &billing),
        ("gateway", &gateway),
    ] {
        if let Some(output) = promtool(text) {
            assert!(output.status.success(), "{service}: {output:?}\n{text}");
            assert!(
                output.stdout.is_empty() && output.stderr.is_empty(),
                "{service}: promtool found problems: {output:?}"
            );
        }
    }
}
