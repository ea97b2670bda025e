//! Slow and silent clients: connections that hold a place without finishing a request
//! (slowloris, CVE-2007-6750, and its silent cousins). Every one is closed within its deadline,
//! reaches no backend, and never costs another client its answer.
//!
//! The deadlines (`shared/src/server.rs`, `ServerLimits`): a new connection must deliver a
//! complete request head within `first_request_timeout_ms` of being accepted, whatever it sends
//! first; a head must arrive within `header_read_timeout_ms` once reading starts (so an idle
//! keep-alive connection is closed too); one address holds at most
//! `max_connections_per_address` connections, trusted proxies exempt.

use crate::helpers::{Echo, TestGateway, test_config};
use std::time::{Duration, Instant};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
};

const FIRST_REQUEST_MS: u64 = 300;
const HEADER_READ_MS: u64 = 500;
/// Scheduling slack on a busy 2-core CI machine; a connection left open fails at 5 s.
const SLACK: Duration = Duration::from_millis(1500);

/// What a row's client does after connecting.
enum Client {
    /// Writes these bytes at once, then nothing.
    Sends(&'static [u8]),
    /// Writes these bytes one at a time, this far apart, then nothing.
    Trickles(&'static [u8], Duration),
}

async fn gateway() -> TestGateway {
    let echo = Echo::spawn().await;
    let mut config = test_config(echo.addr).await;
    config.server.limits.first_request_timeout_ms = FIRST_REQUEST_MS;
    config.server.limits.header_read_timeout_ms = HEADER_READ_MS;
    TestGateway::serve_with(echo, config).await
}

/// Reads until the gateway closes the connection: how long that took and what it wrote, or
/// `None` if it was still open after five seconds.
async fn until_closed(stream: &mut TcpStream, since: Instant) -> Option<(Duration, String)> {
    let mut buf = Vec::new();
    match tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buf)).await {
        Ok(_) => Some((since.elapsed(), String::from_utf8_lossy(&buf).into_owned())),
        Err(_) => None,
    }
}

#[tokio::test]
async fn silent_and_slow_connections_are_closed_within_their_deadline() {
    let first = Duration::from_millis(FIRST_REQUEST_MS);
    let idle = Duration::from_millis(HEADER_READ_MS);
    // (what the client does, what it stands for, the deadline, statuses answered before the close)
    let cases: Vec<(Client, &str, Duration, &[u16])> = vec![
        (
            Client::Sends(b""),
            "a socket that never sends a byte (the silent-connection hole of #17)",
            first,
            &[],
        ),
        (
            Client::Sends(b"PRI * HTTP/2.0\r\n"),
            "half an HTTP/2 preface (RFC 9113 §3.4): stuck in protocol detection",
            first,
            &[],
        ),
        (
            Client::Sends(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
            "the whole HTTP/2 preface, then no request",
            first,
            &[],
        ),
        (
            Client::Sends(b"GET /api/public/x HTTP/1.1\r\nHost: gw\r\n"),
            "half a request head (slowloris, CVE-2007-6750)",
            first,
            &[],
        ),
        (
            Client::Trickles(
                b"GET /api/public/x HTTP/1.1\r\nHost: gw\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa",
                Duration::from_millis(50),
            ),
            "a head trickled a byte at a time, each byte within any per-read timeout",
            first,
            &[],
        ),
        (
            Client::Sends(b"GET /api/public/x HTTP/1.1\r\nHost: gw\r\n\r\n"),
            "one request, then an idle keep-alive connection (RFC 9112 §9.5)",
            idle,
            &[200],
        ),
    ];
    let gw = gateway().await;
    let mut failures = Vec::new();
    for (client, stands_for, deadline, statuses) in cases {
        let mut stream = TcpStream::connect(gw.addr()).await.unwrap();
        let since = Instant::now();
        match client {
            Client::Sends(bytes) => stream.write_all(bytes).await.unwrap(),
            Client::Trickles(bytes, gap) => {
                for byte in bytes {
                    if stream.write_all(&[*byte]).await.is_err() {
                        break; // closed under our feet: what the row expects
                    }
                    tokio::time::sleep(gap).await;
                }
            }
        }
        match until_closed(&mut stream, since).await {
            None => failures.push(format!("{stands_for}: still open after 5 s")),
            Some((took, written)) => {
                let answered: Vec<u16> = written
                    .match_indices("HTTP/1.1 ")
                    .filter_map(|(at, _)| written.get(at + 9..at + 12)?.parse().ok())
                    .collect();
                if took > deadline + SLACK || answered != statuses {
                    failures.push(format!(
                        "{stands_for}: closed after {took:?} (deadline {deadline:?}), answered {answered:?}"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Only the one complete request reached the backend.
    assert_eq!(gw.echo.seen(), ["GET /x"]);
}

/// `count` silent connections from 127.0.0.1, kept open.
async fn hold(gw: &TestGateway, count: usize) -> Vec<TcpStream> {
    let mut held = Vec::new();
    for _ in 0..count {
        held.push(TcpStream::connect(gw.addr()).await.unwrap());
    }
    held
}

/// Sends one request from `source` and returns the status, or `None` when the connection is
/// closed without an answer.
async fn request_from(gw: &TestGateway, source: &str) -> Option<u16> {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(source.parse().unwrap()).unwrap();
    let mut stream = socket.connect(gw.addr()).await.unwrap();
    let _ = stream
        .write_all(b"GET /api/public/x HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
        .await;
    let (_, written) = until_closed(&mut stream, Instant::now())
        .await
        .expect("closed or answered, never left open");
    written.get(9..12).and_then(|s| s.parse().ok())
}

#[tokio::test]
async fn one_address_holding_its_cap_cannot_starve_another() {
    // The per-address cap: the finding of #17 was ~10,000 silent sockets from one client
    // filling the global cap, so that nobody else was answered.
    let echo = Echo::spawn().await;
    let mut config = test_config(echo.addr).await;
    config.server.limits.max_connections_per_address = 2;
    let gw = TestGateway::serve_with(echo, config).await;
    let _held = hold(&gw, 2).await;
    assert_eq!(
        request_from(&gw, "127.0.0.1:0").await,
        None,
        "the holder's third connection is closed at once"
    );
    assert_eq!(
        request_from(&gw, "127.0.0.2:0").await,
        Some(200),
        "another address is answered"
    );
}

#[tokio::test]
async fn a_trusted_proxy_is_exempt_from_the_per_address_cap() {
    // A load balancer carries many clients on its one address: it must not be capped like one.
    let echo = Echo::spawn().await;
    let mut config = test_config(echo.addr).await;
    config.server.limits.max_connections_per_address = 2;
    config.trusted_proxies = vec!["127.0.0.1/32".into()];
    let gw = TestGateway::serve_with(echo, config).await;
    let _held = hold(&gw, 2).await;
    assert_eq!(request_from(&gw, "127.0.0.1:0").await, Some(200));
}
