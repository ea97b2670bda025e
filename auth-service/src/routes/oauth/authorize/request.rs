//! Validating an authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3), in the order the RFC
//! needs: first the client and its redirect URI, because until they are known to be right the
//! browser must not be sent anywhere (§4.1.2.1: an error then is shown to the user, never
//! redirected — an open redirector otherwise); then everything else, whose errors go back to the
//! client at its redirect URI with `error` and `state`.

use super::super::{allowed, form::Form, parse_scope};
use crate::{AppState, clients::Client, pkce, redirect_uris};
use axum::http::StatusCode;

/// A valid authorization request.
#[derive(Debug)]
pub struct AuthorizationRequest<'a> {
    /// The client asking.
    pub client: &'a Client,
    /// Where the browser goes back to: the requested URI, or the only registered one.
    pub redirect_uri: String,
    /// `redirect_uri` as sent (the token request must repeat it), if it was sent.
    pub given_redirect_uri: Option<String>,
    /// `state`, returned as it came.
    pub state: Option<String>,
    /// The PKCE S256 challenge.
    pub code_challenge: String,
    /// The requested scope, space-separated, if any.
    pub scope: Option<String>,
}

impl AuthorizationRequest<'_> {
    /// The fields the login form's CSRF token seals ([`crate::csrf`]): what the form carries as
    /// hidden fields and would change the code's meaning if edited.
    pub fn sealed(&self) -> [&str; 5] {
        [
            &self.client.id,
            self.given_redirect_uri.as_deref().unwrap_or(""),
            self.state.as_deref().unwrap_or(""),
            &self.code_challenge,
            self.scope.as_deref().unwrap_or(""),
        ]
    }
}

/// Why a request was refused, and how the user learns it.
#[derive(Debug)]
pub enum Refusal {
    /// Shown as a page: the client or its redirect URI cannot be trusted.
    Page {
        /// 400 (or 413 for a body too large).
        status: StatusCode,
        /// Stable reason code.
        reason: &'static str,
        /// What is wrong, for the person reading the page.
        detail: String,
    },
    /// Sent back to the client's redirect URI (§4.1.2.1).
    Redirect(ErrorRedirect),
}

/// An error sent to the client's redirect URI.
#[derive(Debug)]
pub struct ErrorRedirect {
    /// The validated redirect URI.
    pub redirect_uri: String,
    /// The RFC 6749 §4.1.2.1 code.
    pub error: &'static str,
    /// `error_description`.
    pub description: String,
    /// `state`, if the request had a usable one.
    pub state: Option<String>,
}

impl Refusal {
    /// A page with status 400.
    pub fn page(reason: &'static str, detail: impl Into<String>) -> Refusal {
        Refusal::Page {
            status: StatusCode::BAD_REQUEST,
            reason,
            detail: detail.into(),
        }
    }
}

/// Checks `form` (the query of a GET, or the fields of the login form's POST).
pub fn validate<'a>(state: &'a AppState, form: &Form) -> Result<AuthorizationRequest<'a>, Refusal> {
    // 1. The client, and where it wants the browser back. A repeated client_id or redirect_uri
    //    is ambiguous, so it is a page too.
    let client_id = form
        .get("client_id")
        .map_err(|e| Refusal::page("invalid_request", e.to_string()))?
        .ok_or_else(|| Refusal::page("invalid_request", "client_id is missing"))?;
    let client = state
        .clients
        .get(client_id)
        .ok_or_else(|| Refusal::page("unknown_client", "no client has this client_id"))?;
    let given = form
        .get("redirect_uri")
        .map_err(|e| Refusal::page("invalid_request", e.to_string()))?;
    let redirect_uri = match (given, client.redirect_uris.as_slice()) {
        (Some(requested), registered) => {
            redirect_uris::find(registered, requested).ok_or_else(|| {
                Refusal::page(
                    "invalid_redirect_uri",
                    "redirect_uri is not one this client registered",
                )
            })?;
            requested.to_owned()
        }
        // §3.1.2.3: without a redirect_uri, the one registered URI (if only one) is used.
        (None, [only]) => only.clone(),
        (None, _) => {
            return Err(Refusal::page(
                "invalid_request",
                "redirect_uri is missing (the client registered none or several)",
            ));
        }
    };

    // 2. From here on errors go back to the client. `state` first, so they can carry it.
    let redirect = |error, description: &str, state: Option<&str>| {
        Refusal::Redirect(ErrorRedirect {
            redirect_uri: redirect_uri.clone(),
            error,
            description: description.to_owned(),
            state: state.map(str::to_owned),
        })
    };
    let state_param = form.get("state").ok().flatten();
    if let Some(name) = form.first_repeated() {
        let state_param = state_param.filter(|_| name != "state");
        return Err(redirect(
            "invalid_request",
            &format!("the parameter `{name}` is repeated"),
            state_param,
        ));
    }
    if !client.may_use("authorization_code") {
        return Err(redirect(
            "unauthorized_client",
            "this client may not use the authorization code grant",
            state_param,
        ));
    }
    match form.get("response_type").ok().flatten() {
        Some("code") => {}
        None => {
            return Err(redirect(
                "invalid_request",
                "response_type is missing",
                state_param,
            ));
        }
        Some(_) => {
            return Err(redirect(
                "unsupported_response_type",
                "the only response_type is `code`",
                state_param,
            ));
        }
    }
    if client.require_state && state_param.is_none() {
        return Err(redirect(
            "invalid_request",
            "state is required for this client",
            None,
        ));
    }
    let code_challenge = pkce::check_challenge(
        form.get("code_challenge").ok().flatten(),
        form.get("code_challenge_method").ok().flatten(),
    )
    .map_err(|why| redirect("invalid_request", why, state_param))?;
    let scope = match parse_scope(form.get("scope").ok().flatten()) {
        Ok(None) => None,
        Ok(Some(scopes)) => {
            allowed(&scopes, &state.settings.user_scopes)
                .map_err(|e| redirect("invalid_scope", &e.description, state_param))?;
            Some(scopes.join(" "))
        }
        Err(e) => return Err(redirect("invalid_scope", &e.description, state_param)),
    };
    Ok(AuthorizationRequest {
        client,
        redirect_uri,
        given_redirect_uri: given.map(str::to_owned),
        state: state_param.map(str::to_owned),
        code_challenge: code_challenge.to_owned(),
        scope,
    })
}
