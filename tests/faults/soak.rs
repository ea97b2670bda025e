//! Soak: minutes at a steady rate through the routes and the aggregate, with logins and refreshes
//! alongside — zero unexpected answers, and the gateway's memory flat.
//!
//! The gateway runs as its own process ([`GatewayProcess`]: the `gateway` binary with the demo
//! configuration), so the memory sampled from `/proc/<pid>/status` is the gateway's alone, with
//! the allocator it ships with; the demo's services run in the test process behind it.
//!
//! What is sent, open loop, per 20 requests: 6 × `GET /api/users/me`, 5 × `/api/billing/invoices`,
//! 5 × `/api/dashboard` (three upstream calls each), 1 × `/api/billing/summary`, 1 × the
//! ADMIN-only `GET /api/users` as the admin, 1 × the same as a student (403 `role_required`),
//! 1 × the lecture's tampered token (401 `bad_signature`). The load is spread over enough
//! registered students (at least 16) that each sends at most [`PER_USER`] requests a second, under
//! the demo's per-user rate (600 a minute, burst 100), and the admin's share thins out at high
//! rates likewise: refusals here are the expected ones, not the limiter's. One sequential client
//! refreshes a session every 500 ms and logs in every 5 s (real argon2 hashing, real refresh
//! rotation); the GETs use whichever access token is current.
//!
//! Memory: VmRSS every second. Warm-up is the first third of the run, or longer if the ring of
//! 4096 decision records takes longer to fill (1.5 × its size in requests), while pools and
//! caches fill too. The run fails if the median of the second half of what follows exceeds the
//! median of its first half by more than [`RSS_GROWTH_BOUND`] — a leak of a few hundred
//! bytes a request shows up well past that in a long run.
//!
//! Run it longer than CI does (`FAULT_SOAK_RATE` sets the rate; `docs/faults.md` says what
//! happens past what the machine can take):
//!
//! ```sh
//! cargo build -p gateway --bin gateway
//! FAULT_SOAK_SECS=1800 cargo test --workspace --test faults soak -- --ignored --nocapture
//! ```
//!
//! The demo's daily quota (10,000 requests per user) would end a run of half an hour; the soak
//! raises it with `GATEWAY__QUOTAS__0__LIMIT`, as an operator would. Every other policy is the
//! demo's.

use crate::support::*;
use api_gateway_pattern::{Demo, Ports};
use serde_json::json;
use std::{
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

/// The most requests a second any one user sends: well under the demo's per-user rate (10).
const PER_USER: f64 = 6.0;

/// How much the gateway's resident memory may grow after warm-up, from the first half of the
/// samples to the second (medians). Measured on the debug build: 0–2 MiB, in steps of the
/// allocator's segments.
const RSS_GROWTH_BOUND: u64 = 4 * 1024 * 1024;

/// An access token and the refresh token that renews it.
#[derive(Clone)]
struct Session {
    access: String,
    refresh: String,
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "fault run: .ci/run runs it"]
async fn a_soak_at_a_steady_rate_answers_as_expected_with_flat_memory() {
    let secs = env_or("FAULT_SOAK_SECS", 90);
    let rate = env_or("FAULT_SOAK_RATE", 120);
    let demo = Demo::start(Ports::ANY).await.unwrap();
    let gw = GatewayProcess::start(
        "soak",
        &demo,
        &[("GATEWAY__QUOTAS__0__LIMIT", "1000000000".to_owned())],
    )
    .await;
    let client = client();
    // Students enough for PER_USER (each gets 18 of every 20 requests, spread evenly), and the
    // admin's list every `admin_every`th round of 20.
    let students = ((rate as f64 * 0.9 / PER_USER).ceil() as usize).max(16);
    let admin_every = (rate as f64 / 20.0 / PER_USER).ceil().max(1.0) as u64;

    // Accounts: students registered and logged in through the gateway, then the seeded admin
    // (the last session).
    let mut sessions = Vec::new();
    let mut accounts = Vec::new();
    for i in 0..students {
        let email = format!("soak-{i}@example.edu");
        let password = format!("soak-password-{i:04}");
        let response = client
            .post(gw.at("/api/auth/register"))
            .json(&json!({"email": email, "password": password, "name": format!("Soak {i}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "registration of {email}");
        accounts.push((email, password));
    }
    accounts.push(("admin@example.edu".to_owned(), "admin123".to_owned()));
    for (email, password) in &accounts {
        let body = login_paced(&client, &gw.url, email, password).await;
        sessions.push(Session {
            access: access_token(&body),
            refresh: body["refresh_token"].as_str().unwrap().to_owned(),
        });
    }
    let admin = students;
    let tampered = test_support::tokens::tamper_role_to_admin(&sessions[0].access);
    let sessions = Arc::new(RwLock::new(sessions));

    // Memory, sampled every second from the start of the load.
    let samples = Arc::new(RwLock::new(Vec::<u64>::new()));
    let sampler = {
        let samples = Arc::clone(&samples);
        let pid = gw.pid;
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(1));
            loop {
                every.tick().await;
                let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
                    return;
                };
                if let Some(kib) = status
                    .lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                {
                    samples.write().unwrap().push(kib * 1024);
                }
            }
        })
    };

    let load = {
        let sessions = Arc::clone(&sessions);
        let client = client.clone();
        let url = gw.url.clone();
        Load::start(
            rate as f64,
            Box::new(move |n| {
                let sessions = sessions.read().unwrap();
                let student = &sessions[n as usize % students].access;
                let get =
                    |path: &str, token: &str| client.get(format!("{url}{path}")).bearer_auth(token);
                match n % 20 {
                    0..=5 => ("me", get("/api/users/me", student)),
                    6..=10 => ("invoices", get("/api/billing/invoices", student)),
                    11..=15 => ("dashboard", get("/api/dashboard", student)),
                    16 => ("summary", get("/api/billing/summary", student)),
                    17 if (n / 20) % admin_every == 0 => {
                        ("admin-list", get("/api/users", &sessions[admin].access))
                    }
                    17 => ("me", get("/api/users/me", student)),
                    18 => ("student-list", get("/api/users", student)),
                    _ => ("tampered", get("/api/users/me", &tampered)),
                }
            }),
        )
    };

    // Sessions renewed alongside, one request at a time (a refresh token is single-use: two
    // refreshes of one token at once are a reuse, and revoke the family).
    let session_outcomes = {
        let sessions = Arc::clone(&sessions);
        let client = client.clone();
        let url = gw.url.clone();
        let until = Instant::now() + Duration::from_secs(secs);
        tokio::spawn(async move {
            let mut outcomes = Vec::new();
            let mut every = tokio::time::interval(Duration::from_millis(500));
            for turn in 0usize.. {
                let due = every.tick().await.into_std();
                if Instant::now() >= until {
                    break;
                }
                let i = turn % (students + 1);
                let (kind, request) = if turn % 10 == 9 {
                    let (email, password) = &accounts[i];
                    let body = json!({"email": email, "password": password});
                    (
                        "login",
                        client.post(format!("{url}/api/auth/login")).json(&body),
                    )
                } else {
                    let refresh = sessions.read().unwrap()[i].refresh.clone();
                    let body = json!({"refresh_token": refresh});
                    (
                        "refresh",
                        client.post(format!("{url}/api/auth/refresh")).json(&body),
                    )
                };
                // The body is needed for the new tokens: sent here rather than through `send`.
                let answer = request.send().await;
                let outcome = match answer {
                    Ok(response) if response.status() == 200 => {
                        let body: serde_json::Value = response.json().await.unwrap();
                        sessions.write().unwrap()[i] = Session {
                            access: access_token(&body),
                            refresh: body["refresh_token"].as_str().unwrap().to_owned(),
                        };
                        Outcome {
                            kind,
                            due,
                            latency: due.elapsed(),
                            answer: Answer::Status {
                                status: 200,
                                reason: None,
                                partial: None,
                            },
                        }
                    }
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let body: serde_json::Value = response.json().await.unwrap_or_default();
                        Outcome {
                            kind,
                            due,
                            latency: due.elapsed(),
                            answer: Answer::Status {
                                status,
                                reason: body["reason"].as_str().map(str::to_owned),
                                partial: None,
                            },
                        }
                    }
                    Err(error) => Outcome {
                        kind,
                        due,
                        latency: due.elapsed(),
                        answer: Answer::Failed {
                            connect: error.is_connect(),
                            error: error_chain(&error),
                        },
                    },
                };
                outcomes.push(outcome);
            }
            outcomes
        })
    };

    tokio::time::sleep(Duration::from_secs(secs)).await;
    let mut outcomes = load.stop().await;
    outcomes.extend(session_outcomes.await.unwrap());
    sampler.abort();
    let rss_end = gw.rss_bytes();

    let expected = |o: &Outcome| match o.kind {
        "dashboard" => o.is(200, None) && o.partial() == Some(false),
        "student-list" => o.is(403, Some("role_required")),
        "tampered" => o.is(401, Some("bad_signature")),
        _ => o.is(200, None),
    };
    let tally = Tally::of(&outcomes, expected);
    let samples = samples.read().unwrap().clone();
    // Warm-up: a third of the run, or until the decision ring has surely filled.
    let ring_fill = 1.5 * gateway::decision::RING_SIZE as f64 / rate as f64;
    let warm = (samples.len() / 3).max(ring_fill.ceil() as usize);
    assert!(
        samples.len() >= warm + 6,
        "too short to judge memory: {} s of samples, {warm} s of warm-up (raise FAULT_SOAK_SECS)",
        samples.len()
    );
    let median = |s: &[u64]| {
        let mut s = s.to_vec();
        s.sort_unstable();
        s[s.len() / 2]
    };
    let half = warm + (samples.len() - warm) / 2;
    let (middle, late) = (median(&samples[warm..half]), median(&samples[half..]));
    let growth = late.saturating_sub(middle);
    let logins = outcomes.iter().filter(|o| o.kind == "login").count();
    let refreshes = outcomes.iter().filter(|o| o.kind == "refresh").count();
    report(
        "soak",
        &format!(
            "secs={secs} rate={rate}/s users={} {} logins={logins} refreshes={refreshes} warm_up={warm}s rss_start={} \
             rss_after_warm_up={} rss_late={} rss_end={} rss_peak={} late_growth={} (bound {})",
            students + 1,
            tally.figures(),
            mib(samples[0]),
            mib(middle),
            mib(late),
            mib(rss_end),
            mib(samples.iter().copied().max().unwrap_or(0)),
            mib(growth),
            mib(RSS_GROWTH_BOUND),
        ),
    );

    assert_eq!(
        tally.unexpected,
        0,
        "unexpected answers:\n  {}",
        unexpected_sample(&outcomes, expected)
    );
    // Open loop: the generator kept its schedule (a stalled test would send less).
    let scheduled = rate * secs;
    assert!(
        tally.sent as u64 >= scheduled * 9 / 10,
        "sent {} of {scheduled}",
        tally.sent
    );
    assert!(
        growth <= RSS_GROWTH_BOUND,
        "the gateway's memory kept growing after warm-up: {} → {} (samples: {:?})",
        mib(middle),
        mib(late),
        samples.iter().map(|s| mib(*s)).collect::<Vec<_>>()
    );
}

/// A login that waits when the demo's per-address login limit (burst 20, then one a second)
/// says so: a run with more than 20 students logs them in as fast as that limit allows.
async fn login_paced(
    client: &reqwest::Client,
    gateway: &str,
    email: &str,
    password: &str,
) -> serde_json::Value {
    loop {
        let response = client
            .post(format!("{gateway}/api/auth/login"))
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .unwrap();
        if response.status() == 429 {
            let wait: u64 = response.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            tokio::time::sleep(Duration::from_secs(wait)).await;
            continue;
        }
        assert_eq!(response.status(), 200, "login of {email}");
        return response.json().await.unwrap();
    }
}
