//! What registration logs: a taken e-mail is told to the operator (where a real system would
//! e-mail the owner), never with the password — and the client's answer is the same either way.

// Its own test binary: a thread-local subscriber shares tracing's global callsite cache with
// every thread of the process, so other tests' threads could hide the line mid-test.
#[allow(dead_code, unused_imports)]
#[path = "api/helpers.rs"]
mod helpers;

use helpers::*;
use reqwest::StatusCode;
use test_support::logs::CapturedLogs;

/// The log output, kept for the test to read ([`CapturedLogs`]).
type Captured = CapturedLogs;

// `#[tokio::test]` runs on one thread, so a thread-local subscriber sees the service's tasks.
#[tokio::test]
async fn a_taken_email_is_logged_at_info_without_the_password() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_writer(captured.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let app = spawn_app().await;
    app.register("ada@example.edu", "first secret pw", "Ada")
        .await;
    let response = app
        .post_register("ada@example.edu", "second secret pw", "Ada 2")
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);

    let text = captured.text();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let taken: Vec<_> = lines
        .iter()
        .filter(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.contains("an account with this e-mail already exists"))
        })
        .collect();
    assert_eq!(taken.len(), 1, "{text}");
    assert_eq!(taken[0]["level"], "INFO");
    assert_eq!(taken[0]["email"], "ada@example.edu");
    assert!(lines.iter().any(|l| l["message"] == "registered"), "{text}");
    for secret in ["first secret pw", "second secret pw"] {
        assert!(!text.contains(secret), "a password was logged: {text}");
    }
}
