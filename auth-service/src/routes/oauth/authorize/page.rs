//! The HTML of the authorization endpoint: the login form and the error page, with the headers
//! that keep them from being framed, cached or leaking their URL.
//!
//! The form works without JavaScript (a plain `<form method="post">`), and the page loads
//! nothing: its Content-Security-Policy allows only its own inline style (by hash), so even an
//! escaping mistake could not run a script. `frame-ancestors 'none'` and `X-Frame-Options: DENY`
//! (for older browsers) stop another site from showing the form in an invisible frame and
//! tricking a click (clickjacking). There is no `form-action` directive on purpose: browsers
//! apply it to the redirect that follows the POST too, and the client's redirect URI (any
//! loopback port, possibly an IPv6 literal, which CSP cannot name) would be blocked.

use super::request::AuthorizationRequest;
use crate::pkce;
use axum::{
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

/// The page's only style, allowed by its hash in the CSP.
const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:24rem;margin:3rem auto;\
padding:0 1rem}label{display:block;margin:.8rem 0}input{display:block;width:100%;\
padding:.4rem;box-sizing:border-box}button{margin:.8rem .5rem 0 0;padding:.4rem 1rem}\
.error{color:#a00}";

/// `default-src 'none'`, the style by hash, no framing, no `<base>`.
static CSP: LazyLock<String> = LazyLock::new(|| {
    let hash = STANDARD.encode(Sha256::digest(STYLE.as_bytes()));
    format!(
        "default-src 'none'; style-src 'sha256-{hash}'; frame-ancestors 'none'; base-uri 'none'"
    )
});

/// Escapes text for HTML element content and double-quoted attributes. Five characters cover
/// both, so a small function does (no template engine for two pages).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A message shown above the form.
pub struct Notice<'a> {
    /// Stable reason code (`data-reason`), as in the JSON API's problems.
    pub reason: &'static str,
    /// What the person should know.
    pub text: &'a str,
}

/// The login form for `request`, carrying it in hidden fields with `csrf_token`.
pub fn login(
    request: &AuthorizationRequest<'_>,
    csrf_token: &str,
    email: &str,
    notice: Option<Notice<'_>>,
) -> String {
    let mut hidden = String::new();
    let fields = [
        ("response_type", Some("code")),
        ("client_id", Some(request.client.id.as_str())),
        ("redirect_uri", request.given_redirect_uri.as_deref()),
        ("state", request.state.as_deref()),
        ("code_challenge", Some(request.code_challenge.as_str())),
        ("code_challenge_method", Some(pkce::S256)),
        ("scope", request.scope.as_deref()),
        ("csrf_token", Some(csrf_token)),
    ];
    for (name, value) in fields {
        if let Some(value) = value {
            hidden.push_str(&format!(
                "<input type=\"hidden\" name=\"{name}\" value=\"{}\">\n",
                escape(value)
            ));
        }
    }
    let scope = match &request.scope {
        Some(scope) => format!(" (scope: <code>{}</code>)", escape(scope)),
        None => String::new(),
    };
    let notice = match notice {
        Some(n) => format!(
            "<p class=\"error\" role=\"alert\" data-reason=\"{}\">{}</p>\n",
            n.reason,
            escape(n.text)
        ),
        None => String::new(),
    };
    document(
        "Sign in",
        &format!(
            "<h1>Sign in</h1>\n<p><strong>{client}</strong> asks to use your account{scope}.</p>\n\
             {notice}<form method=\"post\" action=\"authorize\">\n{hidden}\
             <label>E-mail <input type=\"email\" name=\"email\" value=\"{email}\" \
             autocomplete=\"username\" required autofocus></label>\n\
             <label>Password <input type=\"password\" name=\"password\" \
             autocomplete=\"current-password\" required></label>\n\
             <button type=\"submit\" name=\"action\" value=\"allow\">Sign in</button>\
             <button type=\"submit\" name=\"action\" value=\"deny\" formnovalidate>Cancel</button>\n\
             </form>",
            client = escape(&request.client.id),
            email = escape(email),
        ),
    )
}

fn document(title: &str, main: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{main}\n</main>\n\
         </body>\n</html>\n"
    )
}

/// An HTML response with the page headers.
pub fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_str(&CSP).expect("the CSP is ASCII"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // The page's URL holds the request (state, challenge): no Referer carries it elsewhere.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// An error shown to the person (never a redirect): an HTML page for a browser, problem+json
/// (with the same `reason`) for any other client.
pub fn error(headers: &HeaderMap, status: StatusCode, reason: &str, detail: &str) -> Response {
    let wants_html = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/html"));
    if wants_html {
        error_page(status, reason, detail)
    } else {
        shared::Problem::new(status, reason.to_owned(), detail.to_owned()).into_response()
    }
}

/// The HTML error page.
pub fn error_page(status: StatusCode, reason: &str, detail: &str) -> Response {
    let body = document(
        "Sign-in error",
        &format!(
            "<h1>This sign-in cannot continue</h1>\n<p class=\"error\" data-reason=\"{}\">{}</p>\n\
             <p>Go back to the application and start again.</p>",
            escape(reason),
            escape(detail)
        ),
    );
    html(status, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn the_csp_allows_exactly_the_pages_style() {
        assert!(CSP.starts_with("default-src 'none'; style-src 'sha256-"));
        assert!(CSP.contains("frame-ancestors 'none'"));
    }
}
