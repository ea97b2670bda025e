//! A small, bounded load run: how much does the gateway add on top of a direct call?
//!
//! `cargo run -p gateway --release --example load [requests] [concurrency]`
//!
//! Starts a minimal backend and the gateway in this process (port 0, loopback only), then sends
//! the same number of keep-alive requests three ways: straight to the backend, through a public
//! route, and through a route that verifies an HS256 token. Client, gateway and backend share the
//! machine's cores, so compare the rows with each other, not with numbers from elsewhere.

use axum::{Router, routing::get};
use gateway::{
    Config,
    config::{AuthMode, RouteConfig},
};
use http_body_util::{BodyExt, Empty};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use jsonwebtoken::{EncodingKey, Header, encode};
use shared::{Claims, Role, demo};
use std::{
    net::SocketAddr,
    sync::Arc,
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

type HttpClient = Client<HttpConnector, Empty<bytes::Bytes>>;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let total: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let concurrency: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(32);

    let backend = Router::new().fallback(get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let backend_addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, backend).await.unwrap() });

    let mut config = Config::demo();
    config.server.listen = "127.0.0.1:0".parse().unwrap();
    for upstream in &mut config.upstreams {
        upstream.targets = vec![format!("http://{backend_addr}")];
    }
    // The demo's per-user rate limit would answer 429 to a load run: this measures the proxy.
    for route in &mut config.routes {
        route.rate_limits.clear();
    }
    config.routes.push(RouteConfig {
        name: "bench-public".into(),
        prefix: "/bench".into(),
        exact: false,
        methods: Vec::new(),
        strip_prefix: true,
        rewrite_prefix: None,
        upstream: "users".into(),
        auth: AuthMode::Public,
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
    let app = gateway::build(config).await.unwrap();
    let gateway_addr = app.local_addr();
    tokio::spawn(app.run_until(std::future::pending()));

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = Claims {
        sub: demo::student::ID.into(),
        name: demo::student::NAME.into(),
        role: Role::Student,
        exp: now + 3600,
        iat: now,
        iss: demo::ISSUER.into(),
        aud: demo::AUDIENCE.into(),
        jti: "bench".into(),
        email: None,
        scope: None,
    };
    let token = encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(demo::HS256_SECRET.as_bytes()).unwrap(),
    )
    .unwrap();

    println!("{total} requests, {concurrency} concurrent keep-alive connections");
    println!(
        "{:<28} {:>10} {:>9} {:>9} {:>7}",
        "scenario", "req/s", "p50 ms", "p99 ms", "errors"
    );
    run(
        "direct to backend",
        backend_addr,
        "/users/me",
        None,
        total,
        concurrency,
    )
    .await;
    run(
        "gateway, public route",
        gateway_addr,
        "/bench/x",
        None,
        total,
        concurrency,
    )
    .await;
    run(
        "gateway, HS256 verified",
        gateway_addr,
        "/api/users/me",
        Some(&token),
        total,
        concurrency,
    )
    .await;
}

async fn run(
    name: &str,
    addr: SocketAddr,
    path: &str,
    token: Option<&str>,
    total: usize,
    concurrency: usize,
) {
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    let uri: http::Uri = format!("http://{addr}{path}").parse().unwrap();
    let authorization = token.map(|t| format!("Bearer {t}"));
    let remaining = Arc::new(AtomicUsize::new(total));
    let errors = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, uri, authorization) = (client.clone(), uri.clone(), authorization.clone());
        let (remaining, errors) = (Arc::clone(&remaining), Arc::clone(&errors));
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while remaining
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
            {
                let mut request = http::Request::get(uri.clone());
                if let Some(a) = &authorization {
                    request = request.header("authorization", a);
                }
                let request = request.body(Empty::new()).unwrap();
                let sent = Instant::now();
                match client.request(request).await {
                    Ok(response) if response.status() == 200 => {
                        let _ = response.into_body().collect().await;
                    }
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                latencies.push(sent.elapsed());
            }
            latencies
        }));
    }
    let mut latencies: Vec<Duration> = Vec::with_capacity(total);
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "{:<28} {:>10.0} {:>9.3} {:>9.3} {:>7}",
        name,
        total as f64 / elapsed.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1000.0,
        pct(0.99).as_secs_f64() * 1000.0,
        errors.load(Ordering::Relaxed)
    );
}
