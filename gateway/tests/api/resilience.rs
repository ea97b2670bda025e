//! Several targets per upstream: load balancing, circuit breakers (with a hand-moved clock),
//! retries that never repeat a POST, and the retry budget.

use crate::helpers::*;
use gateway::config::{AuthMode, BreakerConfig, RetryConfig, UpstreamConfig};
use shared::clock::ManualClock;
use std::time::Duration;

/// A gateway whose route `/api/pool` goes (prefix stripped) to an upstream with `targets`.
async fn pool(echo: Echo, upstream: UpstreamConfig, clock: &ManualClock) -> TestGateway {
    let mut config = test_config(echo.addr).await;
    config.upstreams.push(upstream);
    config
        .routes
        .push(route("pool", "/api/pool", "pool", AuthMode::Public));
    TestGateway::serve_with_clock(echo, config, clock.shared()).await
}

fn upstream(targets: Vec<String>) -> UpstreamConfig {
    UpstreamConfig::new("pool", targets)
}

#[tokio::test]
async fn traffic_is_spread_round_robin_over_the_targets() {
    let (a, b) = (Echo::spawn().await, Echo::spawn().await);
    let targets = vec![format!("http://{}", a.addr), format!("http://{}", b.addr)];
    let gw = pool(a, upstream(targets), &ManualClock::new()).await;
    for _ in 0..10 {
        assert_eq!(gw.get("/api/pool/x").send().await.unwrap().status(), 200);
    }
    assert_eq!((gw.echo.seen().len(), b.seen().len()), (5, 5));
}

#[tokio::test]
async fn the_breaker_opens_answers_circuit_open_fast_then_half_opens_and_closes() {
    let echo = Echo::spawn().await;
    let absent = absent_addr().await;
    let clock = ManualClock::new();
    let config = UpstreamConfig {
        breaker: BreakerConfig {
            consecutive_failures: 3,
            open_ms: 5_000,
        },
        retry: RetryConfig {
            attempts: 0,
            ..RetryConfig::default()
        },
        ..upstream(vec![format!("http://{absent}")])
    };
    let gw = pool(echo, config, &clock).await;
    for _ in 0..3 {
        assert_problem(
            gw.get("/api/pool/x").send().await.unwrap(),
            502,
            "upstream_unavailable",
        )
        .await;
    }
    // Open: refused at once, nothing is attempted.
    let response = gw.get("/api/pool/x").send().await.unwrap();
    assert_eq!(response.headers()["retry-after"], "1");
    assert_problem(response, 503, "circuit_open").await;
    let (_, _, ready) = parts(gw.get("/readyz").send().await.unwrap()).await;
    assert!(
        ready["detail"].as_str().unwrap().contains("circuit=open"),
        "{ready}"
    );

    // Still open just before its time; the probe after it fails (still absent) and reopens.
    clock.advance(Duration::from_millis(4_999));
    assert_problem(
        gw.get("/api/pool/x").send().await.unwrap(),
        503,
        "circuit_open",
    )
    .await;
    clock.advance(Duration::from_millis(1));
    assert_problem(
        gw.get("/api/pool/x").send().await.unwrap(),
        502,
        "upstream_unavailable",
    )
    .await;
    assert_problem(
        gw.get("/api/pool/x").send().await.unwrap(),
        503,
        "circuit_open",
    )
    .await;

    // The target comes back: the next probe succeeds and the circuit closes.
    let listener = tokio::net::TcpListener::bind(absent).await.unwrap();
    let app =
        axum::Router::new().fallback(|| async { axum::Json(serde_json::json!({"back": true})) });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    clock.advance(Duration::from_millis(5_000));
    for _ in 0..3 {
        let (status, _, body) = parts(gw.get("/api/pool/x").send().await.unwrap()).await;
        assert_eq!((status, &body["back"]), (200, &serde_json::json!(true)));
    }
}

#[tokio::test]
async fn a_dead_target_costs_no_failed_get_and_its_breaker_takes_it_out() {
    let echo = Echo::spawn().await;
    let absent = absent_addr().await;
    let targets = vec![format!("http://{absent}"), format!("http://{}", echo.addr)];
    let config = UpstreamConfig {
        breaker: BreakerConfig {
            consecutive_failures: 2,
            open_ms: 60_000,
        },
        ..upstream(targets)
    };
    let gw = pool(echo, config, &ManualClock::new()).await;
    for _ in 0..20 {
        let response = gw
            .get("/api/pool/x")
            .header("x-client-note", "kept")
            .send()
            .await
            .unwrap();
        let (status, _, body) = parts(response).await;
        assert_eq!(status, 200);
        // Whichever target refused first, the request that arrived is whole: the client's
        // headers, the gateway's, and the live target's own Host.
        let headers = &body["headers"];
        assert_eq!(headers["x-client-note"][0], "kept", "{headers}");
        assert!(headers["x-request-id"][0].is_string(), "{headers}");
        assert!(headers["x-forwarded-for"][0].is_string(), "{headers}");
        assert_eq!(headers["host"][0], gw.echo.addr.to_string(), "{headers}");
    }
    assert_eq!(
        gw.echo.seen().len(),
        20,
        "every GET reached the live target once"
    );
}

#[tokio::test]
async fn a_post_is_never_retried_on_connection_failure_or_status() {
    // Connection failure: POSTs routed to the dead target fail; none is sent twice.
    let echo = Echo::spawn().await;
    let absent = absent_addr().await;
    let targets = vec![format!("http://{absent}"), format!("http://{}", echo.addr)];
    let config = UpstreamConfig {
        breaker: BreakerConfig {
            consecutive_failures: 0,
            ..BreakerConfig::default()
        },
        ..upstream(targets)
    };
    let gw = pool(echo, config, &ManualClock::new()).await;
    let mut ok = 0;
    for _ in 0..10 {
        let status = gw
            .http
            .post(gw.url("/api/pool/x"))
            .body("{}")
            .send()
            .await
            .unwrap()
            .status();
        if status == 200 {
            ok += 1;
        } else {
            assert_eq!(status, 502);
        }
    }
    assert_eq!(
        ok, 5,
        "round robin: half the POSTs hit the dead target and are not retried"
    );
    assert_eq!(gw.echo.seen().len(), 5);

    // A retryable status: the counting backend sees each POST once, each GET twice.
    let echo = Echo::spawn().await;
    let config = UpstreamConfig {
        retry: RetryConfig {
            attempts: 1,
            statuses: vec![503],
            ..RetryConfig::default()
        },
        breaker: BreakerConfig {
            consecutive_failures: 0,
            ..BreakerConfig::default()
        },
        ..upstream(vec![format!("http://{}", echo.addr)])
    };
    let gw = pool(echo, config, &ManualClock::new()).await;
    for _ in 0..3 {
        let post = gw
            .http
            .post(gw.url("/api/pool/status-503"))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(post.status(), 503);
    }
    assert_eq!(gw.echo.seen().len(), 3, "{:?}", gw.echo.seen());
    let get = gw.get("/api/pool/status-503").send().await.unwrap();
    assert_eq!(get.status(), 503, "the last answer is passed on");
    assert_eq!(gw.echo.seen().len(), 5, "one GET, two attempts");
}

#[tokio::test]
async fn the_retry_budget_caps_retries_when_everything_fails() {
    let echo = Echo::spawn().await;
    let config = UpstreamConfig {
        retry: RetryConfig {
            attempts: 3,
            statuses: vec![503],
            budget_percent: 0,
            min_retries: 2,
        },
        breaker: BreakerConfig {
            consecutive_failures: 0,
            ..BreakerConfig::default()
        },
        ..upstream(vec![format!("http://{}", echo.addr)])
    };
    let gw = pool(echo, config, &ManualClock::new()).await;
    for _ in 0..5 {
        assert_eq!(
            gw.get("/api/pool/status-503")
                .send()
                .await
                .unwrap()
                .status(),
            503
        );
    }
    // Without a budget: 5 × 4 = 20 attempts. With it: 5 requests + the 2 banked retries.
    assert_eq!(gw.echo.seen().len(), 7);
}

#[tokio::test]
async fn the_admin_readyz_reports_every_target() {
    let echo = Echo::spawn().await;
    let absent = absent_addr().await;
    let targets = vec![format!("http://{absent}"), format!("http://{}", echo.addr)];
    let mut config = test_config(echo.addr).await;
    config.upstreams.retain(|u| u.name != "down");
    config.routes.retain(|r| r.upstream != "down");
    config.upstreams.push(upstream(targets));
    // The admin listener's `/readyz` names every target (the public one only says ready).
    let gw = crate::observability::AdminGateway::start_with(echo, config).await;
    let (status, _, body) = parts(gw.admin("/readyz").send().await.unwrap()).await;
    assert_eq!(status, 200, "one usable target is enough: {body}");
    let pool = &body["upstreams"]["pool"];
    assert_eq!(pool["usable_targets"], 1);
    assert_eq!(pool["targets"][0]["healthy"], false);
    assert_eq!(pool["targets"][1]["healthy"], true);
    assert_eq!(pool["targets"][1]["circuit"], "closed");
}
