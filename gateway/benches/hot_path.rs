//! The gateway's hot path, one piece at a time (the load benchmark, `scripts/bench/run`, measures
//! them together; see docs/performance.md):
//!
//! - path normalisation + route match on a table of 50 routes;
//! - token verification per algorithm (`shared::TokenVerifier`: HS256, RS256, EdDSA);
//! - header rewriting: hop-by-hop removal, `X-Forwarded-*`/`Forwarded`, identity headers.
//!
//! ```text
//! cargo bench -p gateway --bench hot_path
//! ```
//! (The rate-limit check has its own bench: `cargo bench -p gateway --bench ratelimit`.)

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use gateway::{
    Config,
    config::{AuthMode, RouteConfig},
    forwarded, identity,
    normalize::normalize,
    proxy,
    routing::RouteTable,
};
use http::{HeaderMap, HeaderValue, Method};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use shared::{Claims, Role, TokenVerifier, VerificationKey, VerifierSettings};
use std::{
    hint::black_box,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/keys/");
const SECRET: &[u8] = b"a-benchmark-secret-of-at-least-32-bytes!";

fn key_file(name: &str) -> Vec<u8> {
    std::fs::read(format!("{KEYS}{name}")).unwrap()
}

/// 50 routes over the demo's upstreams: prefixes of one to three segments, some exact.
fn fifty_routes() -> RouteTable {
    let mut config = Config::demo();
    config.routes.clear();
    config.aggregates.clear();
    for i in 0..50 {
        let prefix = match i % 3 {
            0 => format!("/api/svc{i}"),
            1 => format!("/api/svc{i}/items"),
            _ => format!("/api/team{}/svc{i}/v2", i % 7),
        };
        config.routes.push(RouteConfig {
            name: format!("route-{i}"),
            prefix,
            exact: i % 10 == 0,
            methods: Vec::new(),
            strip_prefix: false,
            rewrite_prefix: Some(format!("/svc{i}")),
            upstream: "users".into(),
            auth: AuthMode::Required,
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
    }
    config.validate().unwrap();
    RouteTable::compile(&config)
}

fn route(c: &mut Criterion) {
    let table = fifty_routes();
    let mut group = c.benchmark_group("normalise + route (50 routes)");
    for (name, path) in [
        ("clean path", "/api/svc37/items/7"),
        ("deep path", "/api/team5/svc47/v2/orders/2026/11/lines/3"),
        ("path to clean", "/api//svc37/./items/../items/7"),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let path = normalize(black_box(path)).unwrap();
                let route = table.find(&Method::GET, &path).unwrap();
                black_box(route.forward_path(&path).len())
            })
        });
    }
    group.finish();
}

fn claims() -> Claims {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    Claims {
        sub: "1905551042".into(),
        name: "I Wayan Sudarma".into(),
        role: Role::Student,
        exp: now + 3600,
        iat: now,
        iss: "http://bench.local".into(),
        aud: "bench-api".into(),
        jti: "bench-jti".into(),
        email: None,
        scope: None,
    }
}

fn settings() -> VerifierSettings {
    VerifierSettings::new("http://bench.local", "bench-api")
}

/// One token per algorithm and a verifier that knows all three keys.
fn tokens() -> (TokenVerifier, Vec<(&'static str, String)>) {
    let verifier = TokenVerifier::new(
        settings(),
        vec![
            VerificationKey::hs256(None, SECRET).unwrap(),
            VerificationKey::rsa_pem(Some("rsa".into()), &key_file("rsa-2048.pub.pem")).unwrap(),
            VerificationKey::ed25519_pem(Some("ed".into()), &key_file("ed25519.pub.pem")).unwrap(),
        ],
    );
    let sign = |alg, kid: Option<&str>, key: &EncodingKey| {
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_owned);
        encode(&header, &claims(), key).unwrap()
    };
    let tokens = vec![
        (
            "HS256",
            sign(
                Algorithm::HS256,
                None,
                &EncodingKey::from_secret(SECRET).unwrap(),
            ),
        ),
        (
            "RS256",
            sign(
                Algorithm::RS256,
                Some("rsa"),
                &EncodingKey::from_rsa_pem(&key_file("rsa-2048.pem")).unwrap(),
            ),
        ),
        (
            "EdDSA",
            sign(
                Algorithm::EdDSA,
                Some("ed"),
                &EncodingKey::from_ed_pem(&key_file("ed25519.pem")).unwrap(),
            ),
        ),
    ];
    (verifier, tokens)
}

fn verify(c: &mut Criterion) {
    let (verifier, tokens) = tokens();
    let mut group = c.benchmark_group("verify a token");
    for (alg, token) in &tokens {
        group.bench_function(*alg, |b| {
            b.iter(|| black_box(verifier.verify(black_box(token)).unwrap()))
        });
    }
    group.finish();
}

/// A browser-like request as the gateway receives it.
fn request_headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    for (name, value) in [
        ("host", "api.example.edu"),
        (
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
        ),
        ("accept", "application/json"),
        ("accept-encoding", "gzip, deflate, br"),
        ("accept-language", "en-GB,en;q=0.5"),
        ("connection", "keep-alive"),
        ("authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.x"),
        ("x-request-id", "0192f0c4-7e2a-7b3c-9d4e-5f6a7b8c9d0e"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    h
}

fn headers(c: &mut Criterion) {
    let claims = claims();
    // Described once per connection in the gateway; here once for the whole benchmark.
    let peer = forwarded::Peer::new(
        "203.0.113.9:51234".parse().unwrap(),
        &forwarded::TrustedProxies::default(),
    );
    let host = Some(HeaderValue::from_static("api.example.edu"));
    let mut group = c.benchmark_group("rewrite headers");
    group.bench_function("hop-by-hop", |b| {
        b.iter_batched_ref(
            request_headers,
            proxy::strip_hop_by_hop,
            BatchSize::SmallInput,
        )
    });
    group.bench_function("forwarded (untrusted peer)", |b| {
        b.iter_batched_ref(
            request_headers,
            |h| forwarded::apply(h, &peer, host.clone()),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("identity", |b| {
        b.iter_batched_ref(
            request_headers,
            |h| identity::apply(h, Some(&claims)).unwrap(),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("all three", |b| {
        b.iter_batched_ref(
            request_headers,
            |h| {
                proxy::strip_hop_by_hop(h);
                identity::apply(h, Some(&claims)).unwrap();
                forwarded::apply(h, &peer, host.clone());
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = route, verify, headers
}
criterion_main!(benches);
