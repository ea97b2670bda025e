//! What the gateway tells about itself: the admin listener (metrics, routes, upstreams,
//! readiness, decisions), the explained decision of a refused request, and what never appears in
//! a decision record.

use crate::helpers::*;
use gateway::config::RouteConfig;
use serde_json::Value;
use shared::{Role, demo};
use std::net::SocketAddr;
use test_support::prometheus_sample as sample;
use tokio::sync::oneshot;

/// A gateway on real sockets, public and admin, with the test configuration or `config`.
pub struct AdminGateway {
    pub addr: SocketAddr,
    pub admin_addr: SocketAddr,
    pub http: reqwest::Client,
    _echo: Echo,
    _stop: oneshot::Sender<()>,
}

impl AdminGateway {
    pub async fn start() -> AdminGateway {
        let echo = Echo::spawn().await;
        let config = test_config(echo.addr).await;
        Self::start_with(echo, config).await
    }

    pub async fn start_with(echo: Echo, config: gateway::Config) -> AdminGateway {
        let app = gateway::build(config)
            .await
            .expect("the test config is valid");
        let (stop, stopped) = oneshot::channel::<()>();
        let (addr, admin_addr) = (app.local_addr(), app.admin_addr());
        tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        AdminGateway {
            addr,
            admin_addr,
            http: reqwest::Client::new(),
            _echo: echo,
            _stop: stop,
        }
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(format!("http://{}{path}", self.addr))
    }

    pub fn admin(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(format!("http://{}{path}", self.admin_addr))
    }

    pub async fn admin_json(&self, path: &str) -> Value {
        let response = self.admin(path).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        response.json().await.unwrap()
    }

    pub async fn metrics(&self) -> String {
        let response = self.admin("/metrics").send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain; version=0.0.4")
        );
        response.text().await.unwrap()
    }
}

#[tokio::test]
async fn metrics_count_known_traffic() {
    let gw = AdminGateway::start().await;
    let student = bearer(&token(Role::Student));
    for _ in 0..3 {
        let response = gw.get("/api/public/x").send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
    assert_eq!(gw.get("/nowhere").send().await.unwrap().status(), 404);
    for _ in 0..2 {
        let response = gw.get("/api/users/me").send().await.unwrap();
        assert_eq!(response.status(), 401);
    }
    for _ in 0..2 {
        let response = gw
            .get("/api/users/me")
            .header("authorization", &student)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }

    let text = gw.metrics().await;
    let requests = |labels: &[(&str, &str)]| sample(&text, "gateway_requests_total", labels);
    let ok = [
        ("route", "public"),
        ("method", "GET"),
        ("status_class", "2xx"),
    ];
    assert_eq!(
        requests(&[ok[0], ok[1], ok[2], ("reason", "none")]),
        Some(3.0),
        "{text}"
    );
    let no_route = [
        ("route", "(none)"),
        ("status_class", "4xx"),
        ("reason", "no_route"),
    ];
    assert_eq!(requests(&no_route), Some(1.0), "{text}");
    assert_eq!(
        requests(&[("route", "users"), ("reason", "token_missing")]),
        Some(2.0)
    );
    assert_eq!(
        requests(&[("route", "users"), ("status_class", "2xx")]),
        Some(2.0)
    );
    // Latency histograms per route and per upstream.
    let count = sample(
        &text,
        "gateway_request_duration_seconds_count",
        &[("route", "public")],
    );
    assert_eq!(count, Some(3.0), "{text}");
    let upstream = [("upstream", "users"), ("outcome", "2xx")];
    assert_eq!(
        sample(&text, "gateway_upstream_requests_total", &upstream),
        Some(5.0)
    );
    let upstream_count = sample(
        &text,
        "gateway_upstream_request_duration_seconds_count",
        &[("upstream", "users")],
    );
    assert_eq!(upstream_count, Some(5.0), "{text}");
    // The student's token was verified once, then came from the cache.
    let lookups = |result| {
        sample(
            &text,
            "gateway_token_cache_lookups_total",
            &[("result", result)],
        )
    };
    assert_eq!(
        (lookups("miss"), lookups("hit")),
        (Some(1.0), Some(1.0)),
        "{text}"
    );
    // Rate-limit decisions by policy: `users` has `per-user` and `daily`.
    let allowed = [("policy", "per-user"), ("decision", "allowed")];
    assert_eq!(
        sample(&text, "gateway_ratelimit_decisions_total", &allowed),
        Some(2.0)
    );
    // Health and circuits, read at the scrape; the connections open (the admin's own is not).
    let target = [("upstream", "users")];
    assert_eq!(
        sample(&text, "gateway_upstream_target_healthy", &target),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "gateway_upstream_circuit_state", &target),
        Some(0.0)
    );
    assert!(
        sample(&text, "gateway_connections_open", &[]).is_some(),
        "{text}"
    );
    // Label values are bounded: never the raw path.
    assert!(!text.contains("/nowhere"), "{text}");
}

#[tokio::test]
async fn promtool_accepts_the_metrics() {
    let Ok(version) = std::process::Command::new("promtool")
        .arg("--version")
        .output()
    else {
        // CI installs it (`.ci/run`); on a laptop without it, say so and pass.
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "promtool is missing in CI: .ci/run installs Debian's `prometheus`"
        );
        println!("skipping: promtool not installed (apt-get install prometheus)");
        return;
    };
    assert!(version.status.success());
    let gw = AdminGateway::start().await;
    gw.get("/api/public/x").send().await.unwrap();
    gw.get("/nowhere").send().await.unwrap();
    gw.get("/api/down/x").send().await.unwrap();
    let text = gw.metrics().await;
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}\n{text}");
    assert!(
        output.stdout.is_empty() && output.stderr.is_empty(),
        "{output:?}"
    );
}

#[tokio::test]
async fn a_refused_request_names_the_failing_check_and_its_reason() {
    let gw = AdminGateway::start().await;
    let mut expired = claims(Role::Student);
    expired.exp = now() - 600;
    let response = gw
        .get("/api/users/me")
        .header("authorization", bearer(&sign(&expired)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let id = response.headers()["x-gateway-decision"]
        .to_str()
        .unwrap()
        .to_owned();
    let record = gw.admin_json(&format!("/decisions/{id}")).await;
    assert_eq!(record["route"], "users", "{record}");
    assert_eq!(record["status"], 401);
    assert_eq!(record["reason"], "token_expired");
    let checks = record["checks"].as_array().unwrap();
    let names: Vec<(&str, &str)> = checks
        .iter()
        .map(|c| (c["check"].as_str().unwrap(), c["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        names,
        [
            ("route", "pass"),
            ("token", "pass"),
            ("signature", "pass"),
            ("expiry", "fail"),
            ("issuer", "skip"),
            ("audience", "skip"),
            ("claims", "skip"),
        ],
        "{record}"
    );
    assert_eq!(checks[3]["detail"], "token_expired");
    assert!(record["upstream_calls"].as_array().unwrap().is_empty());

    // A STUDENT on the ADMIN-only list: the role check fails, after the token passed.
    let response = gw
        .get("/api/users")
        .header("authorization", bearer(&token(Role::Student)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let id = response.headers()["x-gateway-decision"]
        .to_str()
        .unwrap()
        .to_owned();
    let record = gw.admin_json(&format!("/decisions/{id}")).await;
    let last = record["checks"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["check"], "role", "{record}");
    assert_eq!(last["outcome"], "fail");
    assert_eq!(last["detail"], "role_required: needs ADMIN");
    assert_eq!(record["caller"]["role"], "STUDENT");

    // An upstream that is down: the attempt is in the record with its target.
    let response = gw.get("/api/down/x").send().await.unwrap();
    assert_eq!(response.status(), 502);
    let id = response.headers()["x-gateway-decision"]
        .to_str()
        .unwrap()
        .to_owned();
    let record = gw.admin_json(&format!("/decisions/{id}")).await;
    let call = &record["upstream_calls"][0];
    assert_eq!(call["upstream"], "down", "{record}");
    assert_eq!(call["outcome"], "unavailable");
    assert!(call["target"].as_str().unwrap().starts_with("127.0.0.1:"));
    let last = record["checks"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (&last["check"], &last["detail"]),
        (&"upstream".into(), &"upstream_unavailable".into())
    );

    // Unknown and malformed ids.
    let response = gw
        .admin("/decisions/0000000000000000")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let response = gw.admin("/decisions/x").send().await.unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn a_decision_record_holds_no_token_secret_password_or_e_mail() {
    let echo = Echo::spawn().await;
    let mut config = test_config(echo.addr).await;
    // Every route limited by the login account: the limiter reads the e-mail from the body.
    config.rate_limits.push(gateway::config::RateLimitConfig {
        name: "by-account".into(),
        key: vec![gateway::config::KeyPart::Account],
        ..config.rate_limits[0].clone()
    });
    for route in &mut config.routes {
        route.rate_limits = vec!["by-account".into()];
    }
    let gw = AdminGateway::start_with(echo, config).await;
    let token = token(Role::Student);
    let mut forged = claims(Role::Admin);
    forged.email = Some("forged@example.edu".into());
    let forged = sign_with(&forged, b"not-the-secret-not-the-secret-32");
    let password = demo::student::PASSWORD;
    let email = demo::student::EMAIL;
    let login = serde_json::json!({"email": email, "password": password});
    let requests = [
        gw.http
            .post(format!("http://{}/api/auth/login", gw.addr))
            .json(&login),
        gw.get(&format!(
            "/api/users/me?access_token={token}&password={password}"
        ))
        .header("authorization", bearer(&token)),
        gw.get("/api/users/me")
            .header("authorization", bearer(&forged)),
        gw.get(&format!("/api/public/by-email/{email}")),
        gw.get("/api/users").header("authorization", bearer(&token)),
        gw.get("/api/dashboard")
            .header("authorization", bearer(&token)),
    ];
    let mut ids = Vec::new();
    for request in requests {
        let response = request
            .header("cookie", "session=a-session-cookie-value")
            .send()
            .await
            .unwrap();
        let id = response.headers().get("x-gateway-decision").cloned();
        ids.push(id.map(|id| id.to_str().unwrap().to_owned()));
    }
    let recent = gw.admin_json("/decisions").await;
    let mut all = recent.to_string();
    for entry in recent["decisions"].as_array().unwrap() {
        let record = gw
            .admin_json(&format!("/decisions/{}", entry["id"].as_str().unwrap()))
            .await;
        all.push_str(&record.to_string());
    }
    assert!(
        recent["decisions"].as_array().unwrap().len() >= 6,
        "{recent}"
    );
    assert!(
        ids.iter().flatten().count() >= 3,
        "the refused ones carry their id"
    );
    let secrets = [
        token.as_str(),
        forged.as_str(),
        password,
        email,
        "forged@example.edu",
        demo::HS256_SECRET,
        "Bearer",
        "a-session-cookie-value",
        "access_token",
        "@",
    ];
    for secret in secrets {
        assert!(
            !all.contains(secret),
            "a decision record contains `{secret}`: {all}"
        );
    }
    // The token's parts neither (the signature is the secret half of a token).
    for part in token.split('.') {
        assert!(
            !all.contains(part),
            "a decision record contains a token part: {all}"
        );
    }
}

#[tokio::test]
async fn the_admin_listener_serves_the_loaded_configuration_without_secrets() {
    let gw = AdminGateway::start().await;
    let routes = gw.admin_json("/routes").await;
    let text = routes.to_string();
    assert_eq!(routes["auth"]["hs256_secret"], "[redacted]");
    assert!(!text.contains(demo::HS256_SECRET));
    let users_list = routes["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "users-list")
        .unwrap();
    assert_eq!(users_list["roles"][0], "ADMIN");
    assert_eq!(routes["aggregates"][0]["name"], "dashboard");

    let upstreams = gw.admin_json("/upstreams").await;
    assert_eq!(
        upstreams["users"]["targets"][0]["circuit"], "closed",
        "{upstreams}"
    );
    let limiter = gw.admin_json("/ratelimitz").await;
    assert_eq!(limiter["limited"], 0, "{limiter}");
    // Readiness with every target's address, here; the `down` upstream has none usable.
    let response = gw.admin("/readyz").send().await.unwrap();
    assert_eq!(response.status(), 503);
    let ready: Value = response.json().await.unwrap();
    assert_eq!(ready["upstreams"]["down"]["ready"], false, "{ready}");
    assert!(
        ready["upstreams"]["down"]["targets"][0]["target"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );

    // The public port keeps neither the limiter's counters nor the addresses.
    let response = gw.get("/ratelimitz").send().await.unwrap();
    assert_eq!(response.status(), 404);
    let response = gw.get("/readyz").send().await.unwrap();
    let body = response.text().await.unwrap();
    assert!(!body.contains("127.0.0.1"), "{body}");
}

#[tokio::test]
async fn with_a_token_the_admin_listener_answers_401_without_it() {
    let echo = Echo::spawn().await;
    let mut config = test_config(echo.addr).await;
    let secret = "an-admin-token-long-enough";
    config.admin.token = Some(secret.into());
    let gw = AdminGateway::start_with(echo, config).await;
    for path in ["/metrics", "/routes", "/decisions", "/readyz"] {
        let response = gw.admin(path).send().await.unwrap();
        assert_eq!(response.status(), 401, "{path}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["reason"], "admin_token_required");
        let response = gw
            .admin(path)
            .bearer_auth("wrong-token-wrong-token")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{path}");
    }
    let response = gw
        .admin("/metrics")
        .bearer_auth(secret)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_non_loopback_admin_listener_without_a_token_refuses_to_start() {
    let echo = Echo::spawn().await;
    let mut config = test_config(echo.addr).await;
    config.admin.listen = "0.0.0.0:0".parse().unwrap();
    let Err(error) = gateway::build(config).await else {
        panic!("a public admin listener without a token must not start");
    };
    let message = format!("{error:#}");
    assert!(message.contains("admin.listen"), "{message}");
    assert!(message.contains("no `admin.token`"), "{message}");
}

#[tokio::test]
async fn in_demo_mode_a_caller_reads_their_own_records_on_the_public_port() {
    let gw = TestGateway::spawn().await;
    let student = bearer(&token(Role::Student));
    let response = gw
        .oneshot(gw.get("/api/users").header("authorization", &student))
        .await;
    assert_eq!(response.status(), 403);
    let link = response.headers()["link"].to_str().unwrap().to_owned();
    let id = response.headers()["x-gateway-decision"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        link,
        format!("</gateway/decisions/{id}>; rel=\"describedby\"; type=\"application/json\"")
    );
    let path = format!("/gateway/decisions/{id}");

    let (status, _, record) = parts(
        gw.oneshot(gw.get(&path).header("authorization", &student))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(record["reason"], "role_required", "{record}");

    // Someone else's token, or none: not theirs to read.
    let admin = bearer(&token(Role::Admin));
    let other = gw
        .oneshot(gw.get(&path).header("authorization", &admin))
        .await;
    assert_problem(other, 404, "decision_not_found").await;
    assert_problem(gw.oneshot(gw.get(&path)).await, 404, "decision_not_found").await;
}

#[tokio::test]
async fn outside_demo_mode_the_public_port_serves_no_records() {
    let echo = Echo::spawn().await;
    let mut config = test_config(echo.addr).await;
    config.demo = false;
    config.auth.hs256_secret = Some("a-test-secret-that-is-long-enough-for-hs256".into());
    config.routes.push(RouteConfig {
        name: "catch-all".into(),
        prefix: "/".into(),
        exact: false,
        methods: Vec::new(),
        strip_prefix: false,
        rewrite_prefix: None,
        upstream: "users".into(),
        auth: gateway::config::AuthMode::Public,
        roles: Vec::new(),
        scopes: Vec::new(),
        oauth_errors: false,
        rate_limits: Vec::new(),
        cache: None,
        cors: None,
        headers: None,
        split: None,
        response_cache: None,
    });
    let gw = TestGateway::spawn_with(echo, config).await;
    let response = gw.oneshot(gw.get("/api/users")).await;
    assert_eq!(response.status(), 401);
    assert!(response.headers().get("link").is_none());
    assert!(response.headers().get("x-gateway-decision").is_some());
    // Forwarded like any other path (here to the catch-all route's echo backend).
    let (status, _, body) = parts(
        gw.oneshot(gw.get("/gateway/decisions/0000000000000001"))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["uri"], "/gateway/decisions/0000000000000001");
}

#[tokio::test]
async fn an_aggregate_records_each_call_and_counts_its_partial_answers() {
    let echo = Echo::spawn().await;
    let mut config = test_config(echo.addr).await;
    let absent = absent_addr().await;
    for upstream in &mut config.upstreams {
        if upstream.name == "billing" {
            upstream.targets = vec![format!("http://{absent}")];
        }
    }
    let gw = AdminGateway::start_with(echo, config).await;
    let response = gw
        .get("/api/dashboard")
        .header("authorization", bearer(&token(Role::Student)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-gateway-partial"], "true");
    // Demo mode: successes carry their record's id too.
    let id = response.headers()["x-gateway-decision"]
        .to_str()
        .unwrap()
        .to_owned();
    let record = gw.admin_json(&format!("/decisions/{id}")).await;
    assert_eq!(record["route"], "dashboard", "{record}");
    let calls = record["upstream_calls"].as_array().unwrap();
    let outcome = |upstream: &str| {
        calls
            .iter()
            .filter(|c| c["upstream"] == upstream)
            .map(|c| c["outcome"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(outcome("users"), ["2xx"], "{record}");
    // Both billing calls failed to connect (each retried once on the one target).
    assert!(
        outcome("billing").iter().all(|o| o == "unavailable"),
        "{record}"
    );
    assert!(outcome("billing").len() >= 2, "{record}");

    let text = gw.metrics().await;
    let partial = [("aggregate", "dashboard"), ("outcome", "partial")];
    assert_eq!(
        sample(&text, "gateway_aggregate_responses_total", &partial),
        Some(1.0)
    );
    let complete = [("aggregate", "dashboard"), ("outcome", "complete")];
    assert_eq!(
        sample(&text, "gateway_aggregate_responses_total", &complete),
        Some(0.0)
    );
    let requests = [("route", "dashboard"), ("status_class", "2xx")];
    assert_eq!(
        sample(&text, "gateway_requests_total", &requests),
        Some(1.0)
    );
}

#[tokio::test]
async fn jwks_fetches_and_failures_are_counted() {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let echo = Echo::spawn().await;
    let mut config = test_config(echo.addr).await;
    // A JWKS endpoint nobody answers: every fetch fails, and is counted.
    let absent = crate::helpers::absent_addr().await;
    config.auth.jwks_url = Some(format!("http://{absent}/.well-known/jwks.json"));
    config.auth.jwks_min_refetch_secs = 0;
    let gw = AdminGateway::start_with(echo, config).await;
    // A token naming a key the gateway does not know makes it fetch the JWKS first.
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT","kid":"unknown-kid"}"#);
    let payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"x"}"#);
    let token = format!("{header}.{payload}.c2lnbmF0dXJl");
    let response = gw
        .get("/api/users/me")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let text = gw.metrics().await;
    assert_eq!(
        sample(
            &text,
            "gateway_jwks_fetches_total",
            &[("outcome", "failed")]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "gateway_jwks_fetches_total", &[("outcome", "ok")]),
        Some(0.0),
        "{text}"
    );
}
