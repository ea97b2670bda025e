//! Errors in OAuth's words on the OAuth endpoints (`/api/oauth/*`).
//!
//! An OAuth client library reads a token endpoint's error from RFC 6749 §5.2's `error` member.
//! The auth-service answers its own errors that way, but when the *gateway* refuses a request on
//! the way there (429 rate limited, 413 body too large, 502 auth-service down, …) its answer is
//! problem+json, with no `error`: Authlib's `fetch_token`, for one, then takes the error body
//! for a token. So on a route with `oauth_errors = true` the gateway's own errors also carry
//! `error` and `error_description`; every problem+json member stays, so both kinds of client
//! read the same answer.
//!
//! The `error` code by status (RFC 6749 §4.1.2.1, §5.2):
//!
//! | status | `error` | why |
//! |---|---|---|
//! | 429, 503, 504 | `temporarily_unavailable` | the request may succeed later (`Retry-After` says when) |
//! | 500, 502 and any other 5xx | `server_error` | the server side failed |
//! | 401 | `invalid_client` | (not made by the gateway today: OAuth routes are public) |
//! | any other 4xx (400, 404, 405, 413, …) | `invalid_request` | the request itself is at fault |
//!
//! The cost stays on those routes' errors: the handler checks one flag, and only a refused
//! request on an OAuth route has its (small, in-memory) body read back and rewritten.

use axum::{body::Body, response::Response};
use http::{HeaderValue, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;

/// A problem body is a few hundred bytes; anything larger is not one of ours and is left alone.
const MAX_PROBLEM_BYTES: usize = 16 * 1024;

/// RFC 6749's `error` code for a gateway-made answer with `status` (the table above).
pub fn error_code(status: StatusCode) -> &'static str {
    match status {
        StatusCode::TOO_MANY_REQUESTS
        | StatusCode::SERVICE_UNAVAILABLE
        | StatusCode::GATEWAY_TIMEOUT => "temporarily_unavailable",
        StatusCode::UNAUTHORIZED => "invalid_client",
        s if s.is_server_error() => "server_error",
        _ => "invalid_request",
    }
}

/// Adds `error` and `error_description` (the problem's `detail`) to the gateway's problem+json
/// `response`. Anything that is not a problem+json object comes back unchanged.
///
/// Read back rather than built in: `shared::Problem` writes the members every service shares
/// (`request_id` among them), and this keeps whatever it writes, adding two.
pub async fn annotate(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let is_problem = parts
        .headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == shared::problem::CONTENT_TYPE.as_bytes());
    let bytes = match http_body_util::Limited::new(body, MAX_PROBLEM_BYTES)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        // Our problem bodies are in memory and small: this does not happen. Say so rather
        // than send a half-read body.
        Err(_) => return Response::from_parts(parts, Body::empty()),
    };
    let mut document = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(document)) if is_problem => document,
        _ => return Response::from_parts(parts, Body::from(bytes)),
    };
    let description = document
        .get("detail")
        .cloned()
        .unwrap_or_else(|| Value::String(String::new()));
    document.insert(
        "error".to_owned(),
        Value::String(error_code(parts.status).to_owned()),
    );
    document.insert("error_description".to_owned(), description);
    let json = serde_json::to_vec(&document).unwrap_or_else(|_| bytes.to_vec());
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(shared::problem::CONTENT_TYPE),
    );
    Response::from_parts(parts, Body::from(json))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::response::IntoResponse;

    #[test]
    fn each_status_has_its_oauth_error() {
        let code = |s: u16| error_code(StatusCode::from_u16(s).unwrap());
        assert_eq!(code(429), "temporarily_unavailable");
        assert_eq!(code(503), "temporarily_unavailable");
        assert_eq!(code(504), "temporarily_unavailable");
        assert_eq!(code(502), "server_error");
        assert_eq!(code(500), "server_error");
        assert_eq!(code(400), "invalid_request");
        assert_eq!(code(404), "invalid_request");
        assert_eq!(code(413), "invalid_request");
        assert_eq!(code(401), "invalid_client");
    }

    #[tokio::test]
    async fn a_problem_keeps_its_members_and_gains_error_and_description() {
        let problem = shared::Problem::new(StatusCode::BAD_GATEWAY, "upstream_unavailable", "down")
            .with_header(header::RETRY_AFTER, HeaderValue::from_static("1"));
        let response = annotate(problem.into_response()).await;
        assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            shared::problem::CONTENT_TYPE
        );
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["reason"], "upstream_unavailable");
        assert_eq!(body["status"], 502);
        assert_eq!(body["detail"], "down");
        assert_eq!(body["error"], "server_error");
        assert_eq!(body["error_description"], "down");
    }

    #[tokio::test]
    async fn anything_else_is_left_alone() {
        let response = (StatusCode::BAD_REQUEST, "plain").into_response();
        let response = annotate(response).await;
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&bytes[..], b"plain");
    }
}
