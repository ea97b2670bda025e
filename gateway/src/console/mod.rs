//! The JWT console: a web page, served by the gateway itself at `/console`, where a student
//! sees a token's three parts, breaks it, and watches the gateway decide (`docs/console.md`).
//!
//! Plain HTML, CSS and JavaScript in [`assets`](self) embedded in the binary with
//! `include_str!`: no npm, no build step, no font or script from another site, so it works
//! offline on a classroom projector and from a `docker compose up` with nothing else.
//!
//! | path | what |
//! |---|---|
//! | `GET /console`, `/console/callback` | the page (the second is where the OAuth login comes back) |
//! | `GET /console/console.js`, `/console/sha256.js`, `/console/console.css` | its script, its SHA-256, its style |
//! | `GET /console/events` | server-sent events: every finished request ([`feed`]) |
//!
//! Everything else the page needs is the gateway's ordinary public surface: the login and OAuth
//! endpoints, the demo routes, the caller's own decision records (`/gateway/decisions/{id}`,
//! read with the same `Authorization` header the request carried: decision ids are sequential,
//! so the owner check, not the id, is what keeps one student from reading another's record),
//! and the latency switch (two ADMIN-only routes in the demo configuration to the backends'
//! teaching toggles).
//!
//! **Security.** The page's `Content-Security-Policy` allows scripts, styles and requests from
//! this origin only: no inline script, no `eval`, no other site (so a token can only ever be
//! sent to the gateway it came from), no framing (`frame-ancestors 'none'`, and
//! `X-Frame-Options: DENY` for older browsers). The page is `no-store`. Tokens live in the
//! page's memory, never in `localStorage` or a cookie; only the PKCE verifier and `state` of an
//! OAuth login in progress sit in `sessionStorage`, because the browser leaves the page to log in
//! and must find them when it comes back (they are useless without the code, and removed at
//! once). `nosniff` and `Referrer-Policy` come with every answer of the gateway.
//!
//! **When.** On in demo mode, off otherwise unless `[console] enabled = true`
//! ([`crate::config::ConsoleConfig`]); when off, these paths are not the gateway's own and fall
//! through to the routes like any other (404 in every shipped configuration).
//!
//! # Layout
//!
//! - [`feed`]: the live feed of finished requests (a leaf the pipeline publishes to);
//! - this file: the router of the console's paths.

pub mod feed;

use crate::live::Live;
use axum::{
    Router,
    extract::State,
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
    routing::get,
};
use http::{HeaderValue, StatusCode, header};
use shared::Problem;
use std::{convert::Infallible, sync::Arc};
use tokio::sync::broadcast::error::RecvError;

/// Every path of the console starts with this.
pub const PREFIX: &str = "/console";

/// The page's policy: this origin only, nothing inline, nothing evaluated, never framed.
/// `img-src data:` for nothing but the favicon-less tab; `form-action 'self'` because the page's
/// forms are handled by its script and must never post anywhere else.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
connect-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; \
frame-ancestors 'none'";

const PAGE: &str = include_str!("assets/console.html");
const SCRIPT: &str = include_str!("assets/console.js");
const SHA256: &str = include_str!("assets/sha256.js");
const STYLE: &str = include_str!("assets/console.css");

/// True for the paths the console answers (when it is on).
pub fn serves(path: &str) -> bool {
    path == PREFIX
        || path
            .strip_prefix(PREFIX)
            .is_some_and(|p| p.starts_with('/'))
}

/// The console's routes. Unknown paths under `/console/` and other methods are answered by the
/// own endpoints' fallbacks (problem+json).
pub fn router() -> Router<Arc<Live>> {
    Router::new()
        .route("/console", get(page))
        .route("/console/", get(page))
        .route("/console/callback", get(page))
        .route("/console/console.js", get(script))
        .route("/console/sha256.js", get(sha256))
        .route("/console/console.css", get(style))
        .route("/console/events", get(events))
}

/// The page, with its security headers.
async fn page() -> Response {
    let mut response = PAGE.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // The OAuth callback's URL holds a code: never cached, never in a shared cache's keys.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The page opens no other window and is opened by none it must talk to.
    h.insert(
        http::HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    response
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Revalidated on every load: a gateway upgrade must not leave last week's script running.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

async fn script() -> Response {
    asset(SCRIPT, "text/javascript; charset=utf-8")
}

async fn sha256() -> Response {
    asset(SHA256, "text/javascript; charset=utf-8")
}

async fn style() -> Response {
    asset(STYLE, "text/css; charset=utf-8")
}

/// `GET /console/events`: the live feed as server-sent events, one `request` event per
/// finished request (a `lagged` event says how many a slow page missed). Ends when the gateway
/// shuts down; 503 `too_many_streams` when [`feed::MAX_STREAMS`] are open.
async fn events(State(live): State<Arc<Live>>) -> Response {
    let Some(subscription) = live.current().feed.subscribe() else {
        return Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_streams",
            format!(
                "at most {} live feeds are open at once; close another console tab",
                feed::MAX_STREAMS
            ),
        )
        .into_response();
    };
    let stream = futures::stream::unfold(subscription, |mut sub| async move {
        let event = tokio::select! {
            // Shutdown (or the feed gone): the stream ends, the response completes, the drain
            // is not held up.
            _ = sub.closed.wait_for(|closed| *closed) => return None,
            received = sub.events.recv() => match received {
                Ok(json) => Event::default().event("request").data(&*json),
                Err(RecvError::Lagged(missed)) => {
                    Event::default().event("lagged").data(missed.to_string())
                }
                Err(RecvError::Closed) => return None,
            },
        };
        Some((Ok::<_, Infallible>(event), sub))
    });
    let mut response = Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
