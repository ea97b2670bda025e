//! Two user-service instances behind one upstream: spread, one killed, one back.

use crate::helpers::*;
use api_gateway_pattern::{DemoOptions, Ports, Service};
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test]
async fn two_user_services_share_traffic_survive_a_kill_and_rejoin() {
    let t = TestDemo::start_with(DemoOptions {
        extra_user_services: 1,
        configure_gateway: Some(Box::new(|config| {
            let users = config
                .upstreams
                .iter_mut()
                .find(|u| u.name == "users")
                .unwrap();
            users.breaker.consecutive_failures = 2;
            users.breaker.open_ms = 300;
        })),
        ..DemoOptions::new(Ports::ANY)
    })
    .await;
    let token = t.student_token().await;
    // Each instance has its own in-memory data: rename the student on the extra one only, so
    // every answer says which instance gave it.
    let extra = t.demo.extra_users[0];
    let renamed = t
        .client
        .put(format!("http://{extra}/users/me"))
        .bearer_auth(&token)
        .json(&json!({"name": "Served By Extra"}))
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.status(), 200);
    let name_of = |body: serde_json::Value| body["name"].as_str().unwrap().to_owned();

    let mut from_extra = 0;
    for _ in 0..20 {
        let response = t.get("/api/users/me", &token).await;
        assert_eq!(response.status(), 200);
        if name_of(response.json().await.unwrap()) == "Served By Extra" {
            from_extra += 1;
        }
    }
    assert_eq!(from_extra, 10, "round robin over two instances");

    // The extra instance dies: no GET fails, before or after its breaker opens.
    let mut demo = t.demo;
    demo.stop_service(Service::ExtraUsers(0)).await.unwrap();
    let t = TestDemo {
        demo,
        client: t.client,
    };
    for i in 0..30 {
        let response = t.get("/api/users/me", &token).await;
        assert_eq!(response.status(), 200, "request {i} after the kill");
        assert_ne!(name_of(response.json().await.unwrap()), "Served By Extra");
    }

    // It comes back (fresh data, so the default name): within a few breaker periods it serves
    // again, seen by its own request counter — the rename is applied anew on it.
    let mut demo = t.demo;
    demo.restart_service(Service::ExtraUsers(0)).await.unwrap();
    let t = TestDemo {
        demo,
        client: t.client,
    };
    let renamed = t
        .client
        .put(format!("http://{extra}/users/me"))
        .bearer_auth(&token)
        .json(&json!({"name": "Served By Extra"}))
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut rejoined = false;
    while Instant::now() < deadline && !rejoined {
        let response = t.get("/api/users/me", &token).await;
        assert_eq!(response.status(), 200);
        rejoined = name_of(response.json().await.unwrap()) == "Served By Extra";
        if !rejoined {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert!(rejoined, "the restarted instance gets traffic again");
}
