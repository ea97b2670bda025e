//! Live reload: a new configuration put in use while requests run, without one failing; an
//! invalid one refused with nothing changed; counters, circuits and pools kept; and the
//! triggers — a changed file, and `SIGHUP` to a gateway running as its own process.

use crate::{
    helpers::{Echo, TestGateway, assert_problem, bearer, parts, route, test_config, token},
    ratelimit::{limited_route, policy},
};
use gateway::{
    Config,
    config::{AuthMode, KeyPart, UpstreamConfig},
    live::Live,
};
use shared::{Role, clock::ManualClock};
use std::{
    io::{BufRead, BufReader},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

/// `config` with one more public route, `/api/extra-{n}`, to the echo backend.
fn with_extra_route(mut config: Config, n: usize) -> Config {
    config.routes.push(route(
        &format!("extra-{n}"),
        &format!("/api/extra-{n}"),
        "users",
        AuthMode::Public,
    ));
    config
}

/// `config` with a route to an upstream nobody declared: refused by validation.
fn broken(mut config: Config) -> Config {
    config
        .routes
        .push(route("broken", "/api/broken", "nowhere", AuthMode::Public));
    config
}

fn rendered_metrics(live: &Live) -> String {
    live.current().metrics.render()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_reloads_under_load_fail_no_request_and_invalid_files_change_nothing() {
    let echo = Echo::spawn().await;
    let base = test_config(echo.addr).await;
    let gw = TestGateway::serve_with(echo, base.clone()).await;
    let live = gw.live();

    // The load: four clients asking without pause — three on keep-alive connections, one
    // opening a new connection for every request (connections accepted mid-reload).
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicU64::new(0));
    let clients: Vec<_> = (0..4)
        .map(|n| {
            let (stop, answered) = (Arc::clone(&stop), Arc::clone(&answered));
            let url = gw.url("/api/public/load");
            let http = if n == 0 {
                reqwest::Client::builder()
                    .pool_max_idle_per_host(0)
                    .build()
                    .unwrap()
            } else {
                gw.http.clone()
            };
            tokio::spawn(async move {
                let mut failures = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    match http.get(&url).send().await {
                        Ok(r) if r.status() == 200 => {}
                        Ok(r) => failures.push(format!("status {}", r.status())),
                        Err(e) => failures.push(format!("error {e}")),
                    }
                    answered.fetch_add(1, Ordering::Relaxed);
                }
                failures
            })
        })
        .collect();
    // Lets the load run for at least `n` more requests.
    let load_runs = |n: u64| {
        let answered = Arc::clone(&answered);
        async move {
            let target = answered.load(Ordering::Relaxed) + n;
            while answered.load(Ordering::Relaxed) < target {
                tokio::task::yield_now().await;
            }
        }
    };

    let started = Instant::now();
    let mut current = base.clone();
    let (mut applied, mut rejected) = (0, 0);
    for n in 0..10 {
        load_runs(200).await;
        if n % 3 == 2 {
            let error = live.reload(broken(current.clone())).unwrap_err();
            assert!(
                format!("{error:#}").contains("unknown upstream `nowhere`"),
                "{error:#}"
            );
            rejected += 1;
            // Nothing changed: the last applied route still answers, the broken one does not.
            let (status, ..) = parts(
                gw.get(&format!("/api/extra-{}", n - 1))
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            assert_eq!(status, 200, "reload {n} (invalid) dropped a route in use");
            assert_problem(gw.get("/api/broken").send().await.unwrap(), 404, "no_route").await;
        } else {
            current = with_extra_route(current, n);
            let reloaded = live.reload(current.clone()).expect("a valid configuration");
            assert!(reloaded.needs_restart.is_empty(), "{reloaded:?}");
            applied += 1;
            assert_eq!(reloaded.version, applied + 1);
            // The new route takes effect at once, for a client already connected.
            let (status, _, body) =
                parts(gw.get(&format!("/api/extra-{n}/x")).send().await.unwrap()).await;
            assert_eq!(status, 200, "reload {n}: {body}");
            assert_eq!(body["uri"], "/x", "forwarded to the echo backend");
        }
    }
    load_runs(200).await;
    stop.store(true, Ordering::Relaxed);
    let mut failures = Vec::new();
    for client in clients {
        failures.extend(client.await.unwrap());
    }
    let total = answered.load(Ordering::Relaxed);
    println!(
        "reload under load: {total} requests in {:?} across {applied} applied and {rejected} \
         rejected reloads, {} failed",
        started.elapsed(),
        failures.len()
    );
    assert_eq!(
        failures,
        Vec::<String>::new(),
        "requests failed during reloads"
    );
    assert_eq!((applied, rejected), (7, 3));
    let metrics = rendered_metrics(&live);
    assert!(
        metrics.contains("gateway_config_reloads_total{outcome=\"rejected\"} 3"),
        "{metrics}"
    );
    assert!(metrics.contains("gateway_config_version 8"), "{metrics}");
}

#[tokio::test]
async fn a_reload_keeps_rate_limit_counts_and_open_circuits() {
    let clock = ManualClock::new();
    let echo = Echo::spawn().await;
    let mut config = test_config(echo.addr).await;
    config
        .rate_limits
        .push(policy("two-a-minute", 2, 60, 2, &[KeyPart::User]));
    config.routes.push(limited_route(
        "limited",
        "/api/limited",
        AuthMode::Required,
        &["two-a-minute"],
    ));
    let gw = TestGateway::spawn_with_clock(echo, config.clone(), clock.shared()).await;
    let student = bearer(&token(Role::Student));
    for _ in 0..2 {
        let response = gw
            .oneshot(gw.get("/api/limited").header("authorization", &student))
            .await;
        assert_eq!(response.status(), 200);
    }
    // Open the circuit of the upstream nobody listens on.
    let mut opened = false;
    for _ in 0..20 {
        let (status, _, body) = parts(gw.oneshot(gw.get("/api/down")).await).await;
        if status == 503 && body["reason"] == "circuit_open" {
            opened = true;
            break;
        }
    }
    assert!(opened, "the breaker of `down` never opened");

    gw.live()
        .reload(with_extra_route(config, 1))
        .expect("a valid configuration");

    // Same allowance: the third request of the minute is still the third.
    assert_problem(
        gw.oneshot(gw.get("/api/limited").header("authorization", &student))
            .await,
        429,
        "rate_limited",
    )
    .await;
    // Same circuit: still open, nothing sent.
    assert_problem(gw.oneshot(gw.get("/api/down")).await, 503, "circuit_open").await;
}

#[tokio::test]
async fn unchanged_upstreams_are_carried_over_and_changed_ones_rebuilt() {
    let echo = Echo::spawn().await;
    let config = test_config(echo.addr).await;
    let gw = TestGateway::spawn_with(echo, config.clone()).await;
    let before = gw.live().current();

    let mut changed = config.clone();
    let slow = changed
        .upstreams
        .iter_mut()
        .find(|u| u.name == "slow")
        .unwrap();
    *slow = UpstreamConfig {
        request_timeout_ms: slow.request_timeout_ms + 1,
        ..slow.clone()
    };
    gw.live().reload(changed.clone()).unwrap();
    let after = gw.live().current();

    for (old, new) in before.upstreams.iter().zip(after.upstreams.iter()) {
        let kept = Arc::ptr_eq(old, new);
        assert_eq!(
            kept,
            old.name.as_ref() != "slow",
            "upstream `{}`: kept={kept} (its pools and breakers go with it)",
            old.name
        );
    }
    assert_eq!(after.generation.version, before.generation.version + 1);
    // The old gateway is untouched: a request in flight that holds it sees its configuration.
    let slow_of = |g: &gateway::Gateway| {
        g.config
            .upstreams
            .iter()
            .find(|u| u.name == "slow")
            .unwrap()
            .request_timeout_ms
    };
    assert_eq!(slow_of(&after), slow_of(&before) + 1);
}

#[tokio::test]
async fn an_invalid_configuration_is_refused_and_counted_and_changes_nothing() {
    let echo = Echo::spawn().await;
    let config = test_config(echo.addr).await;
    let gw = TestGateway::spawn_with(echo, config.clone()).await;
    let live = gw.live();

    let error = live.reload(broken(config)).unwrap_err();
    let message = format!("{error:#}");
    assert!(
        message.contains("`routes[") && message.contains("unknown upstream `nowhere`"),
        "the error names the key and the problem: {message}"
    );
    assert_eq!(live.current().generation.version, 1);
    assert_problem(gw.oneshot(gw.get("/api/broken")).await, 404, "no_route").await;
    let (status, ..) = parts(gw.oneshot(gw.get("/api/public/x")).await).await;
    assert_eq!(status, 200);
    let metrics = rendered_metrics(&live);
    assert!(
        metrics.contains("gateway_config_reloads_total{outcome=\"rejected\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("gateway_config_version 1"), "{metrics}");
}

#[tokio::test]
async fn listener_and_token_settings_say_they_need_a_restart() {
    let echo = Echo::spawn().await;
    let config = test_config(echo.addr).await;
    let app = gateway::build(config.clone()).await.unwrap();
    let mut next = with_extra_route(config, 1);
    next.server.listen = "127.0.0.1:1".parse().unwrap();
    next.auth.issuer = "https://elsewhere.example".into();

    let reloaded = app.reload(next).unwrap();
    assert_eq!(reloaded.needs_restart.len(), 2, "{reloaded:?}");
    assert!(reloaded.needs_restart[0].contains("`server.listen`"));
    assert!(reloaded.needs_restart[1].contains("`[auth]`"));
    // Everything else was applied: the new route is there…
    let door = app.front_door();
    let response = door
        .clone()
        .respond(
            http::Request::get("/api/extra-1/x")
                .header("host", "gateway.test")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), 200);
    // …while tokens are still checked by the rules in use (the old issuer).
    let response = door
        .respond(
            http::Request::get("/api/users/me")
                .header("host", "gateway.test")
                .header("authorization", bearer(&token(Role::Student)))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), 200);
    // The admin listener says which version is in use and what waits for a restart.
    let response = tower::ServiceExt::oneshot(
        app.admin(),
        http::Request::get("/config")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["version"], 2);
    assert!(body["loaded_at"].as_u64().unwrap() > 0);
    assert_eq!(body["needs_restart"].as_array().unwrap().len(), 2, "{body}");
}

/// A TOML configuration with one public route per name, to the backend at `echo`.
fn toml_with_routes(echo: std::net::SocketAddr, routes: &[&str]) -> String {
    let mut text = format!(
        r#"
[server]
listen = "127.0.0.1:0"
[admin]
listen = "127.0.0.1:0"
[auth]
issuer = "http://localhost:8080"
audience = "ecommerce-api"
hs256_secret = "{secret}"
[[upstreams]]
name = "echo"
targets = ["http://{echo}"]
"#,
        secret = test_support::tokens::TEST_HS256_SECRET
    );
    for name in routes {
        text.push_str(&format!(
            "[[routes]]\nname = \"{name}\"\nprefix = \"/{name}\"\nupstream = \"echo\"\nauth = \"public\"\n"
        ));
    }
    text
}

/// Asks `url` until it answers `status` or `within` passes; the last status seen.
async fn until_status(url: &str, status: u16, within: Duration) -> u16 {
    let deadline = Instant::now() + within;
    loop {
        let got = match reqwest::get(url).await {
            Ok(response) => response.status().as_u16(),
            Err(_) => 0,
        };
        if got == status || Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn a_watched_file_is_reloaded_when_it_changes_and_kept_when_broken() {
    let echo = Echo::spawn().await;
    let file = scratch_file("watched");
    std::fs::write(&file, toml_with_routes(echo.addr, &["first"])).unwrap();
    let config = gateway::config::load::load(Some(&file), "GATEWAY_TEST_UNSET").unwrap();
    let gw = TestGateway::serve_with(echo, config).await;
    let live = gw.live();
    gateway::watch::spawn_file_watch(&live, file.clone(), Duration::from_millis(20));

    // Written whole and renamed into place, as editors and deploy tools do: a watcher that
    // read a half-written file would count a rejection the steps below do not expect.
    let staged = file.with_extension("staged");
    std::fs::write(
        &staged,
        toml_with_routes(gw.echo.addr, &["first", "second"]),
    )
    .unwrap();
    std::fs::rename(&staged, &file).unwrap();
    assert_eq!(
        until_status(&gw.url("/second"), 200, Duration::from_secs(10)).await,
        200,
        "{}",
        rendered_metrics(&live)
    );
    assert_eq!(live.current().generation.version, 2);

    std::fs::write(&file, "[[routes]]\nname = \"half-saved").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    // At least one rejection: the write may be seen half-done and whole, each refused.
    let rejected = |page: &str| {
        test_support::prometheus_sample(
            page,
            "gateway_config_reloads_total",
            &[("outcome", "rejected")],
        )
        .unwrap_or(0.0)
    };
    while rejected(&rendered_metrics(&live)) < 1.0 {
        assert!(Instant::now() < deadline, "the broken file was never read");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(live.current().generation.version, 2);
    let (status, ..) = parts(gw.get("/second").send().await.unwrap()).await;
    assert_eq!(status, 200, "a broken file changes nothing");
}

#[tokio::test]
async fn sighup_reloads_a_gateway_process_and_a_broken_file_keeps_it_serving() {
    let echo = Echo::spawn().await;
    let file = scratch_file("sighup");
    std::fs::write(&file, toml_with_routes(echo.addr, &["first"])).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gateway"))
        .arg("--config")
        .arg(&file)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let killer = scopeguard(child.id());
    // The log line `gateway listening` carries the address the OS chose.
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    for stream in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let tx = lines_tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    let mut log = Vec::new();
    let address = loop {
        let line = lines_rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("no `gateway listening` line: {log:#?}"));
        log.push(line.clone());
        if line.contains("gateway listening") {
            break listening_address(&line).unwrap_or_else(|| panic!("no address in {line}"));
        }
    };
    let url = |path: &str| format!("http://{address}{path}");
    assert_eq!(
        until_status(&url("/first"), 200, Duration::from_secs(10)).await,
        200
    );
    assert_eq!(reqwest::get(url("/second")).await.unwrap().status(), 404);

    std::fs::write(&file, toml_with_routes(echo.addr, &["first", "second"])).unwrap();
    hangup(&pid);
    assert_eq!(
        until_status(&url("/second"), 200, Duration::from_secs(10)).await,
        200
    );

    std::fs::write(
        &file,
        toml_with_routes(echo.addr, &["first", "second"])
            .replace("upstream = \"echo\"", "upstream = \"ech0\""),
    )
    .unwrap();
    let broken = std::fs::read_to_string(&file).unwrap();
    assert!(broken.contains("ech0"), "the test broke the file");
    hangup(&pid);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match lines_rx.recv_timeout(Duration::from_millis(100)) {
            Ok(line) if line.contains("reload rejected") => break,
            Ok(line) => log.push(line),
            Err(_) => assert!(Instant::now() < deadline, "no rejection logged: {log:#?}"),
        }
    }
    assert!(child.try_wait().unwrap().is_none(), "the gateway exited");
    assert_eq!(reqwest::get(url("/second")).await.unwrap().status(), 200);
    drop(killer);
    let _ = child.wait();
}

/// `127.0.0.1:PORT` from a log line, text (`address=…`) or JSON (`"address":"…"`).
fn listening_address(line: &str) -> Option<String> {
    let at = line.find("address")? + "address".len();
    let rest = line[at..].trim_start_matches(['=', '"', ':', ' ']);
    let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ':'))?;
    Some(rest[..end].to_owned())
}

fn hangup(pid: &str) {
    let status = std::process::Command::new("kill")
        .args(["-HUP", pid])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Kills the child process when dropped (also when the test panics).
fn scopeguard(pid: u32) -> impl Drop {
    struct Kill(u32);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = std::process::Command::new("kill")
                .arg(self.0.to_string())
                .status();
        }
    }
    Kill(pid)
}

/// A file of this test's own in the temporary directory (removed at the end of the test run by
/// nobody: it is small, and its name is unique to the process and the test).
fn scratch_file(test: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("gw-reload-{test}-{}.toml", std::process::id()))
}
