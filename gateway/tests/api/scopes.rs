//! OAuth scopes on routes and aggregates (403 `insufficient_scope` with the RFC 6750 challenge
//! naming the route's scopes), and the challenges of 401s and of an aggregate's 403.

use crate::helpers::*;
use shared::{Claims, Role};

/// A token as the auth-service's `client_credentials` grant issues one to `reporting-job`.
fn service_token(scope: Option<&str>) -> String {
    sign(&Claims {
        sub: "reporting-job".into(),
        name: "reporting-job".into(),
        scope: scope.map(str::to_owned),
        ..claims(Role::Service)
    })
}

/// A user token asked for with the OAuth `scope` parameter (the `password` grant).
fn narrowed_token(role: Role, scope: &str) -> String {
    sign(&Claims {
        scope: Some(scope.to_owned()),
        ..claims(role)
    })
}

async fn get_as(gw: &TestGateway, path: &str, token: &str) -> reqwest::Response {
    gw.oneshot(gw.get(path).header("authorization", bearer(token)))
        .await
}

/// Asserts a 403 `insufficient_scope` whose challenge names `scopes`, and that nothing
/// reached the backend.
async fn assert_insufficient_scope(gw: &TestGateway, response: reqwest::Response, scopes: &str) {
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = assert_problem(response, 403, "insufficient_scope").await;
    let detail = format!("this route needs a token with one of the scopes: {scopes}");
    assert_eq!(body["detail"], detail.as_str());
    assert_eq!(
        challenge,
        format!(
            "Bearer error=\"insufficient_scope\", scope=\"{scopes}\", error_description=\"{detail}\""
        )
    );
    assert!(gw.echo.seen().is_empty(), "{:?}", gw.echo.seen());
}

#[tokio::test]
async fn a_billing_read_client_reads_billing_and_nothing_else() {
    let gw = TestGateway::spawn().await;
    let token = service_token(Some("billing:read"));

    let response = get_as(&gw, "/api/users/me", &token).await;
    assert_insufficient_scope(&gw, response, "profile").await;
    let response = get_as(&gw, "/api/dashboard", &token).await;
    assert_insufficient_scope(&gw, response, "profile").await;
    let response = gw
        .oneshot(
            gw.http
                .post(gw.url("/api/billing/invoices"))
                .header("authorization", bearer(&token))
                .body("{}"),
        )
        .await;
    assert_insufficient_scope(&gw, response, "billing").await;

    let (status, _, body) = parts(get_as(&gw, "/api/billing/invoices", &token).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["uri"], "/billing/invoices");
    assert_eq!(body["headers"]["x-user-role"][0], "SERVICE");
    assert_eq!(gw.echo.seen(), ["GET /billing/invoices"]);
}

#[tokio::test]
async fn a_machine_token_without_a_scope_claim_is_refused_on_scoped_routes() {
    let gw = TestGateway::spawn().await;
    let token = service_token(None);
    let response = get_as(&gw, "/api/billing/summary", &token).await;
    assert_insufficient_scope(&gw, response, "billing billing:read").await;
    // A route without `scopes` still takes it.
    let (status, _, _) = parts(get_as(&gw, "/api/optional/x", &token).await).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn login_tokens_without_scope_keep_every_route_their_role_allows() {
    let gw = TestGateway::spawn().await;
    let student = token(Role::Student);
    for path in ["/api/users/me", "/api/billing/invoices", "/api/dashboard"] {
        let (status, _, body) = parts(get_as(&gw, path, &student).await).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let admin = token(Role::Admin);
    let (status, _, body) = parts(get_as(&gw, "/api/users", &admin).await).await;
    assert_eq!(status, 200, "{body}");
    // The role check still comes first: a student is refused the list for its role.
    let response = get_as(&gw, "/api/users", &student).await;
    assert_problem(response, 403, "role_required").await;
}

#[tokio::test]
async fn a_user_token_narrowed_to_some_scopes_gets_only_their_routes() {
    let gw = TestGateway::spawn().await;
    let profile_only = narrowed_token(Role::Student, "profile");
    let (status, _, _) = parts(get_as(&gw, "/api/users/me", &profile_only).await).await;
    assert_eq!(status, 200);
    gw.echo.seen.lock().unwrap().clear();
    let response = get_as(&gw, "/api/billing/invoices", &profile_only).await;
    assert_insufficient_scope(&gw, response, "billing billing:read").await;

    let both = narrowed_token(Role::Student, "profile billing");
    let (status, _, _) = parts(get_as(&gw, "/api/billing/invoices", &both).await).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_decision_record_names_the_scope_check() {
    let gw = TestGateway::spawn().await;
    let token = service_token(Some("billing:read"));
    let response = get_as(&gw, "/api/users/me", &token).await;
    let id = response.headers()["x-gateway-decision"]
        .to_str()
        .unwrap()
        .to_owned();
    let response = gw
        .oneshot(
            gw.get(&format!("/gateway/decisions/{id}"))
                .header("authorization", bearer(&token)),
        )
        .await;
    let (status, _, record) = parts(response).await;
    assert_eq!(status, 200, "{record}");
    let last = record["checks"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["check"], "scope", "{record}");
    assert_eq!(last["outcome"], "fail");
    assert_eq!(last["detail"], "insufficient_scope: needs profile");
}

#[tokio::test]
async fn a_request_without_a_token_gets_a_bare_challenge_and_a_bad_token_an_error_code() {
    let gw = TestGateway::spawn().await;
    let response = gw.oneshot(gw.get("/api/users/me")).await;
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer realm=\"api\""
    );
    assert_problem(response, 401, "token_missing").await;

    let response = get_as(&gw, "/api/users/me", "not-a-jwt").await;
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\", error_description=\""),
        "{challenge}"
    );
}
