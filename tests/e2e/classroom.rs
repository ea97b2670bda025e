//! Classroom mode's promise (issue #19), on an injected clock: forty students behind ONE address
//! log in within 5 s, then each logs in about eleven times a minute for ten minutes, and nobody
//! gets a 429 — while a brute-force loop on one account, run all along, is still throttled.
//!
//! The real auth-service and the real gateway, both on one [`ManualClock`] (the rate limiter's
//! GCRA and the auth-service's lock read it), over loopback HTTP. No sleeps: ten minutes of
//! class pass in the time the password hashes take. The students' rounds are fired all at once
//! (forty logins at the same instant, every 60/11 s) — harsher than a real room, where they
//! spread out. The attacker comes from a second loopback address (127.0.0.2), so the two are
//! told apart as two clients would be.

use serde_json::json;
use shared::clock::ManualClock;
use shared::demo::classroom;
use std::{net::SocketAddr, time::Duration};

struct Classroom {
    gateway: SocketAddr,
    clock: ManualClock,
}

/// The auth-service in classroom mode and the demo gateway sized for a classroom, on `clock`.
async fn start() -> Classroom {
    let clock = ManualClock::new();
    let mut auth_config = auth_service::Config::demo();
    auth_config.server.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    auth_config.classroom.enabled = true;
    let auth = auth_service::build_with_clock(auth_config, clock.shared())
        .await
        .unwrap();
    let auth_addr = auth.local_addr();
    tokio::spawn(auth.run_until(std::future::pending()));

    let mut config = gateway::Config::demo();
    config.server.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.admin.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    for upstream in &mut config.upstreams {
        // Only the login API is used; every upstream points at the auth-service so nothing
        // probes a port that belongs to someone else.
        upstream.targets = vec![format!("http://{auth_addr}")];
    }
    api_gateway_pattern::size_for_classroom(&mut config);
    let gateway = gateway::build_with_clock(config, clock.shared())
        .await
        .unwrap();
    let addr = gateway.local_addr();
    tokio::spawn(gateway.run_until(std::future::pending()));
    Classroom {
        gateway: addr,
        clock,
    }
}

/// What a login answered: status, problem reason (`None` for a 200), and the device cookie set.
struct Answer {
    status: u16,
    reason: Option<String>,
    device_cookie: Option<String>,
}

/// One login through the gateway, sending `cookie` (`device=…`) when the client has one — as a
/// browser, or `curl -b`, would.
async fn login(
    client: &reqwest::Client,
    gateway: SocketAddr,
    email: &str,
    password: &str,
    cookie: Option<&str>,
) -> Answer {
    let mut request = client
        .post(format!("http://{gateway}/api/auth/login"))
        .json(&json!({"email": email, "password": password}));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let device_cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_owned);
    let body: serde_json::Value = response.json().await.unwrap();
    Answer {
        status,
        reason: body["reason"].as_str().map(str::to_owned),
        device_cookie,
    }
}

/// One student at a keyboard: their account and the device cookie their browser keeps.
#[derive(Clone)]
struct Student {
    email: String,
    password: String,
    cookie: Option<String>,
}

/// Every student logs in at the same instant; each keeps the device cookie it gets. Returns the
/// failures (`email: status reason`).
async fn round(gateway: SocketAddr, client: &reqwest::Client, room: &mut [Student]) -> Vec<String> {
    let mut set = tokio::task::JoinSet::new();
    for (i, student) in room.iter().enumerate() {
        let (client, student) = (client.clone(), student.clone());
        set.spawn(async move {
            let answer = login(
                &client,
                gateway,
                &student.email,
                &student.password,
                student.cookie.as_deref(),
            )
            .await;
            (i, answer)
        });
    }
    let mut failures = Vec::new();
    while let Some(joined) = set.join_next().await {
        let (i, answer) = joined.unwrap();
        if answer.status == 200 {
            room[i].cookie = answer.device_cookie.or(room[i].cookie.take());
        } else {
            failures.push(format!(
                "{}: {} {:?}",
                room[i].email, answer.status, answer.reason
            ));
        }
    }
    failures
}

#[tokio::test]
async fn forty_students_behind_one_address_are_never_refused_while_a_guesser_is() {
    let class = start().await;
    let started = std::time::Instant::now();
    let client = reqwest::Client::new();
    // The attacker: another machine, as far as the gateway can tell.
    let attacker = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let mut room: Vec<Student> = classroom::students()
        .map(|s| Student {
            email: s.email,
            password: s.password,
            cookie: None,
        })
        .collect();
    // The guesser targets a student who keeps working all along.
    let victim = room[6].email.clone();

    // The start of class: all forty at the same instant (well within 5 s).
    let failures = round(class.gateway, &client, &mut room).await;
    assert!(failures.is_empty(), "at the start: {failures:?}");
    let mut logins = room.len();

    // Ten minutes of exercises: each student logs in every 60/11 s (about 11 a minute). Between
    // two rounds the guesser tries the victim's password five times a second.
    let every = Duration::from_millis(60_000 / 11);
    let guesses_per_gap: u32 = 27;
    let (mut checked, mut throttled) = (0, 0);
    let mut elapsed = Duration::ZERO;
    while elapsed < Duration::from_secs(600) {
        for i in 0..guesses_per_gap {
            class.clock.advance(every / guesses_per_gap);
            let answer = login(
                &attacker,
                class.gateway,
                &victim,
                &format!("guess-{i}"),
                None,
            )
            .await;
            match (answer.status, answer.reason.as_deref()) {
                (401, Some("invalid_credentials")) => checked += 1,
                (429, Some("too_many_attempts" | "rate_limited")) => throttled += 1,
                other => panic!("the guesser got {other:?}"),
            }
        }
        elapsed += every;
        let failures = round(class.gateway, &client, &mut room).await;
        assert!(
            failures.is_empty(),
            "after {} s of class: {failures:?}",
            elapsed.as_secs()
        );
        logins += room.len();
    }
    assert!(logins >= 40 * 111, "{logins} student logins");
    // The guesser tried about 3,000 times in ten minutes; the account's lock (5 failures, then
    // 30 s doubling up to 15 min) let only a handful of those reach the password check. The
    // victim kept logging in throughout: their browser's device cookie gets them past the lock
    // the guesser earned (auth_service::device).
    assert!(
        checked <= 10,
        "{checked} guesses reached the password check"
    );
    assert!(throttled >= 2900, "{throttled} guesses were throttled");
    println!(
        "classroom: {logins} student logins without a 429; the guesser: {checked} checked, \
         {throttled} throttled; {:.1} s of wall time",
        started.elapsed().as_secs_f64()
    );
}

/// The launcher in classroom mode: a student logs in with their own account and finds their
/// profile (seeded by both services from the same constants), and the gateway's login limit is
/// the classroom's.
#[tokio::test]
async fn the_launchers_classroom_mode_seeds_accounts_and_profiles() {
    let mut options = api_gateway_pattern::DemoOptions::new(api_gateway_pattern::Ports::ANY);
    options.settings.classroom = true;
    let demo = crate::helpers::TestDemo::start_with(options).await;
    let student = classroom::student(7);
    let response = demo
        .client
        .post(demo.gateway("/api/auth/login"))
        .json(&json!({"email": student.email, "password": student.password}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["ratelimit-policy"],
        "\"login-ip\";q=600;w=60"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap();
    let me: serde_json::Value = demo.get("/api/users/me", token).await.json().await.unwrap();
    assert_eq!(
        me,
        json!({"id": "2100000007", "email": "student07@example.edu", "name": "Student 07", "role": "STUDENT"})
    );
}

/// On an address the room can reach, the launcher refuses the public admin password and says
/// which variable to set; with one set, `admin123` no longer works.
#[tokio::test]
async fn beyond_loopback_the_launcher_needs_the_instructors_admin_password() {
    let settings = api_gateway_pattern::Settings::from_lookup(|name| match name {
        "CLASSROOM" => Some("1".to_owned()),
        "GATEWAY_HOST" => Some("0.0.0.0".to_owned()),
        _ => None,
    })
    .unwrap();
    let mut options = api_gateway_pattern::DemoOptions::new(api_gateway_pattern::Ports::ANY);
    options.settings = settings.clone();
    let error = api_gateway_pattern::Demo::start_with(options)
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(error.contains("DEMO_ADMIN_PASSWORD"), "{error}");
    assert!(error.contains("admin123"), "{error}");

    // With the instructor's password (and loopback, so the test reaches no other interface).
    let mut options = api_gateway_pattern::DemoOptions::new(api_gateway_pattern::Ports::ANY);
    options.settings = api_gateway_pattern::Settings {
        admin_password: Some("correct horse battery".into()),
        ..api_gateway_pattern::Settings::from_lookup(|name| {
            (name == "CLASSROOM").then(|| "yes".to_owned())
        })
        .unwrap()
    };
    let demo = crate::helpers::TestDemo::start_with(options).await;
    let login = |password: &'static str| {
        demo.client
            .post(demo.gateway("/api/auth/login"))
            .json(&json!({"email": shared::demo::admin::EMAIL, "password": password}))
            .send()
    };
    assert_eq!(login("admin123").await.unwrap().status(), 401);
    assert_eq!(login("correct horse battery").await.unwrap().status(), 200);

    // Values that do not parse are refused by name.
    for (name, value) in [
        ("CLASSROOM", "maybe"),
        ("GATEWAY_HOST", "everywhere"),
        ("ACCESS_TOKEN_TTL_SECS", "1m"),
    ] {
        let error =
            api_gateway_pattern::Settings::from_lookup(|n| (n == name).then(|| value.to_owned()))
                .expect_err("refused")
                .to_string();
        assert!(error.contains(name), "{error}");
    }
}
