//! `[routes.split]` through a served gateway with two real backends, "v1" and "v2": exact
//! shares by count, sticky users, a drained version, and the split named in the decision.

use crate::helpers::{Echo, TestGateway, bearer, claims, route, sign, test_config};
use gateway::config::{AuthMode, RouteConfig, SplitConfig, UpstreamConfig, WeightConfig};
use shared::Role;

fn split(sticky: bool, v1: u32, v2: u32) -> SplitConfig {
    SplitConfig {
        sticky,
        weights: vec![
            WeightConfig {
                upstream: "users".into(),
                weight: v1,
            },
            WeightConfig {
                upstream: "v2".into(),
                weight: v2,
            },
        ],
    }
}

/// A gateway whose `/api/canary` route splits between the echo backend (v1) and `v2`.
async fn gateway(split: SplitConfig) -> (TestGateway, Echo) {
    let v1 = Echo::spawn().await;
    let v2 = Echo::spawn().await;
    let mut config = test_config(v1.addr).await;
    config.upstreams.push(UpstreamConfig::new(
        "v2",
        vec![format!("http://{}", v2.addr)],
    ));
    config.routes.push(RouteConfig {
        split: Some(split),
        ..route("canary", "/api/canary", "users", AuthMode::Optional)
    });
    (TestGateway::serve_with(v1, config).await, v2)
}

#[tokio::test]
async fn every_hundred_requests_hold_exactly_the_weights() {
    let (gw, v2) = gateway(split(false, 90, 10)).await;
    for _ in 0..100 {
        let response = gw.get("/api/canary/x").send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
    assert_eq!(v2.seen().len(), 10);
    assert_eq!(gw.echo.seen().len(), 90);
}

#[tokio::test]
async fn a_sticky_user_stays_on_one_version_and_a_zero_weight_drains() {
    let (gw, v2) = gateway(split(true, 50, 50)).await;
    // Twenty users, each asking five times: each user's five land on one side.
    let mut on_v2 = 0;
    for user in 0..20 {
        let mut c = claims(Role::Student);
        c.sub = format!("user-{user}");
        let auth = bearer(&sign(&c));
        let before = v2.seen().len();
        for _ in 0..5 {
            gw.get("/api/canary/x")
                .header("authorization", &auth)
                .send()
                .await
                .unwrap();
        }
        let here = v2.seen().len() - before;
        assert!(
            here == 0 || here == 5,
            "user-{user} flipped: {here} of 5 on v2"
        );
        on_v2 += usize::from(here == 5);
    }
    assert!(
        (3..=17).contains(&on_v2),
        "{on_v2} of 20 users on v2 at 50 %"
    );

    let (gw, v2) = gateway(split(true, 0, 1)).await;
    for _ in 0..10 {
        gw.get("/api/canary/x").send().await.unwrap();
    }
    assert_eq!(v2.seen().len(), 10);
    assert!(gw.echo.seen().is_empty(), "a weight of 0 drains v1");
}

#[tokio::test]
async fn the_decision_record_names_the_chosen_version() {
    let (gw, _v2) = gateway(split(false, 0, 1)).await;
    let response = gw.get("/api/canary/x").send().await.unwrap();
    let id = response.headers()["x-gateway-decision"]
        .to_str()
        .unwrap()
        .to_owned();
    let current = gw.live().current();
    let id = gateway::decision::DecisionId::parse(&id).unwrap();
    let json = current.decisions.get(id, None).expect("the record is kept");
    let checks = json["checks"].as_array().unwrap();
    let split = checks
        .iter()
        .find(|c| c["check"] == "split")
        .expect("a split check");
    assert_eq!(split["detail"], "v2: weight 1 of 1, by count");
}

/// The admin listener's problem+json: its status and reason (it sets no request id).
async fn admin_problem(
    response: reqwest::Response,
    status: u16,
    reason: &str,
) -> serde_json::Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["reason"], reason, "{body}");
    body
}

#[tokio::test]
async fn the_admin_listener_changes_a_split_as_a_reload_and_refuses_a_wrong_one() {
    use crate::observability::AdminGateway;
    let v2 = Echo::spawn().await;
    let v1 = Echo::spawn().await;
    let mut config = test_config(v1.addr).await;
    config.upstreams.push(UpstreamConfig::new(
        "v2",
        vec![format!("http://{}", v2.addr)],
    ));
    config.routes.push(RouteConfig {
        split: Some(split(false, 1, 0)),
        ..route("canary", "/api/canary", "users", AuthMode::Optional)
    });
    let gw = AdminGateway::start_with(v1, config).await;
    let put = |body: &'static str, host: &'static str| {
        gw.http
            .put(format!("http://{}/routes/canary/split", gw.admin_addr))
            .header("host", host)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let all_to_v2 = r#"{"sticky": false, "weights": [{"upstream": "users", "weight": 0}, {"upstream": "v2", "weight": 1}]}"#;
    let answer = put(all_to_v2, "localhost:9080").await.unwrap();
    assert_eq!(answer.status(), 200);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["version"], 2);
    for _ in 0..3 {
        gw.get("/api/canary/x").send().await.unwrap();
    }
    assert_eq!(v2.seen().len(), 3);

    // Every weight 0: refused with the located message; the split in use stays.
    let zero = r#"{"sticky": false, "weights": [{"upstream": "users", "weight": 0}, {"upstream": "v2", "weight": 0}]}"#;
    let refused = put(zero, "127.0.0.1:9080").await.unwrap();
    let problem = admin_problem(refused, 400, "split_refused").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("split.weights`: every weight is 0"),
        "{problem}"
    );
    // Not JSON, an unknown route, a host name that is not this machine's (DNS rebinding).
    admin_problem(
        put("weights=1", "localhost").await.unwrap(),
        400,
        "bad_split",
    )
    .await;
    let unknown = gw
        .http
        .put(format!("http://{}/routes/nope/split", gw.admin_addr))
        .body(all_to_v2)
        .send()
        .await
        .unwrap();
    admin_problem(unknown, 404, "no_such_route").await;
    admin_problem(
        put(all_to_v2, "evil.example:9080").await.unwrap(),
        403,
        "admin_host_refused",
    )
    .await;
    gw.get("/api/canary/x").send().await.unwrap();
    assert_eq!(v2.seen().len(), 4, "the accepted split is still in use");
}
