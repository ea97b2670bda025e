//! RFC 8414 metadata: what the server really supports, in a form OAuth client libraries accept.
//! (`auth-service/tests/check_metadata.py` runs Authlib's own validator against a running server.)

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn metadata(app: &TestApp, path: &str) -> Value {
    let response = app.get(path).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    response.json().await.unwrap()
}

#[tokio::test]
async fn the_authorization_server_metadata_says_what_the_server_does() {
    let app = spawn_app().await;
    let document = metadata(&app, "/.well-known/oauth-authorization-server").await;
    assert_eq!(document["issuer"], "http://localhost:8080");
    assert_eq!(
        document["token_endpoint"],
        "http://localhost:8080/api/oauth/token"
    );
    assert_eq!(
        document["jwks_uri"],
        "http://localhost:8080/.well-known/jwks.json"
    );
    // The authorization endpoint: `code` only, PKCE S256 only, `iss` in its redirects.
    assert_eq!(
        document["authorization_endpoint"],
        "http://localhost:8080/api/oauth/authorize"
    );
    assert_eq!(document["response_types_supported"], json!(["code"]));
    assert_eq!(
        document["code_challenge_methods_supported"],
        json!(["S256"])
    );
    assert_eq!(
        document["authorization_response_iss_parameter_supported"],
        true
    );
    assert_eq!(
        document["grant_types_supported"],
        json!([
            "authorization_code",
            "password",
            "refresh_token",
            "client_credentials"
        ])
    );
    assert_eq!(
        document["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post", "none"])
    );
    // Not an OpenID provider: no OpenID Connect members.
    for oidc in [
        "id_token_signing_alg_values_supported",
        "subject_types_supported",
        "userinfo_endpoint",
    ] {
        assert!(document.get(oidc).is_none(), "{oidc} in {document}");
    }
}

#[tokio::test]
async fn openid_configuration_serves_the_same_true_document() {
    let app = spawn_app().await;
    assert_eq!(
        metadata(&app, "/.well-known/openid-configuration").await,
        metadata(&app, "/.well-known/oauth-authorization-server").await
    );
}
