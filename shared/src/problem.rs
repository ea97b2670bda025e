//! RFC 9457 problem details: the one error format of every service.
//!
//! A client that gets an error should learn *what* went wrong (`status`, `title`), *why* in words
//! (`detail`), *why* as a stable code a program can branch on (`reason`, an extension member), and
//! *which request* it was (`request_id`, the same id the logs carry; `trace_id`, the W3C trace the
//! request belongs to, the same in the logs of every service it crossed). It must never learn a secret,
//! a password, a stack trace or a database message: callers build a [`Problem`] from their own
//! words, and internal causes are logged, not sent.

use crate::{request_id, trace_context};
use axum::response::{IntoResponse, Response};
use http::{HeaderName, HeaderValue, StatusCode, header};
use serde::Serialize;
use std::borrow::Cow;

/// The media type of problem details (RFC 9457 §3).
pub const CONTENT_TYPE: &str = "application/problem+json";

/// An error response. Build one with a constructor, add headers if needed, return it from a handler.
#[derive(Debug, Clone)]
pub struct Problem {
    status: StatusCode,
    reason: Cow<'static, str>,
    detail: Cow<'static, str>,
    /// Extra response headers (a `Vec`, not a `HeaderMap`: there are rarely more than one or two,
    /// and a small error type keeps every `Result<_, Problem>` small).
    headers: Vec<(HeaderName, HeaderValue)>,
}

/// The JSON body, in the order RFC 9457 lists its members.
#[derive(Serialize)]
struct Body<'a> {
    r#type: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
    reason: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trace_id: Option<trace_context::TraceId>,
}

impl Problem {
    /// A problem with `status`, a stable machine-readable `reason` (`snake_case`, documented in
    /// `docs/`), and a human `detail` sentence.
    pub fn new(
        status: StatusCode,
        reason: impl Into<Cow<'static, str>>,
        detail: impl Into<Cow<'static, str>>,
    ) -> Self {
        Problem {
            status,
            reason: reason.into(),
            detail: detail.into(),
            headers: Vec::new(),
        }
    }

    /// 400: the request itself is malformed.
    pub fn bad_request(
        reason: impl Into<Cow<'static, str>>,
        detail: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(StatusCode::BAD_REQUEST, reason, detail)
    }

    /// 401 with the RFC 6750 challenge `Bearer error="invalid_token"`, so a client knows to
    /// (re)authenticate with a new token. For a request that presented none, see
    /// [`Problem::credentials_required`].
    pub fn unauthorized(
        reason: impl Into<Cow<'static, str>>,
        detail: impl Into<Cow<'static, str>>,
    ) -> Self {
        let problem = Self::new(StatusCode::UNAUTHORIZED, reason, detail);
        let challenge = bearer_challenge("invalid_token", &problem.detail);
        problem.with_header(header::WWW_AUTHENTICATE, challenge)
    }

    /// 401 for a request that presented no credentials: the bare challenge
    /// [`BARE_CHALLENGE`], with no `error` code (RFC 6750 §3.1: a request without
    /// authentication information gets none) — the same challenge the gateway sends.
    pub fn credentials_required(
        reason: impl Into<Cow<'static, str>>,
        detail: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, reason, detail).with_header(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(BARE_CHALLENGE),
        )
    }

    /// 403 with `Bearer error="insufficient_scope"`: the token is fine, the role is not enough.
    pub fn forbidden(
        reason: impl Into<Cow<'static, str>>,
        detail: impl Into<Cow<'static, str>>,
    ) -> Self {
        let problem = Self::new(StatusCode::FORBIDDEN, reason, detail);
        let challenge = bearer_challenge("insufficient_scope", &problem.detail);
        problem.with_header(header::WWW_AUTHENTICATE, challenge)
    }

    /// 404 for a path nothing answers.
    pub fn not_found(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    /// 500 for a fault on our side. The detail is fixed on purpose: the cause goes to the log
    /// (with the request id), never to the client.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "an unexpected error occurred; quote the request_id when reporting it",
        )
    }

    /// Adds a response header, for example `Retry-After` on a 429.
    pub fn with_header(mut self, name: HeaderName, value: impl TryInto<HeaderValue>) -> Self {
        if let Ok(value) = value.try_into() {
            self.headers.retain(|(existing, _)| existing != name);
            self.headers.push((name, value));
        }
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable reason code, e.g. `token_expired`.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The human explanation.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

/// Builds `Bearer error="…", error_description="…"`. RFC 6750 §3 allows only printable ASCII
/// without `"` and `\` in the description, so anything else is replaced.
/// The challenge of a 401 to a request without credentials (RFC 6750 §3.1).
pub const BARE_CHALLENGE: &str = "Bearer realm=\"api\"";

fn bearer_challenge(error: &str, description: &str) -> String {
    let safe: String = description
        .chars()
        .map(|c| match c {
            '"' | '\\' => '\'',
            ' '..='~' => c,
            _ => '?',
        })
        .collect();
    format!("Bearer error=\"{error}\", error_description=\"{safe}\"")
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.reason,
            self.detail
        )
    }
}

impl std::error::Error for Problem {}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let request_id = request_id::current();
        let body = Body {
            r#type: format!("urn:api-gateway-pattern:problem:{}", self.reason),
            title: self.status.canonical_reason().unwrap_or("Error"),
            status: self.status.as_u16(),
            detail: &self.detail,
            reason: &self.reason,
            request_id: request_id.as_deref(),
            trace_id: trace_context::current(),
        };
        let json = serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec());
        let mut response = (self.status, json).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        // Errors must not be cached by intermediaries: the next request may well succeed.
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body_json(response: Response) -> serde_json::Value {
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn a_problem_is_rfc9457_json_with_reason_request_id_and_trace_id() {
        let trace = trace_context::TraceContext::start();
        let response = request_id::scope("req-123".into(), async {
            trace_context::scope(trace.trace_id(), async {
                Problem::bad_request("malformed_json", "not JSON").into_response()
            })
            .await
        })
        .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()[header::CONTENT_TYPE], CONTENT_TYPE);
        let body = body_json(response).await;
        assert_eq!(
            body["type"],
            "urn:api-gateway-pattern:problem:malformed_json"
        );
        assert_eq!(body["title"], "Bad Request");
        assert_eq!(body["status"], 400);
        assert_eq!(body["detail"], "not JSON");
        assert_eq!(body["reason"], "malformed_json");
        assert_eq!(body["request_id"], "req-123");
        assert_eq!(body["trace_id"], trace.trace_id().to_string());
    }

    #[test]
    fn unauthorized_carries_a_bearer_challenge_with_a_safe_description() {
        let response =
            Problem::unauthorized("bad_signature", "the \"signature\" is wrong\n").into_response();
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            "Bearer error=\"invalid_token\", error_description=\"the 'signature' is wrong?\""
        );
    }

    #[test]
    fn a_missing_token_gets_the_bare_challenge_without_an_error_code() {
        let response = Problem::from(crate::TokenError::Missing).into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            "Bearer realm=\"api\""
        );
    }

    #[test]
    fn forbidden_says_insufficient_scope() {
        let response = Problem::forbidden("role_required", "ADMIN only").into_response();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let challenge = response.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap();
        assert!(challenge.starts_with("Bearer error=\"insufficient_scope\""));
    }
}
