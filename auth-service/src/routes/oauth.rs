//! `POST /oauth/token`: the OAuth 2.0 token endpoint (RFC 6749), for clients that speak the
//! standard rather than our JSON API.
//!
//! Requests are `application/x-www-form-urlencoded` (§3.2). Three grants:
//!
//! | `grant_type` | parameters | who |
//! |---|---|---|
//! | `password` (§4.3) | `username`, `password`, optional `scope` | a user (legacy; shown for the lecture) |
//! | `refresh_token` (§6) | `refresh_token`, optional narrower `scope` | a user's session |
//! | `client_credentials` (§4.4) | client authentication, optional `scope` | a machine client |
//!
//! Clients authenticate with HTTP Basic (§2.3.1, the preferred way) or with `client_id` and
//! `client_secret` in the body, never both. Errors follow §5.2: JSON `{"error",
//! "error_description"}`, not problem+json, because OAuth client libraries parse exactly that.
//! One extension: a throttled password grant answers 429 `too_many_attempts` with `Retry-After`.

use crate::{
    AppState, accounts,
    config::ClientConfig,
    error::AuthError,
    passwords, refresh,
    routes::no_store,
    tokens::{Subject, TokenResponse},
};
use axum::{
    Json, Router,
    body::Bytes,
    extract::{State, rejection::BytesRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use base64::{Engine, engine::general_purpose::STANDARD};
use secrecy::SecretString;
use serde_json::json;
use shared::Role;
use std::{borrow::Cow, collections::HashMap};

/// `POST /oauth/token`.
pub fn router() -> Router<AppState> {
    Router::new().route("/oauth/token", post(token))
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
    /// 400: the requested scope is unknown or more than allowed.
    fn invalid_scope(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_scope", description)
    }
}

/// The answer to a body whose `Content-Length` is over the limit (the kit's body-limit hook,
/// [`shared::service_kit::BodyLimit::answered_by`]): on `/oauth/*` an RFC 6749 §5.2 error, so an
/// OAuth client reads it as one; elsewhere the usual 413 problem+json.
pub fn too_large(uri: &http::Uri, limit: usize) -> Response {
    if uri.path().starts_with("/oauth/") {
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
            AuthError::TooManyAttempts { retry_after } => OAuthError {
                retry_after: Some(retry_after),
                ..OAuthError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_attempts",
                    format!(
                        "too many failed logins for this account; retry in {retry_after} seconds"
                    ),
                )
            },
            AuthError::Invalid { detail, .. } => OAuthError::invalid_request(detail),
            AuthError::RefreshUnknown => OAuthError::invalid_grant("the refresh token is unknown"),
            AuthError::RefreshExpired => OAuthError::invalid_grant("the refresh token has expired"),
            AuthError::RefreshReused => OAuthError::invalid_grant(
                "the refresh token was already used; every token of its session is now revoked",
            ),
            AuthError::RefreshRevoked => {
                OAuthError::invalid_grant("the refresh token's session was revoked")
            }
            AuthError::EmailTaken | AuthError::NotYourToken => {
                OAuthError::invalid_request("the request cannot be served")
            }
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
        let mut params = HashMap::new();
        for (name, value) in form_urlencoded::parse(&body) {
            if params
                .insert(name.to_string(), value.into_owned())
                .is_some()
            {
                return Err(OAuthError::invalid_request(format!(
                    "the parameter `{name}` is repeated"
                )));
            }
        }
        // An empty value counts as absent (RFC 6749 §3.1).
        params.retain(|_, v| !v.is_empty());
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

async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match handle(&state, &headers, body).await {
        Ok(response) => no_store(Json(response)),
        Err(error) => error.into_response(),
    }
}

async fn handle(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<TokenResponse, OAuthError> {
    let params = Params::parse(headers, body)?;
    let grant_type = params.require("grant_type")?;
    if !matches!(
        grant_type,
        "password" | "refresh_token" | "client_credentials"
    ) {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "supported grant types: password, refresh_token, client_credentials",
        ));
    }
    let requested = parse_scope(params.get("scope"))?;
    let client = authenticate_client(state, headers, &params).await?;
    if let Some(client) = client
        && !client.grant_types.iter().any(|g| g == grant_type)
    {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            format!("this client may not use the `{grant_type}` grant"),
        ));
    }
    match grant_type {
        "password" => {
            let username = params.require("username")?;
            let password = SecretString::from(params.require("password")?);
            let scope = match requested {
                Some(scopes) => {
                    allowed(&scopes, &state.settings.user_scopes)?;
                    Some(scopes.join(" "))
                }
                None => None,
            };
            let user = accounts::authenticate(state, username, password).await?;
            Ok(refresh::start_session(state, &user, scope).await?)
        }
        "refresh_token" => {
            let presented = params.require("refresh_token")?;
            let mut scope_error = None;
            let result = refresh::rotate(state, presented, |original| match requested {
                None => Ok(original),
                Some(scopes) => {
                    let granted: Vec<String> = original
                        .as_deref()
                        .unwrap_or("")
                        .split(' ')
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect();
                    match allowed(&scopes, &granted) {
                        Ok(()) => Ok(Some(scopes.join(" "))),
                        Err(e) => {
                            scope_error = Some(e);
                            // Any AuthError stops the rotation; the real error is `scope_error`.
                            Err(AuthError::RefreshUnknown)
                        }
                    }
                }
            })
            .await;
            match (result, scope_error) {
                (_, Some(e)) => Err(e),
                (result, None) => Ok(result?),
            }
        }
        _client_credentials => {
            let client = client.ok_or_else(|| {
                OAuthError::invalid_client(
                    "client_credentials needs client authentication (HTTP Basic or client_id and client_secret)",
                )
            })?;
            let scope = match requested {
                Some(scopes) => {
                    allowed(&scopes, &client.scopes)?;
                    scopes.join(" ")
                }
                None => client.scopes.join(" "),
            };
            let subject = Subject {
                id: client.client_id.clone(),
                name: client.client_id.clone(),
                role: Role::Service,
                email: None,
            };
            let scope = (!scope.is_empty()).then_some(scope);
            let access = state
                .tokens
                .issue(&subject, scope.clone(), state.clock.unix_secs())
                .map_err(AuthError::from)?;
            tracing::info!(client_id = %client.client_id, "client_credentials token issued");
            // No refresh token for client_credentials (§4.4.3): the client can simply ask again.
            Ok(TokenResponse::new(access, None, scope))
        }
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

/// Finds the client's credentials (Basic header or body) and checks them. `Ok(None)`: the request
/// carries no client credentials at all (allowed for the user grants).
async fn authenticate_client<'a>(
    state: &'a AppState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Option<&'a ClientConfig>, OAuthError> {
    let basic = basic_credentials(headers)?;
    let body_id = params.get("client_id");
    let body_secret = params.get("client_secret");
    let (client_id, secret) = match (basic, body_id, body_secret) {
        (None, None, None) => return Ok(None),
        (Some(_), _, Some(_)) => {
            return Err(OAuthError::invalid_request(
                "use one client authentication method: HTTP Basic or client_secret in the body",
            ));
        }
        (Some((id, secret)), body_id, None) => {
            if body_id.is_some_and(|b| b != id) {
                return Err(OAuthError::invalid_request(
                    "client_id in the body differs from the one in the Authorization header",
                ));
            }
            (id, secret)
        }
        (None, Some(id), Some(secret)) => (id.to_owned(), secret.to_owned()),
        (None, Some(_), None) => {
            return Err(OAuthError::invalid_client("client_secret is missing"));
        }
        (None, None, Some(_)) => {
            return Err(OAuthError::invalid_request(
                "client_secret without client_id",
            ));
        }
    };
    let client = state.clients.iter().find(|c| c.client_id == client_id);
    // Unknown clients are checked against the dummy hash too: same time, same answer.
    let hash = client
        .map(|c| c.secret_hash.clone())
        .unwrap_or_else(|| state.settings.dummy_hash.clone());
    let matches = passwords::verify(SecretString::from(secret), hash)
        .await
        .map_err(AuthError::from)?;
    match client {
        Some(client) if matches => Ok(Some(client)),
        _ => Err(OAuthError::invalid_client("client authentication failed")),
    }
}

/// `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let bad = || OAuthError::invalid_client("malformed HTTP Basic credentials");
    let value = value.to_str().map_err(|_| bad())?;
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return Err(bad());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_client(
            "the token endpoint accepts only HTTP Basic client authentication",
        ));
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    Ok(Some((form_decode(id), form_decode(secret))))
}

/// Undoes `application/x-www-form-urlencoded` encoding of one value.
fn form_decode(value: &str) -> String {
    let plus_as_space = value.replace('+', " ");
    percent_encoding::percent_decode_str(&plus_as_space)
        .decode_utf8_lossy()
        .into_owned()
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

    #[test]
    fn basic_credentials_are_form_decoded() {
        let mut headers = HeaderMap::new();
        let encoded = STANDARD.encode("my%20client:s%3Acret+x");
        headers.insert(
            header::AUTHORIZATION,
            format!("Basic {encoded}").parse().unwrap(),
        );
        assert_eq!(
            basic_credentials(&headers).unwrap(),
            Some(("my client".to_owned(), "s:cret x".to_owned()))
        );
    }
}
