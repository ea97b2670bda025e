//! `/oauth/*`: the OAuth 2.0 endpoints (RFC 6749 and its companions), for clients that speak the
//! standard rather than our JSON API.
//!
//! | path | module | what |
//! |---|---|---|
//! | `GET`, `POST /oauth/authorize` | [`authorize`] | the authorization endpoint: a login form, then a redirect with a `code` (PKCE S256) |
//! | `POST /oauth/token` | [`token`] | the token endpoint: `authorization_code`, `password`, `refresh_token`, `client_credentials` |
//! | `POST /oauth/revoke` | [`revoke`] | RFC 7009: a client revokes its own tokens |
//! | `POST /oauth/introspect` | [`introspect`] | RFC 7662: is a token active? (confidential clients allowed to ask) |
//!
//! Every request to the token, revocation and introspection endpoints names its client
//! ([`client_auth`]): a confidential client authenticates with HTTP Basic (§2.3.1, the preferred
//! way) or with `client_id` and `client_secret` in the body, never both; a public client sends
//! `client_id` alone. Requests are `application/x-www-form-urlencoded` (§3.2), each parameter at
//! most once and UTF-8 ([`form`]). Errors follow §5.2: JSON `{"error", "error_description"}`
//! ([`OAuthError`]), not problem+json, because OAuth client libraries parse exactly that. One
//! extension: a throttled password grant or client answers 429 `too_many_attempts` with
//! `Retry-After`.
//!
//! The authorization endpoint is different: a browser, not a client library, talks to it. It
//! answers with HTML pages and redirects, and its errors go back to the client in the redirect
//! (§4.1.2.1) — see [`authorize`].

pub mod authorize;
pub mod client_auth;
pub mod form;
pub mod introspect;
pub mod revoke;
pub mod token;

use crate::{AppState, error::AuthError, routes::no_store};
use axum::{
    Json, Router,
    body::Bytes,
    extract::rejection::BytesRejection,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use form::{Form, FormError};
use serde_json::json;
use std::{borrow::Cow, collections::HashMap};

/// The `/oauth/*` routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/oauth/authorize",
            get(authorize::show).post(authorize::submit),
        )
        .route("/oauth/token", post(token::token))
        .route("/oauth/revoke", post(revoke::revoke))
        .route("/oauth/introspect", post(introspect::introspect))
}

/// An RFC 6749 §5.2 error response.
#[derive(Debug)]
pub struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: Cow<'static, str>,
    retry_after: Option<u64>,
}

impl OAuthError {
    fn new(
        status: StatusCode,
        error: &'static str,
        description: impl Into<Cow<'static, str>>,
    ) -> Self {
        OAuthError {
            status,
            error,
            description: description.into(),
            retry_after: None,
        }
    }
    /// 400: a parameter is missing, repeated or malformed, or the body is not form-encoded.
    fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }
    /// 401 with `WWW-Authenticate: Basic`: client authentication failed.
    fn invalid_client(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
    }
    /// 400: the password, or the refresh token, is wrong, expired, revoked or reused.
    fn invalid_grant(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }
    /// 400: the client may not use this grant.
    fn unauthorized_client(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "unauthorized_client", description)
    }
    /// 429 `too_many_attempts` with `Retry-After` (our extension).
    fn too_many_attempts(retry_after: u64, description: impl Into<Cow<'static, str>>) -> Self {
        OAuthError {
            retry_after: Some(retry_after),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                description,
            )
        }
    }
    /// 400: the requested scope is unknown or more than allowed.
    fn invalid_scope(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_scope", description)
    }
}

/// The answer to a body whose `Content-Length` is over the limit (the kit's body-limit hook,
/// [`shared::service_kit::BodyLimit::answered_by`]): on `/oauth/*` an RFC 6749 §5.2 error, so an
/// OAuth client reads it as one; elsewhere the usual 413 problem+json.
pub fn too_large(uri: &http::Uri, limit: usize) -> Response {
    if uri.path() == "/oauth/authorize" {
        // The login form is a browser's page: its error is a page too.
        authorize::form_too_large()
    } else if uri.path().starts_with("/oauth/") {
        OAuthError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            "the request body is too large",
        )
        .into_response()
    } else {
        shared::service_kit::body_limit::too_large_response(uri, limit)
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.error, "error_description": self.description });
        let mut response = no_store((self.status, Json(body)));
        let headers = response.headers_mut();
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"auth-service\", charset=\"UTF-8\""),
            );
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<AuthError> for OAuthError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::InvalidCredentials => {
                OAuthError::invalid_grant("the username or the password is wrong")
            }
            AuthError::TooManyAttempts { retry_after } => OAuthError::too_many_attempts(
                retry_after,
                format!("too many failed logins for this account; retry in {retry_after} seconds"),
            ),
            AuthError::Invalid { detail, .. } => OAuthError::invalid_request(detail),
            AuthError::RefreshUnknown => OAuthError::invalid_grant("the refresh token is unknown"),
            AuthError::RefreshExpired => OAuthError::invalid_grant("the refresh token has expired"),
            AuthError::RefreshReused => OAuthError::invalid_grant(
                "the refresh token was already used; every token of its session is now revoked",
            ),
            AuthError::RefreshWrongClient => OAuthError::invalid_grant(
                "the refresh token was issued to another client; every token of its session is \
                 now revoked",
            ),
            AuthError::RefreshRevoked => {
                OAuthError::invalid_grant("the refresh token's session was revoked")
            }
            AuthError::NotYourToken => OAuthError::invalid_request("the request cannot be served"),
            AuthError::Internal(cause) => {
                tracing::error!(
                    error = format!("{cause:#}"),
                    "internal error at the token endpoint"
                );
                OAuthError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "an unexpected error occurred",
                )
            }
        }
    }
}

/// The form parameters, each at most once (§3.2: "parameters MUST NOT be included more than once").
struct Params(HashMap<String, String>);

impl Params {
    fn parse(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Self, OAuthError> {
        let essence = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase());
        if essence.as_deref() != Some("application/x-www-form-urlencoded") {
            return Err(OAuthError::invalid_request(
                "send the parameters as `Content-Type: application/x-www-form-urlencoded`",
            ));
        }
        let body = body.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                OAuthError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "invalid_request",
                    "the request body is too large",
                )
            } else {
                OAuthError::invalid_request("the request body could not be read")
            }
        })?;
        let form = Form::parse(&body).map_err(|e| OAuthError::invalid_request(e.to_string()))?;
        if let Some(name) = form.first_repeated() {
            return Err(OAuthError::invalid_request(
                FormError::Repeated(name.to_owned()).to_string(),
            ));
        }
        // An empty value counts as absent (RFC 6749 §3.1).
        let params: HashMap<String, String> = form
            .pairs()
            .filter(|(_, v)| !v.is_empty())
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        Ok(Params(params))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    fn require(&self, name: &'static str) -> Result<&str, OAuthError> {
        self.get(name).ok_or_else(|| {
            OAuthError::invalid_request(format!("the parameter `{name}` is missing"))
        })
    }
}

/// Splits `scope` (space-delimited, §3.3) and checks its characters. `None` when absent.
fn parse_scope(scope: Option<&str>) -> Result<Option<Vec<String>>, OAuthError> {
    let Some(scope) = scope else { return Ok(None) };
    let mut scopes: Vec<String> = Vec::new();
    for token in scope.split(' ').filter(|s| !s.is_empty()) {
        // scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
        let valid = token
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
        if !valid {
            return Err(OAuthError::invalid_scope(
                "a scope contains characters RFC 6749 §3.3 forbids",
            ));
        }
        if !scopes.iter().any(|s| s == token) {
            scopes.push(token.to_owned());
        }
    }
    Ok((!scopes.is_empty()).then_some(scopes))
}

fn allowed(requested: &[String], allowed: &[String]) -> Result<(), OAuthError> {
    match requested.iter().find(|s| !allowed.contains(s)) {
        None => Ok(()),
        Some(extra) => Err(OAuthError::invalid_scope(format!(
            "the scope `{extra}` is not available here"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_split_deduplicated_and_checked() {
        assert_eq!(parse_scope(None).unwrap(), None);
        assert_eq!(parse_scope(Some("  ")).unwrap(), None);
        assert_eq!(
            parse_scope(Some("a b a")).unwrap(),
            Some(vec!["a".to_owned(), "b".to_owned()])
        );
        assert!(parse_scope(Some("a\"b")).is_err());
    }
}
