//! W3C trace context through the gateway: the `traceparent` an upstream receives, the trace id
//! in the access log and the one in a problem body are the same; each upstream call is its own
//! span (its own parent id); a malformed `traceparent` starts a new trace instead of failing.

// Its own test binary, like `access_log.rs`: the tests read the gateway's log lines through a
// thread-local subscriber, which must not share tracing's callsite cache with threads that have
// none — so every test here installs one, even those that do not read it.
#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;

use helpers::*;
use serde_json::Value;
use shared::Role;
use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};
use test_support::logs::CapturedLogs;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";
const CLIENT_TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// An upstream that records the path, `traceparent` and `tracestate` of every request it
/// receives. It answers `{}` as JSON, except for a path containing `/drop`: that request is
/// read, recorded, and the connection closed without an answer (the gateway answers 502).
struct Recorder {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

#[derive(Debug, Clone)]
struct Seen {
    path: String,
    traceparent: Option<String>,
    tracestate: Option<String>,
}

impl Recorder {
    async fn spawn() -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                tokio::spawn(serve(stream, Arc::clone(&log)));
            }
        });
        Recorder { addr, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// Bodiless requests, one after another on a kept-alive connection.
async fn serve(mut stream: TcpStream, log: Arc<Mutex<Vec<Seen>>>) {
    let mut buffer = Vec::new();
    loop {
        let end = loop {
            if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
        buffer.drain(..end);
        let mut lines = head.lines();
        let path = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .unwrap_or("")
            .to_owned();
        let header = |name: &str| {
            head.lines().find_map(|l| {
                let (n, v) = l.split_once(':')?;
                n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
            })
        };
        log.lock().unwrap().push(Seen {
            traceparent: header("traceparent"),
            tracestate: header("tracestate"),
            path: path.clone(),
        });
        if path.contains("/drop") {
            return;
        }
        let answer =
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
        if stream.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// The log output, kept for the test to read ([`CapturedLogs`]).
type Captured = CapturedLogs;

/// Captures this thread's log lines as JSON (`#[tokio::test]` runs the gateway's tasks on it).
fn capture() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_target(true)
        .with_writer(captured.clone())
        .finish();
    (
        captured.clone(),
        tracing::subscriber::set_default(subscriber),
    )
}

fn access_lines(captured: &Captured) -> Vec<Value> {
    let text = captured.text();
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["target"] == "gateway::access")
        .collect()
}

/// `(version, trace id, parent id, flags)` of a `traceparent`.
fn fields(traceparent: &str) -> (String, String, String, String) {
    let parts: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(parts.len(), 4, "{traceparent}");
    assert_eq!(parts[1].len(), 32, "{traceparent}");
    assert_eq!(parts[2].len(), 16, "{traceparent}");
    let owned: Vec<String> = parts.iter().map(|p| (*p).to_owned()).collect();
    (
        owned[0].clone(),
        owned[1].clone(),
        owned[2].clone(),
        owned[3].clone(),
    )
}

/// A served gateway whose upstreams all point at `recorder`.
async fn gateway(recorder: &Recorder, accept_incoming: bool) -> TestGateway {
    let mut config = test_config(recorder.addr).await;
    config.tracing.accept_incoming = accept_incoming;
    TestGateway::serve_with(Echo::spawn().await, config).await
}

// The acceptance test: one trace id at the upstream, in the access log and in the problem body
// of a 502 the gateway made after the upstream call; the gateway's own span as the parent.
#[tokio::test]
async fn the_upstream_the_access_log_and_the_problem_body_share_the_clients_trace_id() {
    let (captured, _guard) = capture();
    let recorder = Recorder::spawn().await;
    let gw = gateway(&recorder, true).await;

    // Credentials on a public route make the decision record readable by the same caller.
    let student = token(Role::Student);
    let response = gw
        .get("/api/public/drop")
        .header("authorization", bearer(&student))
        .header("traceparent", CLIENT_TRACEPARENT)
        .header("tracestate", "congo=t61rcWkgMzE")
        .send()
        .await
        .unwrap();
    let decision_id = response.headers()["x-gateway-decision"]
        .to_str()
        .unwrap()
        .to_owned();
    let problem = assert_problem(response, 502, "upstream_unavailable").await;

    let seen = recorder.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].path, "/drop");
    let sent = seen[0]
        .traceparent
        .as_deref()
        .expect("a traceparent upstream");
    let (version, trace_id, parent_id, flags) = fields(sent);
    assert_eq!(
        (version.as_str(), trace_id.as_str(), flags.as_str()),
        ("00", TRACE, "01")
    );
    assert_ne!(parent_id, PARENT, "the gateway sends its own span id");
    assert_ne!(parent_id, "0000000000000000");
    assert_eq!(seen[0].tracestate.as_deref(), Some("congo=t61rcWkgMzE"));

    assert_eq!(problem["trace_id"], TRACE, "{problem}");
    let lines = access_lines(&captured);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["trace_id"], TRACE);
    assert_eq!(lines[0]["status"], 502);

    // The decision record names the trace, and the attempt's span: the parent id the upstream
    // received.
    let record: Value = gw
        .get(&format!("/gateway/decisions/{decision_id}"))
        .header("authorization", bearer(&student))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(record["trace_id"], TRACE, "{record}");
    assert_eq!(
        record["upstream_calls"][0]["span_id"],
        parent_id.as_str(),
        "{record}"
    );
}

// Without a client `traceparent` the gateway starts the trace: the id it sends upstream is the
// one it logs and quotes.
#[tokio::test]
async fn a_request_without_trace_context_starts_one_that_the_upstream_continues() {
    let (captured, _guard) = capture();
    let recorder = Recorder::spawn().await;
    let gw = gateway(&recorder, true).await;

    let response = gw.get("/api/public/drop").send().await.unwrap();
    let problem = assert_problem(response, 502, "upstream_unavailable").await;

    let seen = recorder.seen();
    let (_, trace_id, _, flags) = fields(seen[0].traceparent.as_deref().unwrap());
    assert_eq!(flags, "01", "the gateway records what it serves: sampled");
    assert_eq!(problem["trace_id"], trace_id.as_str());
    assert_eq!(access_lines(&captured)[0]["trace_id"], trace_id.as_str());
    assert_eq!(seen[0].tracestate, None);
}

// Bad trace context is ignored, never an error: the request is served in a new trace and the
// client's `tracestate` (meaningless without its `traceparent`) is not passed on.
#[tokio::test]
async fn a_malformed_traceparent_is_ignored_and_a_new_trace_started() {
    // Every test of this binary captures (see the note at the top).
    let (_captured, _guard) = capture();
    let recorder = Recorder::spawn().await;
    let gw = gateway(&recorder, true).await;
    let malformed = [
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        "not a traceparent",
    ];
    for value in malformed {
        let response = gw
            .get("/api/public/ok")
            .header("traceparent", value)
            .header("tracestate", "congo=t61rcWkgMzE")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{value}");
    }
    let seen = recorder.seen();
    assert_eq!(seen.len(), malformed.len());
    let mut trace_ids = Vec::new();
    for s in &seen {
        let (version, trace_id, _, _) = fields(s.traceparent.as_deref().unwrap());
        assert_eq!(version, "00");
        assert_ne!(trace_id, TRACE);
        assert_eq!(s.tracestate, None, "{s:?}");
        trace_ids.push(trace_id);
    }
    trace_ids.sort();
    trace_ids.dedup();
    assert_eq!(trace_ids.len(), malformed.len(), "a new trace each time");
}

// A future version is parsed for the fields version 00 knows, as W3C asks; an oversized
// `tracestate` is dropped, a valid one passed on.
#[tokio::test]
async fn a_future_version_is_continued_and_tracestate_is_bounded() {
    // Every test of this binary captures (see the note at the top).
    let (_captured, _guard) = capture();
    let recorder = Recorder::spawn().await;
    let gw = gateway(&recorder, true).await;
    let future = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-more-fields";
    let oversized = format!("big={}", "x".repeat(250)) + &format!(",other={}", "y".repeat(300));
    for state in [oversized.as_str(), "rojo=00f067aa0ba902b7"] {
        let response = gw
            .get("/api/public/ok")
            .header("traceparent", future)
            .header("tracestate", state)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let seen = recorder.seen();
    for s in &seen {
        let (version, trace_id, _, _) = fields(s.traceparent.as_deref().unwrap());
        assert_eq!((version.as_str(), trace_id.as_str()), ("00", TRACE));
    }
    assert_eq!(seen[0].tracestate, None, "over 512 bytes: dropped");
    assert_eq!(seen[1].tracestate.as_deref(), Some("rojo=00f067aa0ba902b7"));
}

// `[tracing] accept_incoming = false`: the client cannot choose the trace id.
#[tokio::test]
async fn a_gateway_that_does_not_accept_incoming_trace_context_starts_its_own() {
    // Every test of this binary captures (see the note at the top).
    let (_captured, _guard) = capture();
    let recorder = Recorder::spawn().await;
    let gw = gateway(&recorder, false).await;
    let response = gw
        .get("/api/public/drop")
        .header("traceparent", CLIENT_TRACEPARENT)
        .header("tracestate", "congo=t61rcWkgMzE")
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, 502, "upstream_unavailable").await;
    let seen = recorder.seen();
    let (_, trace_id, _, _) = fields(seen[0].traceparent.as_deref().unwrap());
    assert_ne!(trace_id, TRACE);
    assert_eq!(problem["trace_id"], trace_id.as_str());
    assert_eq!(seen[0].tracestate, None);
}

// An aggregate's calls are spans of one trace: the client's trace id on each, and each with its
// own parent id (none of them the client's).
#[tokio::test]
async fn an_aggregates_calls_share_the_trace_id_and_each_has_its_own_parent_id() {
    let (captured, _guard) = capture();
    let recorder = Recorder::spawn().await;
    let gw = gateway(&recorder, true).await;
    let response = gw
        .get("/api/dashboard")
        .header("authorization", bearer(&token(Role::Student)))
        .header("traceparent", CLIENT_TRACEPARENT)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let seen = recorder.seen();
    assert_eq!(seen.len(), 3, "profile, invoices, summary: {seen:?}");
    let mut parents = Vec::new();
    for s in &seen {
        let (_, trace_id, parent_id, _) = fields(s.traceparent.as_deref().unwrap());
        assert_eq!(trace_id, TRACE, "{s:?}");
        assert_ne!(parent_id, PARENT);
        parents.push(parent_id);
    }
    parents.sort();
    parents.dedup();
    assert_eq!(parents.len(), 3, "one span per call");
    assert_eq!(access_lines(&captured)[0]["trace_id"], TRACE);
}

// The decision record names the trace, so an operator can go from "why was I refused?" to every
// service's log lines of that request.
#[tokio::test]
async fn the_decision_record_carries_the_trace_id() {
    // Every test of this binary captures (see the note at the top).
    let (_captured, _guard) = capture();
    let recorder = Recorder::spawn().await;
    let gw = gateway(&recorder, true).await;
    let student = token(Role::Student);
    let response = gw
        .get("/api/users")
        .header("authorization", bearer(&student))
        .header("traceparent", CLIENT_TRACEPARENT)
        .send()
        .await
        .unwrap();
    let decision_id = response.headers()["x-gateway-decision"]
        .to_str()
        .unwrap()
        .to_owned();
    let problem = assert_problem(response, 403, "role_required").await;
    assert_eq!(problem["trace_id"], TRACE);

    // Demo mode: the caller reads their own record on the public port.
    let record = gw
        .get(&format!("/gateway/decisions/{decision_id}"))
        .header("authorization", bearer(&student))
        .send()
        .await
        .unwrap();
    assert_eq!(record.status(), 200);
    let record: Value = record.json().await.unwrap();
    assert_eq!(record["trace_id"], TRACE, "{record}");
}
