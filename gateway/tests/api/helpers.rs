//! Test fixtures: the echo backend, a gateway configured in front of it, and token minting.

use axum::{Router, extract::Request, http::HeaderMap, response::IntoResponse};
use gateway::{
    Config,
    config::{AuthMode, RouteConfig, UpstreamConfig},
};
use http_body_util::BodyExt;
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::{Value, json};
use shared::{
    Claims, Role,
    clock::{SharedClock, SystemClock},
    demo,
};
use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
};
use test_support::TestServer;
use tower::ServiceExt;

pub const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/keys");

/// A backend that answers every request with what it received, as JSON:
/// `{"method", "uri", "headers": {name: [values]}, "body_len"}`. A request carrying
/// `x-echo-sleep-ms: N` is answered after N ms.
pub struct Echo {
    pub addr: SocketAddr,
    /// `METHOD uri` of every request received, in order.
    pub seen: Arc<Mutex<Vec<String>>>,
}

impl Echo {
    pub async fn spawn() -> Echo {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let app = Router::new().fallback(move |request: Request| {
            let log = Arc::clone(&log);
            async move { echo(request, log).await }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Echo { addr, seen }
    }

    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

async fn echo(request: Request, log: Arc<Mutex<Vec<String>>>) -> impl IntoResponse {
    let (parts, body) = request.into_parts();
    log.lock()
        .unwrap()
        .push(format!("{} {}", parts.method, parts.uri));
    if let Some(ms) = parts
        .headers
        .get("x-echo-sleep-ms")
        .and_then(|v| v.to_str().ok()?.parse().ok())
    {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    // Path segments script the answer: `status-N` answers N, `text` answers text/plain,
    // `big-N` pads the JSON with N bytes (and `spoof`, below, sets the demo's own headers).
    let scripted = |prefix: &str| {
        parts
            .uri
            .path()
            .split('/')
            .find_map(|seg| seg.strip_prefix(prefix)?.parse::<u64>().ok())
    };
    if let Some(ms) = scripted("sleep-") {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if parts.uri.path().split('/').any(|s| s == "text") {
        return ([("content-type", "text/plain")], "plain text").into_response();
    }
    let status = scripted("status-")
        .and_then(|n| http::StatusCode::from_u16(n as u16).ok())
        .unwrap_or(http::StatusCode::OK);
    let padding = "x".repeat(scripted("big-").unwrap_or(0) as usize);
    let body_len = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes.len() as i64,
        Err(_) => -1,
    };
    let mut response = axum::Json(json!({
        "method": parts.method.as_str(),
        "uri": parts.uri.to_string(),
        "headers": headers_json(&parts.headers),
        "body_len": body_len,
        "padding": padding,
    }))
    .into_response();
    *response.status_mut() = status;
    // Hop-by-hop headers on the way back: the gateway must drop them.
    let h = response.headers_mut();
    h.insert("keep-alive", "timeout=99".parse().unwrap());
    h.insert("proxy-authenticate", "Basic".parse().unwrap());
    h.insert("x-echo", "yes".parse().unwrap());
    // `spoof`: the backend claims the headers the gateway owns in demo mode.
    if parts.uri.path().split('/').any(|s| s == "spoof") {
        h.insert("x-answered-by", "gateway".parse().unwrap());
        h.insert("x-upstream-path", "/not/what/was/asked".parse().unwrap());
    }
    response
}

fn headers_json(headers: &HeaderMap) -> Value {
    let mut map = serde_json::Map::new();
    for name in headers.keys() {
        let values: Vec<Value> = headers
            .get_all(name)
            .iter()
            .map(|v| Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        map.insert(name.as_str().to_owned(), Value::Array(values));
    }
    Value::Object(map)
}

/// An address nothing listens on.
pub async fn absent_addr() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

pub const MAX_BODY: u64 = 1024;
pub const SLOW_TIMEOUT_MS: u64 = 300;

/// A prefix route (stripped) to `upstream`, with no roles and no rate limits.
pub fn route(name: &str, prefix: &str, upstream: &str, auth: AuthMode) -> RouteConfig {
    RouteConfig {
        name: name.into(),
        prefix: prefix.into(),
        exact: false,
        methods: Vec::new(),
        strip_prefix: true,
        rewrite_prefix: None,
        upstream: upstream.into(),
        auth,
        roles: Vec::new(),
        scopes: Vec::new(),
        oauth_errors: false,
        rate_limits: Vec::new(),
        cache: None,
        cors: None,
        headers: None,
        split: None,
        response_cache: None,
    }
}

/// The test configuration: the demo's routes, plus a few for the test's needs, all pointing at
/// the echo backend (except `down`).
pub async fn test_config(echo: SocketAddr) -> Config {
    let mut config = Config::demo();
    config.server.listen = "127.0.0.1:0".parse().unwrap();
    config.server.max_body_bytes = MAX_BODY;
    config.server.max_uri_bytes = 2048;
    config.server.limits.header_read_timeout_ms = 500;
    for upstream in &mut config.upstreams {
        upstream.targets = vec![format!("http://{echo}")];
    }
    let absent = absent_addr().await;
    config.upstreams.push(UpstreamConfig {
        request_timeout_ms: 5000,
        ..UpstreamConfig::new("down", vec![format!("http://{absent}")])
    });
    config.upstreams.push(UpstreamConfig {
        request_timeout_ms: SLOW_TIMEOUT_MS,
        ..UpstreamConfig::new("slow", vec![format!("http://{echo}")])
    });
    config.routes.extend([
        route("optional", "/api/optional", "users", AuthMode::Optional),
        route("public", "/api/public", "users", AuthMode::Public),
        route("down", "/api/down", "down", AuthMode::Public),
        route("slow", "/api/slow", "slow", AuthMode::Public),
        RouteConfig {
            methods: vec!["GET".into()],
            ..route("readonly", "/api/readonly", "users", AuthMode::Public)
        },
    ]);
    config
}

/// A gateway in front of a running echo backend.
///
/// Two kinds, for two kinds of test:
///
/// - **in-process** ([`TestGateway::spawn`]): no listener at all. Requests built with
///   `gw.get(path)` go straight into the gateway's pipeline with `gw.oneshot(…)` and come back as
///   the `Response` a client would read. For everything the pipeline decides by itself —
///   routing, tokens, roles, identity and forwarding headers, rate limits, aggregates.
/// - **served** ([`TestGateway::serve`]): the gateway on a real socket (port 0), for what only a
///   connection shows — framing, timeouts, streamed bodies, the upstream pool, many clients.
pub struct TestGateway {
    /// The served gateway (stopped when the test drops it), or `None` in-process.
    server: Option<TestServer>,
    pub echo: Echo,
    pub http: reqwest::Client,
    front_door: gateway::FrontDoor,
}

/// The authority in-process requests are addressed to (never resolved: nothing listens there).
const IN_PROCESS_AUTHORITY: &str = "gateway.test";

impl TestGateway {
    /// An in-process gateway with the test configuration.
    pub async fn spawn() -> TestGateway {
        let echo = Echo::spawn().await;
        let config = test_config(echo.addr).await;
        Self::spawn_with(echo, config).await
    }

    /// An in-process gateway with `config`.
    pub async fn spawn_with(echo: Echo, config: Config) -> TestGateway {
        Self::spawn_with_clock(echo, config, SystemClock::shared()).await
    }

    /// An in-process gateway with `config` on `clock`.
    pub async fn spawn_with_clock(echo: Echo, config: Config, clock: SharedClock) -> TestGateway {
        let gateway =
            gateway::Gateway::with_clock(&config, clock).expect("the test config is valid");
        let gateway = Arc::new(gateway);
        TestGateway {
            server: None,
            echo,
            http: reqwest::Client::new(),
            front_door: loopback_client(gateway::FrontDoor::new(gateway)),
        }
    }

    /// A gateway on a socket, with the test configuration.
    pub async fn serve() -> TestGateway {
        let echo = Echo::spawn().await;
        let config = test_config(echo.addr).await;
        Self::serve_with(echo, config).await
    }

    /// A gateway on a socket, with `config`.
    pub async fn serve_with(echo: Echo, config: Config) -> TestGateway {
        Self::serve_with_clock(echo, config, SystemClock::shared()).await
    }

    /// A gateway on a socket, with `config` on `clock`.
    pub async fn serve_with_clock(echo: Echo, config: Config, clock: SharedClock) -> TestGateway {
        let app = gateway::build_with_clock(config, clock)
            .await
            .expect("the test config is valid");
        let front_door = loopback_client(app.front_door());
        let server = TestServer::start(app.local_addr(), |shutdown| app.run_until(shutdown));
        TestGateway {
            http: server.client.clone(),
            server: Some(server),
            echo,
            front_door,
        }
    }

    /// The gateway in use, which a test may reload.
    pub fn live(&self) -> Arc<gateway::live::Live> {
        Arc::clone(self.front_door.live())
    }

    /// The listening address of a served gateway (for raw sockets: the adversarial suite,
    /// which shares this file).
    #[allow(dead_code)]
    pub fn addr(&self) -> SocketAddr {
        self.server
            .as_ref()
            .expect("an in-process test gateway has no socket: start it with TestGateway::serve")
            .addr
    }

    /// `host:port` as a client writes it in `Host`.
    pub fn authority(&self) -> String {
        self.server
            .as_ref()
            .map_or_else(|| IN_PROCESS_AUTHORITY.to_owned(), |s| s.addr.to_string())
    }

    /// Sends the request built by `request` through the gateway's pipeline in-process (no
    /// client socket) and returns the answer as the client would read it.
    pub async fn oneshot(&self, request: reqwest::RequestBuilder) -> reqwest::Response {
        let response = self.oneshot_streaming(request).await;
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        reqwest::Response::from(http::Response::from_parts(parts, bytes))
    }

    /// [`TestGateway::oneshot`] without reading the body: for an answer that streams (the
    /// console's live feed), which the test may hold open.
    pub async fn oneshot_streaming(
        &self,
        request: reqwest::RequestBuilder,
    ) -> http::Response<axum::body::Body> {
        let request = http::Request::try_from(request.build().unwrap()).unwrap();
        let (mut parts, body) = request.into_parts();
        // As a server hands it over: origin-form target, `Host` from the URL.
        let host = parts.uri.authority().unwrap().as_str().parse().unwrap();
        parts.headers.entry(http::header::HOST).or_insert(host);
        parts.uri = parts
            .uri
            .path_and_query()
            .unwrap()
            .as_str()
            .parse()
            .unwrap();
        let bytes = body.as_bytes().map(bytes::Bytes::copy_from_slice);
        let request =
            http::Request::from_parts(parts, axum::body::Body::from(bytes.unwrap_or_default()));
        self.front_door
            .clone()
            .oneshot(request)
            .await
            .unwrap_or_else(|never| match never {})
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.authority())
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(self.url(path))
    }
}

/// In-process requests come "from" a loopback client, as the socket ones do.
fn loopback_client(front_door: gateway::FrontDoor) -> gateway::FrontDoor {
    front_door.for_peer(SocketAddr::from(([127, 0, 0, 1], 40000)))
}

/// Status, headers and JSON body of a response.
pub async fn parts(response: reqwest::Response) -> (u16, reqwest::header::HeaderMap, Value) {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, headers, body)
}

/// Asserts a problem+json refusal with `status` and `reason`, and returns its body.
pub async fn assert_problem(response: reqwest::Response, status: u16, reason: &str) -> Value {
    let (got, headers, body) = parts(response).await;
    assert_eq!(got, status, "{body}");
    assert_eq!(
        headers["content-type"], "application/problem+json",
        "{body}"
    );
    assert_eq!(body["reason"], reason, "{body}");
    assert_eq!(body["status"], status);
    let id = headers["x-request-id"].to_str().unwrap();
    assert_eq!(body["request_id"], id, "the body quotes the request id");
    body
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub fn claims(role: Role) -> Claims {
    let (sub, name) = match role {
        Role::Admin => (demo::admin::ID, demo::admin::NAME),
        _ => (demo::student::ID, demo::student::NAME),
    };
    Claims {
        sub: sub.into(),
        name: name.into(),
        role,
        exp: now() + 600,
        iat: now(),
        iss: demo::ISSUER.into(),
        aud: demo::AUDIENCE.into(),
        jti: "test-jti".into(),
        email: None,
        scope: None,
    }
}

pub fn sign(claims: &Claims) -> String {
    sign_with(claims, demo::HS256_SECRET.as_bytes())
}

pub fn sign_with(claims: &Claims, secret: &[u8]) -> String {
    encode(
        &Header::default(),
        claims,
        &EncodingKey::from_secret(secret).unwrap(),
    )
    .unwrap()
}

pub fn token(role: Role) -> String {
    sign(&claims(role))
}

pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}
