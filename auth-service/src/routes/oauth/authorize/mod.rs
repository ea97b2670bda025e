//! `GET` and `POST /oauth/authorize`: the authorization endpoint (RFC 6749 §4.1) with PKCE
//! (RFC 7636, `S256` only). Through the gateway: `/api/oauth/authorize`.
//!
//! The flow, as the browser sees it:
//!
//! 1. The client app sends the browser to `GET /oauth/authorize?response_type=code&client_id=…
//!    &redirect_uri=…&state=…&code_challenge=…&code_challenge_method=S256` ([`show`]).
//! 2. The request is checked ([`request`]); the answer is the login form ([`page`]), with a
//!    CSRF token tied to a cookie ([`crate::csrf`]).
//! 3. The person signs in: `POST /oauth/authorize` with the form ([`submit`]). The password is
//!    checked by [`crate::accounts::authenticate`] — the same code as `/auth/login`, with its
//!    throttle and its equal answer for unknown e-mails and wrong passwords.
//! 4. `303 See Other` to `redirect_uri?code=…&state=…&iss=…` ([`crate::codes`]: the code lives 60
//!    seconds and is bound to the client, the redirect URI and the challenge). The client then
//!    redeems it at `POST /oauth/token` with its `code_verifier`.
//!
//! An unknown client or a redirect URI it did not register is an error *page* (400), never a
//! redirect; later errors go back to the client with `error` and `state` (§4.1.2.1), and
//! "Cancel" sends `access_denied`. `iss` in the redirect (RFC 9207) lets a client that talks to
//! several servers check which one answered.

pub mod page;
pub mod request;

use super::form::{Form, FormError};
use crate::{AppState, accounts, codes, csrf, error::AuthError};
use axum::{
    body::Bytes,
    extract::{State, rejection::BytesRejection},
    http::{HeaderMap, HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use page::Notice;
use request::{AuthorizationRequest, ErrorRedirect, Refusal};
use secrecy::SecretString;

/// `GET /oauth/authorize`: checks the request and shows the login form.
pub async fn show(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let form = match Form::parse(uri.query().unwrap_or("").as_bytes()) {
        Ok(form) => form,
        Err(e) => return not_readable(&headers, e),
    };
    let request = match request::validate(&state, &form) {
        Ok(request) => request,
        Err(refusal) => return refused(&headers, refusal),
    };
    let (nonce, fresh) = match csrf::nonce_from(&headers) {
        Some(nonce) => (nonce.to_owned(), false),
        None => (csrf::new_nonce(), true),
    };
    let mut response = form_page(&state, &request, &nonce, "", None, StatusCode::OK);
    if fresh {
        let secure = state.settings.issuer.starts_with("https://");
        response
            .headers_mut()
            .insert(header::SET_COOKIE, csrf::set_cookie(&nonce, secure));
    }
    response
}

/// `POST /oauth/authorize`: the login form, submitted.
pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return page::error(
                &headers,
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request",
                "the form is too large",
            );
        }
        Err(_) => {
            return page::error(
                &headers,
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the form could not be read",
            );
        }
    };
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return page::error(
            &headers,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "send the form as application/x-www-form-urlencoded",
        );
    }
    let form = match Form::parse(&body) {
        Ok(form) => form,
        Err(e) => return not_readable(&headers, e),
    };
    let request = match request::validate(&state, &form) {
        Ok(request) => request,
        Err(refusal) => return refused(&headers, refusal),
    };
    let now = state.clock.unix_secs();
    let nonce = csrf::nonce_from(&headers);
    let csrf_ok = match (nonce, form.get("csrf_token")) {
        (Some(nonce), Ok(Some(token))) => state.csrf.verify(token, nonce, &request.sealed(), now),
        _ => false,
    };
    let Some(nonce) = nonce.filter(|_| csrf_ok) else {
        tracing::warn!(client_id = %request.client.id, "login form refused: CSRF check failed");
        return page::error(
            &headers,
            StatusCode::FORBIDDEN,
            "csrf_check_failed",
            "this form was not sent from this server's sign-in page, or it expired: go back to \
             the application and start again",
        );
    };
    // Submitted from our page: the person's choice and credentials are theirs.
    match form.get("action") {
        Ok(None | Some("allow")) => {}
        Ok(Some("deny")) => {
            return redirect_error(ErrorRedirect {
                redirect_uri: request.redirect_uri,
                error: "access_denied",
                description: "the user cancelled the sign-in".to_owned(),
                state: request.state,
            });
        }
        _ => {
            return redirect_error(ErrorRedirect {
                redirect_uri: request.redirect_uri,
                error: "invalid_request",
                description: "action must be allow or deny".to_owned(),
                state: request.state,
            });
        }
    }
    let (email, password) = match (form.get("email"), form.get("password")) {
        (Ok(Some(email)), Ok(Some(password))) => (email, password),
        _ => {
            let email = form.get("email").ok().flatten().unwrap_or("");
            let notice = Notice {
                reason: "invalid_request",
                text: "Enter your e-mail and your password.",
            };
            return form_page(
                &state,
                &request,
                nonce,
                email,
                Some(notice),
                StatusCode::BAD_REQUEST,
            );
        }
    };
    match accounts::authenticate(&state, email, SecretString::from(password)).await {
        Ok(user) => {
            let issued = codes::issue(
                &state,
                codes::NewCode {
                    client_id: &request.client.id,
                    user_id: &user.id,
                    redirect_uri: request.given_redirect_uri.as_deref(),
                    code_challenge: &request.code_challenge,
                    scope: request.scope.clone(),
                },
            )
            .await;
            match issued {
                Ok(code) => {
                    tracing::info!(client_id = %request.client.id, user_id = %user.id, "authorization code issued");
                    let mut params = vec![("code", code.as_str())];
                    if let Some(s) = &request.state {
                        params.push(("state", s));
                    }
                    params.push(("iss", &state.settings.issuer));
                    see_other(&location(&request.redirect_uri, &params))
                }
                Err(e) => server_error(request, e),
            }
        }
        // The same answer, whatever was wrong (unknown e-mail or wrong password).
        Err(AuthError::InvalidCredentials) => {
            let notice = Notice {
                reason: "invalid_credentials",
                text: "The e-mail or the password is wrong.",
            };
            form_page(&state, &request, nonce, email, Some(notice), StatusCode::OK)
        }
        Err(AuthError::TooManyAttempts { retry_after }) => {
            let text = format!(
                "Too many failed sign-ins for this account; try again in {retry_after} seconds."
            );
            let notice = Notice {
                reason: "too_many_attempts",
                text: &text,
            };
            let mut response = form_page(
                &state,
                &request,
                nonce,
                email,
                Some(notice),
                StatusCode::TOO_MANY_REQUESTS,
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            response
        }
        Err(AuthError::Invalid { reason, detail }) => {
            let notice = Notice {
                reason,
                text: &detail,
            };
            form_page(
                &state,
                &request,
                nonce,
                email,
                Some(notice),
                StatusCode::BAD_REQUEST,
            )
        }
        Err(e) => server_error(request, e),
    }
}

/// The answer to a form whose `Content-Length` is over the body limit (the kit's hook, through
/// [`super::too_large`]).
pub fn form_too_large() -> Response {
    page::error_page(
        StatusCode::PAYLOAD_TOO_LARGE,
        "invalid_request",
        "the form is too large",
    )
}

/// The login form with a fresh CSRF token for `nonce`.
fn form_page(
    state: &AppState,
    request: &AuthorizationRequest<'_>,
    nonce: &str,
    email: &str,
    notice: Option<Notice<'_>>,
    status: StatusCode,
) -> Response {
    let token = state
        .csrf
        .token(nonce, &request.sealed(), state.clock.unix_secs());
    page::html(status, page::login(request, &token, email, notice))
}

fn not_readable(headers: &HeaderMap, error: FormError) -> Response {
    page::error(
        headers,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        &error.to_string(),
    )
}

fn refused(headers: &HeaderMap, refusal: Refusal) -> Response {
    match refusal {
        Refusal::Page {
            status,
            reason,
            detail,
        } => page::error(headers, status, reason, &detail),
        Refusal::Redirect(redirect) => redirect_error(redirect),
    }
}

/// A failure of ours after the redirect URI is known: `server_error` to the client (§4.1.2.1).
fn server_error(request: AuthorizationRequest<'_>, error: AuthError) -> Response {
    tracing::error!(
        error = format!("{error:#}"),
        "authorization endpoint failed"
    );
    redirect_error(ErrorRedirect {
        redirect_uri: request.redirect_uri,
        error: "server_error",
        description: "an unexpected error occurred".to_owned(),
        state: request.state,
    })
}

fn redirect_error(redirect: ErrorRedirect) -> Response {
    let mut params = vec![
        ("error", redirect.error),
        ("error_description", redirect.description.as_str()),
    ];
    if let Some(state) = &redirect.state {
        params.push(("state", state));
    }
    see_other(&location(&redirect.redirect_uri, &params))
}

/// `redirect_uri` with `params` added to its query (it may have one already, §3.1.2).
fn location(redirect_uri: &str, params: &[(&str, &str)]) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let separator = match redirect_uri.find('?') {
        None => "?",
        Some(i) if i + 1 == redirect_uri.len() || redirect_uri.ends_with('&') => "",
        Some(_) => "&",
    };
    format!("{redirect_uri}{separator}{query}")
}

/// 303: the browser follows with a GET, whatever the method was.
fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    match HeaderValue::from_str(location) {
        Ok(value) => {
            headers.insert(header::LOCATION, value);
        }
        Err(_) => {
            // A registered redirect URI is checked at start, and the added parameters are
            // form-encoded: this cannot happen, but if it did the answer must not be a redirect.
            return page::error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "the redirect could not be built",
            );
        }
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_added_to_the_redirect_uris_own_query() {
        assert_eq!(
            location(
                "http://127.0.0.1:9/cb",
                &[("code", "a b"), ("state", "x&y")]
            ),
            "http://127.0.0.1:9/cb?code=a+b&state=x%26y"
        );
        assert_eq!(
            location("https://app.example/cb?tenant=1", &[("code", "c")]),
            "https://app.example/cb?tenant=1&code=c"
        );
        assert_eq!(
            location("https://app.example/cb?", &[("code", "c")]),
            "https://app.example/cb?code=c"
        );
    }
}
