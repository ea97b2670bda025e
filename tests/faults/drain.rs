//! Drain: `SIGTERM` to a gateway process under load — what `docker stop` and every orchestrator
//! send before they kill.
//!
//! The user-service is made slow on purpose (its `latency_ms` teaching toggle), so that when the
//! signal lands, [`SLOW`] requests are waiting on it inside the gateway, while a steady load of
//! fast requests keeps arriving. A graceful gateway then:
//!
//! - stops accepting at once: a new connection is refused while the slow requests are still in
//!   flight (a load balancer's health check sees it and sends traffic elsewhere);
//! - lets every request already accepted finish with its normal answer: no reset connection,
//!   no 5xx;
//! - exits 0 as soon as the last one is answered — well within `drain_timeout_ms`, which only
//!   bounds how long a stuck request may delay the exit.
//!
//! Requests sent after the signal may be served (they reached a connection that was still
//! open) or refused (a new connection): both are correct, and neither may be a 5xx. One more
//! answer is possible for them, and only for them: a keep-alive connection that was idle at the
//! signal is closed, and a request the client wrote onto it at that very moment meets the close
//! (`connection closed before message completed`). That is HTTP/1.1's keep-alive race — the
//! same as when any server closes an idle connection — which RFC 9112 §9.3.1 leaves to clients
//! to retry (an idempotent request on a reused connection); the run counts these apart. A
//! request sent before the signal has no such excuse: it must get its normal answer.

use crate::support::*;
use api_gateway_pattern::{Demo, Ports};
use std::{
    io::ErrorKind,
    time::{Duration, Instant},
};

/// Requests in flight on the slow backend when the signal lands.
const SLOW: usize = 20;
/// How long the slow backend takes to answer.
const SLOW_MS: u64 = 1_500;
/// The gateway's `[server.limits] drain_timeout_ms` in this run.
const DRAIN_TIMEOUT_MS: u64 = 10_000;
/// The steady load of fast requests, per second.
const FAST_RATE: f64 = 50.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "fault run: .ci/run runs it"]
async fn sigterm_under_load_finishes_every_request_in_flight_and_refuses_new_connections() {
    let demo = Demo::start(Ports::ANY).await.unwrap();
    let mut gw = GatewayProcess::start(
        "drain",
        &demo,
        &[(
            "GATEWAY__SERVER__LIMITS__DRAIN_TIMEOUT_MS",
            DRAIN_TIMEOUT_MS.to_string(),
        )],
    )
    .await;
    let client = client();
    let student = access_token(&login(&client, &gw.url, "student@example.edu", "student123").await);
    let admin = access_token(&login(&client, &gw.url, "admin@example.edu", "admin123").await);
    toggles(&client, demo.addresses.users, &admin, SLOW_MS).await;

    let load = {
        let (client, url, token) = (
            client.clone(),
            gw.at("/api/billing/invoices"),
            student.clone(),
        );
        Load::start(
            FAST_RATE,
            Box::new(move |_| ("fast", client.get(&url).bearer_auth(&token))),
        )
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let slow: Vec<_> = (0..SLOW)
        .map(|_| {
            let request = client.get(gw.at("/api/users/me")).bearer_auth(&student);
            tokio::spawn(send("slow", Instant::now(), request))
        })
        .collect();
    // They are now waiting on the slow backend, inside the gateway.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let signalled = Instant::now();
    gw.signal("TERM");
    // A new connection is refused while the slow requests are still being answered.
    let refused_after = loop {
        match tokio::net::TcpStream::connect(gw.addr()).await {
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => break signalled.elapsed(),
            _ => {
                assert!(
                    signalled.elapsed() < Duration::from_secs(1),
                    "the gateway still accepts connections a second after SIGTERM"
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    };
    let still_in_flight = slow.iter().filter(|s| !s.is_finished()).count();

    let exit = gw
        .wait_exit(Duration::from_millis(DRAIN_TIMEOUT_MS + 5_000))
        .await;
    let exited_after = signalled.elapsed();
    // Past the exit, the load meets a closed port for a moment: those are the refused ones.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let fast = load.stop().await;
    let mut slow_outcomes = Vec::new();
    for handle in slow {
        slow_outcomes.push(handle.await.unwrap());
    }

    let before: Vec<&Outcome> = fast.iter().filter(|o| o.due < signalled).collect();
    let after: Vec<&Outcome> = fast.iter().filter(|o| o.due >= signalled).collect();
    let served_after = after.iter().filter(|o| o.is(200, None)).count();
    let refused = after.iter().filter(|o| o.refused()).count();
    // Written onto a keep-alive connection as the gateway closed it (see the module's doc).
    let idle_close_race = |o: &Outcome| matches!(o.answer, Answer::Failed { connect: false, .. });
    let raced = after.iter().filter(|o| idle_close_race(o)).count();
    let ok = |o: &Outcome| o.is(200, None);
    // After the signal: served, refused, or caught in the idle close race. Never a 5xx.
    let ok_after = |o: &Outcome| o.is(200, None) || o.refused() || idle_close_race(o);
    let broken_after = after.iter().filter(|o| !ok_after(o)).count();
    let slow_tally = Tally::of(&slow_outcomes, ok);
    let before_tally = Tally::of(before.iter().copied(), ok);
    report(
        "drain",
        &format!(
            "in_flight_at_sigterm={SLOW} drained={} still_in_flight_when_refusing={still_in_flight} \
             fast_before={} fast_before_unexpected={} fast_after_served={served_after} \
             fast_after_refused={refused} fast_after_idle_close_race={raced} \
             fast_after_other={broken_after} \
             new_connections_refused_after={}ms exit={:?} exit_after={}ms \
             (backend latency {SLOW_MS}ms, drain timeout {DRAIN_TIMEOUT_MS}ms) slow: {}",
            slow_tally.classes[1],
            before_tally.sent,
            before_tally.unexpected,
            refused_after.as_millis(),
            exit.and_then(|s| s.code()),
            exited_after.as_millis(),
            slow_tally.figures(),
        ),
    );

    let exit = exit.unwrap_or_else(|| panic!("no exit within the drain timeout:\n{}", gw.log()));
    assert!(exit.success(), "exit status {exit:?}:\n{}", gw.log());
    assert!(
        exited_after < Duration::from_millis(DRAIN_TIMEOUT_MS),
        "the exit waited for the drain timeout instead of the last request"
    );
    assert_eq!(
        slow_tally.unexpected,
        0,
        "requests in flight at SIGTERM:\n  {}",
        unexpected_sample(&slow_outcomes, ok)
    );
    assert!(
        still_in_flight > 0,
        "the refusal was checked only after the slow requests had finished"
    );
    assert_eq!(
        before_tally.unexpected,
        0,
        "requests sent before SIGTERM:\n  {}",
        unexpected_sample(&fast, |o| o.due >= signalled || ok(o))
    );
    assert_eq!(
        broken_after,
        0,
        "requests sent after SIGTERM were neither served nor refused (nor raced a closing \
         keep-alive connection):\n  {}",
        unexpected_sample(&fast, |o| o.due < signalled || ok_after(o))
    );
    assert!(refused > 0, "no request met the closed port");
}
