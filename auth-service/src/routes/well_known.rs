//! Discovery: the public keys (JWKS, RFC 7517) and the metadata document (RFC 8414 / OpenID
//! Connect Discovery) that let a verifier configure itself from the issuer's URL alone.

use crate::AppState;
use axum::{
    Json, Router,
    extract::State,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::{Value, json};

/// `GET /.well-known/jwks.json` and `GET /.well-known/openid-configuration`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/.well-known/jwks.json", get(jwks))
        .route(
            "/.well-known/openid-configuration",
            get(openid_configuration),
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

/// The discovery document. URLs are the public ones (through the gateway), built from `issuer`.
async fn openid_configuration(State(state): State<AppState>) -> Json<Value> {
    let issuer = state.settings.issuer.trim_end_matches('/');
    Json(json!({
        "issuer": state.settings.issuer,
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "token_endpoint": format!("{issuer}/api/oauth/token"),
        "grant_types_supported": ["password", "refresh_token", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        // There is no authorization endpoint (no browser redirect flows), so no response type.
        "response_types_supported": [],
        "subject_types_supported": ["public"],
        // Access tokens are signed with these; the newest key's algorithm signs new ones.
        "id_token_signing_alg_values_supported": state.settings.algorithms,
        "scopes_supported": state.settings.scopes_supported,
    }))
}
