//! Discovery: the public keys (JWKS, RFC 7517) and the authorization server metadata (RFC 8414)
//! that let verifiers and OAuth clients configure themselves from the issuer's URL alone.

use crate::AppState;
use axum::{
    Json, Router,
    extract::State,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::{Value, json};

/// `GET /.well-known/jwks.json`, `/.well-known/oauth-authorization-server` and
/// `/.well-known/openid-configuration` (the same metadata).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/.well-known/jwks.json", get(jwks))
        .route(
            "/.well-known/oauth-authorization-server",
            get(authorization_server),
        )
        .route(
            "/.well-known/openid-configuration",
            get(authorization_server),
        )
}

/// The public signing keys. Cacheable for a few minutes: verifiers refetch early anyway when a
/// token names a `kid` they have not seen (a rotation).
async fn jwks(State(state): State<AppState>) -> Response {
    let mut response = Json(state.keys.jwks().clone()).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

/// The RFC 8414 metadata: what this authorization server really does, nothing more. URLs are
/// the public ones (through the gateway), built from `issuer`.
///
/// - The authorization endpoint answers `response_type=code` only (no implicit grant), with PKCE
///   `S256` only (`plain` is refused), and puts `iss` in its redirects (RFC 9207).
/// - Not an OpenID Connect provider (no ID tokens, no userinfo): none of OpenID Connect
///   Discovery's own members (`id_token_signing_alg_values_supported`, `subject_types_supported`,
///   `userinfo_endpoint`). `/.well-known/openid-configuration` serves this same document, for
///   clients that look only there; an OIDC library checking it will rightly find no OIDC
///   provider.
pub fn metadata(state: &AppState) -> Value {
    let issuer = state.settings.issuer.trim_end_matches('/');
    json!({
        "issuer": state.settings.issuer,
        "authorization_endpoint": format!("{issuer}/api/oauth/authorize"),
        "token_endpoint": format!("{issuer}/api/oauth/token"),
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "grant_types_supported":
            ["authorization_code", "password", "refresh_token", "client_credentials"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        // Basic and body for confidential clients; `none` for public clients (client_id alone).
        "token_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint": format!("{issuer}/api/oauth/revoke"),
        "revocation_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post", "none"],
        // Introspection is for confidential clients only.
        "introspection_endpoint": format!("{issuer}/api/oauth/introspect"),
        "introspection_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post"],
        "scopes_supported": state.settings.scopes_supported,
    })
}

async fn authorization_server(State(state): State<AppState>) -> Response {
    let mut response = Json(metadata(&state)).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
