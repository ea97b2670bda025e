//! What a rate-limit check adds to a request: one check in-process, and one against Redis
//! (a round trip to the server) when `REDIS_URL` is set.
//!
//! ```text
//! cargo bench -p gateway --bench ratelimit
//! REDIS_URL=redis://127.0.0.1:6379 cargo bench -p gateway --bench ratelimit
//! ```

use criterion::{Criterion, criterion_group, criterion_main};
use gateway::{
    Config,
    config::{Backend, KeyPart, OnRedisError, RateLimitConfig, RedisConfig},
    ratelimit::{Limiter, key::Subject},
};
use shared::clock::SystemClock;
use std::hint::black_box;

fn config(backend: Backend, redis: Option<&str>) -> Config {
    let mut config = Config::demo();
    config.redis = redis.map(RedisConfig::new);
    // Generous enough that every check passes: the allowed path is the common one.
    config.rate_limits.push(RateLimitConfig {
        name: "bench".into(),
        rate: 1_000_000_000,
        period_secs: Some(1),
        per: None,
        burst: Some(1_000_000_000),
        key: vec![KeyPart::User],
        backend,
        on_redis_error: OnRedisError::Open,
    });
    config
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _guard = rt.enter();
    let subject = |user| Subject {
        user: Some(user),
        ip: None,
        route: "users",
        account: None,
    };
    let users: Vec<String> = (0..1_000).map(|i| format!("user-{i}")).collect();

    let cfg = config(Backend::Local, None);
    let limiter = Limiter::new(&cfg, SystemClock::shared()).unwrap();
    let attached = limiter.resolve(&["bench".to_owned()]);
    let mut i = 0;
    c.bench_function("ratelimit check, in-process", |b| {
        b.to_async(&rt).iter(|| {
            i = (i + 1) % users.len();
            let subject = subject(&users[i]);
            let limiter = &limiter;
            let attached = &attached;
            async move { black_box(limiter.check(attached, &subject).await.is_ok()) }
        });
    });

    let Ok(url) = std::env::var("REDIS_URL") else {
        println!("REDIS_URL not set: skipping the Redis benchmark");
        return;
    };
    let cfg = config(Backend::Redis, Some(&url));
    let limiter = Limiter::new(&cfg, SystemClock::shared()).unwrap();
    let attached = limiter.resolve(&["bench".to_owned()]);
    let mut i = 0;
    c.bench_function("ratelimit check, Redis", |b| {
        b.to_async(&rt).iter(|| {
            i = (i + 1) % users.len();
            let subject = subject(&users[i]);
            let limiter = &limiter;
            let attached = &attached;
            async move {
                let verdict = limiter.check(attached, &subject).await;
                black_box(verdict.is_ok())
            }
        });
    });
    assert_eq!(limiter.redis_errors(), 0, "Redis answered every check");
}

criterion_group!(benches, bench);
criterion_main!(benches);
