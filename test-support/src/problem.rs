//! Reading an error the way a client does: RFC 9457 `application/problem+json`.

use reqwest::{Response, StatusCode};
use serde_json::Value;

/// Asserts a problem+json answer with `status` and `reason` — the content type, the
/// `X-Request-Id` header and the `request_id` in the body that quotes it — and returns the body
/// for further checks.
pub async fn assert_problem(response: Response, status: StatusCode, reason: &str) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "an error must be problem+json"
    );
    assert!(
        response.headers().contains_key("x-request-id"),
        "an error quotes its request id"
    );
    let body: Value = response.json().await.expect("a problem body is JSON");
    assert_eq!(body["reason"], reason, "{body}");
    assert_eq!(body["status"], status.as_u16(), "{body}");
    assert!(body["request_id"].is_string(), "{body}");
    body
}
