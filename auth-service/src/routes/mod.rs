//! The HTTP surface. Each module owns its paths and exposes a `router()`; [`crate::router`]
//! merges them and hands them to the kit, which adds `/healthz`, `/readyz` and the middleware.
//!
//! | path | module |
//! |---|---|
//! | `POST /auth/register`, `/auth/login`, `/auth/refresh`, `/auth/logout` | [`auth`] |
//! | `GET`, `POST /oauth/authorize` | [`oauth`] (`authorize`: `request`, `page`) |
//! | `POST /oauth/token`, `/oauth/revoke`, `/oauth/introspect` | [`oauth`] (`token`, `revoke`, `introspect`; `client_auth`, `form`) |
//! | `GET /.well-known/jwks.json`, `/.well-known/oauth-authorization-server`, `/.well-known/openid-configuration` | [`well_known`] |
//! | `POST /admin/reset` (demo mode, ADMIN) | [`admin`] |
//! | `GET /healthz`, `/readyz` | `shared::service_kit::health` |

pub mod admin;
pub mod auth;
pub mod oauth;
pub mod well_known;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// Token responses must never be cached (RFC 6749 §5.1): a shared cache would hand one user's
/// tokens to another.
pub(crate) fn no_store(response: impl IntoResponse) -> Response {
    let mut response = response.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
