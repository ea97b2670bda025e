//! The demo's configuration, built in code: [`Config::demo`] and the rate-limit policies it uses.
//!
//! `cargo run` (the demo launcher) starts the gateway with it, so the whole system runs with no
//! file to write; tests and benchmarks start from it too. `gateway.demo.toml` beside this crate
//! is the same configuration as a file, and `docker/gateway.toml` the same policy with container
//! addresses; `tests/demo.rs` keeps the three in step.

use super::{
    AdminConfig, AggregateConfig, AuthMode, CallConfig, Config, ConsoleConfig, CorsConfig,
    HeaderRewrites, HeadersConfig, ReloadConfig, ResponseCacheConfig, RouteConfig, ServerConfig,
    SplitConfig, TracingConfig, UpstreamConfig, WeightConfig,
    rate_limits::{Backend, KeyPart, OnRedisError, Per, QuotaConfig, QuotaPer, RateLimitConfig},
};
use shared::VerifierConfig;
use std::net::SocketAddr;

impl Config {
    /// The demo: the routes of the README's diagram to the three services on 8081–8083, the
    /// demo HS256 secret. `gateway.demo.toml` beside this crate is the same configuration as a
    /// file.
    pub fn demo() -> Config {
        let upstream = |name: &str, port: u16| {
            UpstreamConfig::new(name, vec![format!("http://127.0.0.1:{port}")])
        };
        let call = |key: &str, upstream: &str, path: &str, required: bool| CallConfig {
            key: key.to_owned(),
            upstream: upstream.to_owned(),
            path: path.to_owned(),
            required,
            timeout_ms: Some(2_000),
        };
        let route =
            |name: &str, prefix: &str, upstream: &str, rewrite: Option<&str>, auth| RouteConfig {
                name: name.to_owned(),
                prefix: prefix.to_owned(),
                exact: false,
                methods: Vec::new(),
                strip_prefix: false,
                rewrite_prefix: rewrite.map(str::to_owned),
                upstream: upstream.to_owned(),
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
            };
        let scoped = |scopes: &[&str], route: RouteConfig| RouteConfig {
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            ..route
        };
        // The OAuth endpoints: errors the gateway makes there speak RFC 6749 too.
        let oauth = |route: RouteConfig| RouteConfig {
            oauth_errors: true,
            ..route
        };
        // Every signed-in route: a generous per-user rate and a daily quota.
        let limited = |route: RouteConfig| RouteConfig {
            rate_limits: vec!["per-user".to_owned(), "daily".to_owned()],
            ..route
        };
        // The class reset (`scripts/class reset`, docs/instructor/README.md): each service's
        // `POST /admin/reset` — the backends' toggles back to their start, the auth-service's
        // login locks lifted — for ADMINs only, like the toggles.
        let resets = ["auth", "users", "billing"].map(|service| {
            limited(RouteConfig {
                exact: true,
                methods: vec!["POST".to_owned()],
                roles: vec!["ADMIN".to_owned()],
                ..route(
                    &format!("demo-reset-{service}"),
                    &format!("/api/demo/reset/{service}"),
                    service,
                    Some("/admin/reset"),
                    AuthMode::Required,
                )
            })
        });
        let (rate_limits, quotas) = demo_policies();
        Config {
            demo: true,
            server: ServerConfig::default(),
            auth: VerifierConfig::demo(),
            trusted_proxies: Vec::new(),
            rate_limits,
            quotas,
            redis: None,
            // On loopback, at a port the OS chooses: tests start many demo gateways at once.
            // The demo launcher (`src/lib.rs`) puts it on 9080; `gateway.demo.toml` leaves the
            // default, 127.0.0.1:9080 — the one place where the file and this function differ.
            admin: AdminConfig {
                listen: SocketAddr::from(([127, 0, 0, 1], 0)),
                token: None,
            },
            reload: ReloadConfig::default(),
            tracing: TracingConfig::default(),
            // On, as in every demo: `console.enabled` unset follows `demo`.
            console: ConsoleConfig::default(),
            upstreams: vec![
                upstream("auth", 8081),
                upstream("users", 8082),
                upstream("billing", 8083),
                // The billing-service's next release, the canary of the `billing` route's
                // split (docs/exercises/17-canary.md): the same binary with `version = 2`.
                upstream("billing-v2", 8084),
            ],
            routes: vec![
                route("auth", "/api/auth", "auth", Some("/auth"), AuthMode::Public),
                oauth(route(
                    "oauth",
                    "/api/oauth",
                    "auth",
                    Some("/oauth"),
                    AuthMode::Public,
                )),
                // The discovery documents and the JWKS are the same for everyone and say
                // `public, max-age=300`: the gateway answers them from its cache for a minute.
                RouteConfig {
                    response_cache: Some(ResponseCacheConfig {
                        ttl_ms: 60_000,
                        shared: true,
                        max_entries: 16,
                        max_bytes: 256 * 1024,
                        max_entry_bytes: 64 * 1024,
                    }),
                    ..route("well-known", "/.well-known", "auth", None, AuthMode::Public)
                },
                // `GET /api/users` is the list of every user: ADMIN only. `exact` keeps the rule
                // off `/api/users/me`, which any valid token may read.
                //
                // Scopes (see `crate::policy`): a user's login token carries none and keeps
                // what its role allows; an OAuth token must hold one of the route's scopes, so
                // `reporting-job` (`billing:read`) reads billing and nothing else.
                limited(scoped(
                    &["profile"],
                    RouteConfig {
                        exact: true,
                        methods: vec!["GET".to_owned()],
                        roles: vec!["ADMIN".to_owned()],
                        ..route(
                            "users-list",
                            "/api/users",
                            "users",
                            Some("/users"),
                            AuthMode::Required,
                        )
                    },
                )),
                limited(scoped(
                    &["profile"],
                    route(
                        "users",
                        "/api/users",
                        "users",
                        Some("/users"),
                        AuthMode::Required,
                    ),
                )),
                // Reading billing needs `billing` or `billing:read`; changing it, `billing`.
                // A page on a student's front-end dev server may read it (CORS); the browser's
                // cookies stay at the gateway (the API takes tokens); and version 2 of the
                // billing-service is deployed but drained, ready for a canary rollout.
                limited(scoped(
                    &["billing", "billing:read"],
                    RouteConfig {
                        methods: vec!["GET".to_owned()],
                        cors: Some(CorsConfig {
                            allow_origins: vec!["http://localhost:3000".to_owned()],
                            allow_methods: vec!["GET".to_owned()],
                            allow_headers: vec!["Authorization".to_owned()],
                            expose_headers: vec!["X-Billing-Version".to_owned()],
                            allow_credentials: false,
                            max_age_s: 600,
                        }),
                        headers: Some(HeadersConfig {
                            request: HeaderRewrites {
                                remove: vec!["Cookie".to_owned()],
                                ..HeaderRewrites::default()
                            },
                            response: HeaderRewrites::default(),
                        }),
                        split: Some(SplitConfig {
                            sticky: true,
                            weights: vec![
                                WeightConfig {
                                    upstream: "billing".to_owned(),
                                    weight: 100,
                                },
                                WeightConfig {
                                    upstream: "billing-v2".to_owned(),
                                    weight: 0,
                                },
                            ],
                        }),
                        ..route(
                            "billing",
                            "/api/billing",
                            "billing",
                            Some("/billing"),
                            AuthMode::Required,
                        )
                    },
                )),
                limited(scoped(
                    &["billing"],
                    RouteConfig {
                        methods: ["POST", "PUT", "PATCH", "DELETE"]
                            .map(str::to_owned)
                            .to_vec(),
                        ..route(
                            "billing-write",
                            "/api/billing",
                            "billing",
                            Some("/billing"),
                            AuthMode::Required,
                        )
                    },
                )),
                // Login protection at the edge: the password endpoints get their own routes
                // (longest prefix wins) with a per-IP flood limit. Guessing one account's
                // password is stopped by the auth-service, which alone knows whether a login
                // failed and counts only failures (see docs/rate-limiting.md).
                RouteConfig {
                    rate_limits: vec!["login-ip".to_owned()],
                    ..route(
                        "login",
                        "/api/auth/login",
                        "auth",
                        Some("/auth/login"),
                        AuthMode::Public,
                    )
                },
                // Registration hashes a password (argon2) whatever the answer, so it is
                // limited per address like the logins, with its own, roomier policy.
                RouteConfig {
                    rate_limits: vec!["register-ip".to_owned()],
                    ..route(
                        "register",
                        "/api/auth/register",
                        "auth",
                        Some("/auth/register"),
                        AuthMode::Public,
                    )
                },
                RouteConfig {
                    rate_limits: vec!["login-ip".to_owned()],
                    oauth_errors: true,
                    ..route(
                        "oauth-token",
                        "/api/oauth/token",
                        "auth",
                        Some("/oauth/token"),
                        AuthMode::Public,
                    )
                },
                // Revocation and introspection check a client's argon2-hashed secret too: the
                // same per-IP limit keeps them from being a way to make the service hash freely.
                RouteConfig {
                    rate_limits: vec!["login-ip".to_owned()],
                    oauth_errors: true,
                    ..route(
                        "oauth-revoke",
                        "/api/oauth/revoke",
                        "auth",
                        Some("/oauth/revoke"),
                        AuthMode::Public,
                    )
                },
                RouteConfig {
                    rate_limits: vec!["login-ip".to_owned()],
                    oauth_errors: true,
                    ..route(
                        "oauth-introspect",
                        "/api/oauth/introspect",
                        "auth",
                        Some("/oauth/introspect"),
                        AuthMode::Public,
                    )
                },
                // The authorization endpoint's login form (GET) and its submission (POST) check
                // passwords: the login's per-IP limit.
                RouteConfig {
                    rate_limits: vec!["login-ip".to_owned()],
                    ..route(
                        "oauth-authorize",
                        "/api/oauth/authorize",
                        "auth",
                        Some("/oauth/authorize"),
                        AuthMode::Public,
                    )
                },
                // The console's latency switch (docs/console.md): each backend's teaching
                // toggles, published through the gateway for ADMINs only, so a class can slow
                // both backends down and watch the dashboard's calls overlap. Compose does not
                // publish the backends' own ports; these two routes are the only way in, and
                // the backends check the ADMIN role again themselves.
                limited(RouteConfig {
                    exact: true,
                    methods: vec!["GET".to_owned(), "PUT".to_owned()],
                    roles: vec!["ADMIN".to_owned()],
                    ..route(
                        "demo-toggles-users",
                        "/api/demo/toggles/users",
                        "users",
                        Some("/admin/toggles"),
                        AuthMode::Required,
                    )
                }),
                limited(RouteConfig {
                    exact: true,
                    methods: vec!["GET".to_owned(), "PUT".to_owned()],
                    roles: vec!["ADMIN".to_owned()],
                    ..route(
                        "demo-toggles-billing",
                        "/api/demo/toggles/billing",
                        "billing",
                        Some("/admin/toggles"),
                        AuthMode::Required,
                    )
                }),
            ]
            .into_iter()
            .chain(resets)
            .collect(),
            // The lecture's aggregation: the profile is essential, the billing parts are not.
            aggregates: vec![AggregateConfig {
                name: "dashboard".to_owned(),
                path: "/api/dashboard".to_owned(),
                auth: AuthMode::Required,
                roles: Vec::new(),
                // The dashboard is the caller's profile first: the profile's scope.
                scopes: vec!["profile".to_owned()],
                timeout_ms: super::default_aggregate_timeout_ms(),
                max_call_bytes: super::default_aggregate_max_call_bytes(),
                calls: vec![
                    call("profile", "users", "/users/me", true),
                    call("invoices", "billing", "/billing/invoices", false),
                    call("summary", "billing", "/billing/summary", false),
                ],
                rate_limits: vec!["per-user".to_owned(), "daily".to_owned()],
                cache: None,
            }],
        }
    }
}

/// The demo's policies (`gateway.demo.toml` holds the same): a generous per-user rate for the
/// API, a per-IP limit for the login endpoints, a per-IP limit on registration, and a daily
/// quota.
///
/// There is deliberately no per-account login policy here. The gateway decides before it
/// forwards, so it cannot tell a failed login from a successful one: a per-account count at the
/// edge counts successes too, and a student who logs in a dozen times in a few minutes (or a
/// room sharing one account) was refused. The per-account limit lives where the outcome is
/// known — the auth-service's throttle, which counts failures only (`auth_service::throttle`).
pub fn demo_policies() -> (Vec<RateLimitConfig>, Vec<QuotaConfig>) {
    let policy = |name: &str, rate, per, burst, key: &[KeyPart]| RateLimitConfig {
        name: name.to_owned(),
        rate,
        period_secs: None,
        per: Some(per),
        burst: Some(burst),
        key: key.to_vec(),
        backend: Backend::Local,
        on_redis_error: OnRedisError::Open,
    };
    (
        vec![
            policy("per-user", 600, Per::Minute, 100, &[KeyPart::User]),
            policy("login-ip", 60, Per::Minute, 20, &[KeyPart::Ip]),
            // A classroom of 40 behind one address registers at once (burst 40); after that,
            // 10 a minute — a script needs hours, not seconds, for a few thousand tries.
            policy("register-ip", 10, Per::Minute, 40, &[KeyPart::Ip]),
        ],
        vec![QuotaConfig {
            name: "daily".to_owned(),
            limit: 10_000,
            per: QuotaPer::Day,
            backend: Backend::Local,
            on_redis_error: OnRedisError::Open,
        }],
    )
}
