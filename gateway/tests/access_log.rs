//! The access log: one line per request with the route, status, user and reason — and never
//! the token.

// Its own test binary (its own process): a thread-local subscriber shares tracing's global
// callsite cache with every other thread of the process, and other tests' threads, which have
// no subscriber, could make the access-log callsite look uninteresting mid-test.
#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;

use helpers::*;
use shared::{Role, demo};
use std::sync::{Arc, Mutex};
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn access_lines(captured: &Captured) -> Vec<serde_json::Value> {
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["target"] == "gateway::access")
        .collect()
}

// `#[tokio::test]` runs on one thread, so a thread-local subscriber sees the gateway's tasks.
#[tokio::test]
async fn one_line_per_request_with_reason_and_never_the_token() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_target(true)
        .with_writer(captured.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let gw = TestGateway::spawn().await;
    let student = token(Role::Student);
    let ok = gw
        .get("/api/users/me")
        .header("authorization", bearer(&student))
        .header("x-request-id", "log-test-1")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let refused = gw
        .get("/api/users")
        .header("authorization", bearer(&student))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);

    let lines = access_lines(&captured);
    assert_eq!(lines.len(), 2, "{lines:?}");
    let first = &lines[0];
    assert_eq!(first["method"], "GET");
    assert_eq!(first["path"], "/api/users/me");
    assert_eq!(first["route"], "users");
    assert_eq!(first["upstream"], "users");
    assert_eq!(first["status"], 200);
    assert_eq!(first["user"], demo::student::ID);
    assert_eq!(first["request_id"], "log-test-1");
    assert!(first["latency_ms"].as_f64().is_some());
    let second = &lines[1];
    assert_eq!(second["route"], "users-list");
    assert_eq!(second["status"], 403);
    assert_eq!(second["reason"], "role_required");
    assert_eq!(second["side"], "downstream");

    let everything = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(!everything.contains(&student), "a token reached the log");
    assert!(!everything.to_ascii_lowercase().contains("bearer"));
}
