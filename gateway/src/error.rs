//! Every way the gateway refuses or fails a request, each with its status and stable reason.
//!
//! Errors are tagged by **side** (pingora's idea): a *downstream* error is the client's doing
//! (a bad path, a missing token, a body too large) and says nothing about our health; an
//! *upstream* error is a backend failing (refused connection, timeout) and is what alerts and
//! circuit breakers watch. The access log records the side with the reason.
//!
//! This is the one place where a failure becomes an answer. It sits below the pipeline's steps
//! (they return a [`GatewayError`]) and above the leaves whose failures it translates — path
//! normalisation, routing, body limits, a rate-limit refusal, and the upstream layer's own
//! [`Failure`], which knows nothing of statuses.

use crate::{
    context::X_GATEWAY_FAILED_CALL,
    cors,
    limits::HeadError,
    normalize::PathError,
    ratelimit::headers::Refusal,
    routing::{MethodSet, Miss, RoleSet},
    upstream::failure::{ClientBody, Failure},
};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use shared::{Problem, TokenError};

/// Whose fault an error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The client's request was refused (4xx).
    Downstream,
    /// A backend failed (5xx).
    Upstream,
}

impl Side {
    /// `downstream` / `upstream`, for the access log.
    pub const fn as_str(self) -> &'static str {
        match self {
            Side::Downstream => "downstream",
            Side::Upstream => "upstream",
        }
    }
}

/// Why the gateway answered itself instead of forwarding the backend's response.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// 414 `uri_too_long`: the request target is longer than `server.max_uri_bytes`.
    #[error("the request target is longer than {limit} bytes")]
    UriTooLong {
        /// The configured limit.
        limit: usize,
    },
    /// 431 `headers_too_large`: the request head is larger than `server.limits.max_header_bytes`.
    #[error("the request head is larger than {limit} bytes")]
    HeadersTooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// 400 `bad_host`: an HTTP/1.1 request without exactly one `Host` header (RFC 9112 §3.2).
    #[error("an HTTP/1.1 request must carry exactly one Host header")]
    BadHost,
    /// 400 `bad_path`: the path breaks a normalisation rule.
    #[error("{}", .0.detail())]
    BadPath(PathError),
    /// 403 `cors_refused`: a CORS preflight from an origin, for a method or with a header the
    /// route does not allow; the answer carries no CORS header, so the browser stops.
    #[error("{}", .0.detail())]
    CorsRefused(cors::Refusal),
    /// 404 `no_route`: no route's prefix matches the path.
    #[error("no route matches this path")]
    NoRoute,
    /// 405 `method_not_allowed`: routes match the path, not the method.
    #[error("this path does not accept this method")]
    MethodNotAllowed(MethodSet),
    /// 401 with the token's reason (`token_missing`, `token_expired`, `bad_signature`, …).
    #[error(transparent)]
    Token(#[from] TokenError),
    /// 403 `role_required`: the token is valid but its role is not one the route accepts.
    #[error("this route needs the role {}", .0.describe())]
    RoleRequired(RoleSet),
    /// 403 `insufficient_scope`: the token is valid but its `scope` claim holds none of the
    /// route's scopes; the challenge names them (RFC 6750 §3.1).
    #[error("this route needs a token with one of the scopes: {scopes}")]
    InsufficientScope {
        /// The route's scopes, space-separated.
        scopes: Box<str>,
    },
    /// 413 `body_too_large`: by `Content-Length`, or counted on the stream.
    #[error("the request body is larger than {limit} bytes")]
    BodyTooLarge {
        /// The configured limit.
        limit: u64,
    },
    /// 400 `body_unreadable`: the client broke off or garbled its body while we forwarded it.
    #[error("the request body could not be read")]
    BodyUnreadable,
    /// 400 `bad_identity`: the verified token's subject cannot be put in a header.
    #[error("the token's subject cannot be forwarded")]
    BadIdentity,
    /// 429 `rate_limited`: a rate limit or quota of the route is spent; with `Retry-After`
    /// and the `RateLimit` headers.
    #[error("too many requests: the limit `{}` is reached; retry in {} s", .0.policy, .0.retry_after_secs)]
    RateLimited(Box<Refusal>),
    /// 503 `rate_limiter_unavailable`: Redis did not answer and the policy fails closed.
    #[error("the rate limiter for `{policy}` is unavailable, and this limit fails closed")]
    RateLimiterUnavailable {
        /// The policy's name.
        policy: Box<str>,
    },
    /// 502 `upstream_unavailable`: connecting failed, or the upstream broke the exchange.
    #[error("the upstream `{upstream}` could not be reached or failed to answer")]
    UpstreamUnavailable {
        /// Its name.
        upstream: Box<str>,
    },
    /// 503 `circuit_open`: every target of the upstream has its circuit breaker open, so the
    /// gateway answers at once instead of waiting for a connection that will fail.
    #[error("the upstream `{upstream}` is failing; its circuit breaker is open, try again shortly")]
    CircuitOpen {
        /// Its name.
        upstream: Box<str>,
    },
    /// A required call of an aggregate failed: the call's status and reason
    /// (`upstream_timeout` 504, `circuit_open` 503, `upstream_unavailable`/`upstream_error`/
    /// `not_json`/`response_too_large` 502, `upstream_rejected` with the upstream's 4xx).
    #[error("the required call `{key}` of `{aggregate}` (upstream `{upstream}`) failed: {detail}")]
    AggregateCallFailed {
        /// The aggregate's name.
        aggregate: Box<str>,
        /// The call's key.
        key: Box<str>,
        /// The call's upstream.
        upstream: Box<str>,
        /// The answer's status.
        status: StatusCode,
        /// The call's reason.
        reason: &'static str,
        /// What happened.
        detail: String,
    },
    /// 504 `upstream_timeout`: no response head within the upstream's `request_timeout_ms`.
    #[error("the upstream `{upstream}` did not answer within {timeout_ms} ms")]
    UpstreamTimeout {
        /// Its name.
        upstream: Box<str>,
        /// The timeout that passed.
        timeout_ms: u128,
    },
}

impl GatewayError {
    /// Whose fault it is.
    pub fn side(&self) -> Side {
        match self {
            GatewayError::UpstreamUnavailable { .. }
            | GatewayError::UpstreamTimeout { .. }
            | GatewayError::RateLimiterUnavailable { .. }
            | GatewayError::CircuitOpen { .. } => Side::Upstream,
            GatewayError::AggregateCallFailed { status, .. } if status.is_server_error() => {
                Side::Upstream
            }
            _ => Side::Downstream,
        }
    }

    /// The stable reason code.
    pub fn reason(&self) -> &'static str {
        match self {
            GatewayError::UriTooLong { .. } => "uri_too_long",
            GatewayError::HeadersTooLarge { .. } => "headers_too_large",
            GatewayError::BadHost => "bad_host",
            GatewayError::BadPath(_) => "bad_path",
            GatewayError::CorsRefused(_) => "cors_refused",
            GatewayError::NoRoute => "no_route",
            GatewayError::MethodNotAllowed(_) => "method_not_allowed",
            GatewayError::Token(e) => e.reason(),
            GatewayError::RoleRequired(_) => "role_required",
            GatewayError::InsufficientScope { .. } => "insufficient_scope",
            GatewayError::BodyTooLarge { .. } => "body_too_large",
            GatewayError::BodyUnreadable => "body_unreadable",
            GatewayError::BadIdentity => "bad_identity",
            GatewayError::RateLimited(_) => "rate_limited",
            GatewayError::RateLimiterUnavailable { .. } => "rate_limiter_unavailable",
            GatewayError::UpstreamUnavailable { .. } => "upstream_unavailable",
            GatewayError::UpstreamTimeout { .. } => "upstream_timeout",
            GatewayError::CircuitOpen { .. } => "circuit_open",
            GatewayError::AggregateCallFailed { reason, .. } => reason,
        }
    }

    /// The problem+json answer.
    pub fn to_problem(&self) -> Problem {
        let detail = self.to_string();
        match self {
            GatewayError::UriTooLong { .. } => {
                Problem::new(StatusCode::URI_TOO_LONG, self.reason(), detail)
            }
            // The head was not accepted: close the connection rather than read what follows.
            GatewayError::HeadersTooLarge { .. } => Problem::new(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                self.reason(),
                detail,
            )
            .with_header(header::CONNECTION, HeaderValue::from_static("close")),
            GatewayError::BadPath(_)
            | GatewayError::BadHost
            | GatewayError::BodyUnreadable
            | GatewayError::BadIdentity => Problem::bad_request(self.reason(), detail),
            GatewayError::NoRoute => Problem::new(StatusCode::NOT_FOUND, self.reason(), detail),
            GatewayError::MethodNotAllowed(allow) => {
                Problem::new(StatusCode::METHOD_NOT_ALLOWED, self.reason(), detail)
                    .with_header(header::ALLOW, allow.describe())
            }
            // No credentials presented: a bare challenge (RFC 6750 §3.1: "the resource server
            // SHOULD NOT include an error code"). The client has not failed at anything yet; it
            // learns only that a Bearer token is expected.
            GatewayError::Token(TokenError::Missing) => Problem::from(TokenError::Missing)
                .with_header(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(BARE_CHALLENGE),
                ),
            GatewayError::Token(e) => Problem::from(e.clone()),
            GatewayError::RoleRequired(_) => Problem::forbidden(self.reason(), detail),
            // Not a token's shortfall: no Bearer challenge.
            GatewayError::CorsRefused(_) => {
                Problem::new(StatusCode::FORBIDDEN, self.reason(), detail)
            }
            GatewayError::InsufficientScope { scopes } => {
                let challenge = challenge("insufficient_scope", Some(scopes), &detail);
                Problem::new(StatusCode::FORBIDDEN, self.reason(), detail)
                    .with_header(header::WWW_AUTHENTICATE, challenge)
            }
            // The body was not read: close the connection rather than leave its bytes to be
            // parsed as the next request.
            GatewayError::BodyTooLarge { .. } => {
                Problem::new(StatusCode::PAYLOAD_TOO_LARGE, self.reason(), detail)
                    .with_header(header::CONNECTION, HeaderValue::from_static("close"))
            }
            GatewayError::RateLimited(refusal) => {
                let mut problem =
                    Problem::new(StatusCode::TOO_MANY_REQUESTS, self.reason(), detail)
                        .with_header(header::RETRY_AFTER, refusal.retry_after_secs.to_string());
                for (name, value) in &refusal.headers {
                    problem = problem.with_header(name.clone(), value.clone());
                }
                problem
            }
            GatewayError::RateLimiterUnavailable { .. } => {
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, self.reason(), detail)
            }
            GatewayError::UpstreamUnavailable { .. } => {
                Problem::new(StatusCode::BAD_GATEWAY, self.reason(), detail)
            }
            GatewayError::UpstreamTimeout { .. } => {
                Problem::new(StatusCode::GATEWAY_TIMEOUT, self.reason(), detail)
            }
            GatewayError::CircuitOpen { .. } => {
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, self.reason(), detail)
                    .with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
            }
            GatewayError::AggregateCallFailed { status, key, .. } => {
                // A backend's 401 or 403 passed on keeps the meaning of any other 401/403 of
                // the gateway, challenge included: a client library looks for it.
                let error = match *status {
                    StatusCode::UNAUTHORIZED => Some("invalid_token"),
                    StatusCode::FORBIDDEN => Some("insufficient_scope"),
                    _ => None,
                };
                let mut problem = Problem::new(*status, self.reason(), detail)
                    .with_header(X_GATEWAY_FAILED_CALL.clone(), &**key)
                    .with_header(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                if let Some(error) = error {
                    let challenge = challenge(error, None, problem.detail());
                    problem = problem.with_header(header::WWW_AUTHENTICATE, challenge);
                }
                problem
            }
        }
    }
}

/// The challenge of a 401 for a request that presented no token.
pub use shared::problem::BARE_CHALLENGE;

/// `Bearer error="…", scope="…", error_description="…"` (RFC 6750 §3). The description may hold
/// only printable ASCII without `"` and `\`, so anything else is replaced. (`shared::Problem`
/// builds its own 401 and 403 challenges the same way, without the `scope` parameter a scope
/// refusal needs.)
fn challenge(error: &str, scope: Option<&str>, description: &str) -> String {
    let safe: String = description
        .chars()
        .map(|c| match c {
            '"' | '\\' => '\'',
            ' '..='~' => c,
            _ => '?',
        })
        .collect();
    match scope {
        Some(scope) => {
            format!("Bearer error=\"{error}\", scope=\"{scope}\", error_description=\"{safe}\"")
        }
        None => format!("Bearer error=\"{error}\", error_description=\"{safe}\""),
    }
}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        self.to_problem().into_response()
    }
}

impl From<Miss> for GatewayError {
    fn from(miss: Miss) -> Self {
        match miss {
            Miss::NoRoute => GatewayError::NoRoute,
            Miss::MethodNotAllowed(allow) => GatewayError::MethodNotAllowed(allow),
        }
    }
}

impl From<HeadError> for GatewayError {
    fn from(error: HeadError) -> Self {
        match error {
            HeadError::TooLarge { limit } => GatewayError::HeadersTooLarge { limit },
            HeadError::BadHost => GatewayError::BadHost,
        }
    }
}

impl GatewayError {
    /// How a failed exchange with the upstream called `upstream` is answered.
    pub fn from_upstream(failure: Failure, upstream: &str) -> GatewayError {
        let upstream = upstream.into();
        match failure {
            Failure::CircuitOpen => GatewayError::CircuitOpen { upstream },
            Failure::Timeout { timeout_ms } => GatewayError::UpstreamTimeout {
                upstream,
                timeout_ms,
            },
            Failure::Unavailable { .. } => GatewayError::UpstreamUnavailable { upstream },
            Failure::ClientBody(ClientBody::TooLarge { limit }) => {
                GatewayError::BodyTooLarge { limit }
            }
            Failure::ClientBody(ClientBody::Unreadable) => GatewayError::BodyUnreadable,
        }
    }
}
