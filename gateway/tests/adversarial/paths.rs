//! Path attacks over a raw socket (an HTTP client library would tidy these bytes up before
//! sending): every spelling of a path must be matched and forwarded as its one canonical form
//! (`gateway/src/normalize.rs`), or refused — never reach a backend under a weaker policy.
//!
//! The signed-in student may read `/api/users/me`; `GET /api/users` (exact) needs ADMIN; the
//! `public` route forwards anything under `/api/public` without a token.

use crate::helpers::{TestGateway, token};
use shared::Role;
use std::time::Duration;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// What a row expects.
enum Expect {
    /// Forwarded, and the backend saw exactly this target.
    Forwarded(&'static str),
    /// Refused with this status and reason; the backend saw nothing.
    Refused(u16, &'static str),
}

/// Writes `request` as is and reads until the gateway closes the connection.
pub async fn send_raw(gw: &TestGateway, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(gw.addr()).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the gateway kept the connection open");
    String::from_utf8_lossy(&buf).into_owned()
}

/// Status and JSON body of a raw response (the gateway answers with a `Content-Length`).
pub fn status_and_body(response: &str) -> (u16, serde_json::Value) {
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or_default())
}

#[tokio::test]
async fn every_spelling_is_canonical_or_refused() {
    use Expect::*;
    let gw = TestGateway::serve().await;
    let student = token(Role::Student);
    // (target, stands for, expected)
    let cases: &[(&str, &str, Expect)] = &[
        ("/api/users/me", "control row", Forwarded("/users/me")),
        (
            "/api/users/../users/me",
            "RFC 3986 §5.2.4 (dot segments)",
            Forwarded("/users/me"),
        ),
        (
            "/api/%75sers/me",
            "RFC 3986 §6.2.2.2 (unreserved escapes)",
            Forwarded("/users/me"),
        ),
        (
            "//api//users/me/",
            "RFC 3986 §6.2.3 (empty segments)",
            Forwarded("/users/me"),
        ),
        (
            "/api/billing/%2e%2e/users/me",
            "RFC 3986 §5.2.4 (encoded dots across routes)",
            Forwarded("/users/me"),
        ),
        (
            "/api/./users/me/",
            "RFC 3986 §5.2.4 (`.` segment, trailing slash)",
            Forwarded("/users/me"),
        ),
        // The ADMIN-only list (an exact route) under every spelling: the student is refused by
        // role, and no spelling finds a weaker route.
        ("/api/users", "control row", Refused(403, "role_required")),
        (
            "/api/users/",
            "trailing slash (exact-route dodge)",
            Refused(403, "role_required"),
        ),
        (
            "//api/users//",
            "RFC 3986 §6.2.3 (empty segments)",
            Refused(403, "role_required"),
        ),
        (
            "/api/users/me/..",
            "RFC 3986 §5.2.4 (a final `..`)",
            Refused(403, "role_required"),
        ),
        (
            "/api/%75sers",
            "RFC 3986 §6.2.2.2",
            Refused(403, "role_required"),
        ),
        (
            "/api/users/.",
            "RFC 3986 §5.2.4 (a final `.`)",
            Refused(403, "role_required"),
        ),
        // A public prefix walked back onto the ADMIN list: the list's policy applies.
        (
            "/api/public/../users",
            "CVE-2021-41773 (traversal past a route)",
            Refused(403, "role_required"),
        ),
        (
            "/api/public/%2e%2e/users",
            "CVE-2021-41773 (encoded dots)",
            Refused(403, "role_required"),
        ),
        (
            "/api/public/.%2E/users",
            "CVE-2021-42013 (mixed-case encoded dots)",
            Refused(403, "role_required"),
        ),
        (
            "/api/public/..%2Fusers",
            "RFC 3986 §2.2 (an encoded slash is data)",
            Refused(400, "bad_path"),
        ),
        ("/api/users%2Fme", "RFC 3986 §2.2", Refused(400, "bad_path")),
        (
            "/api/public%5C..%5Cusers",
            "backslash as separator (IIS, Windows backends)",
            Refused(400, "bad_path"),
        ),
        (
            "/api/public/..\\users",
            "raw backslash",
            Refused(400, "bad_path"),
        ),
        (
            "/api/users%2fme",
            "RFC 3986 §2.1 (escapes are case-insensitive)",
            Refused(400, "bad_path"),
        ),
        (
            "/api/users/..%2F..",
            "encoded slash after dots",
            Refused(400, "bad_path"),
        ),
        (
            "/api/users/me%3Bx",
            "an encoded `;` (decoded by some backends before matching)",
            Refused(400, "bad_path"),
        ),
        (
            "/api/users/caf\u{e9}",
            "RFC 3986 §2 (a raw byte outside ASCII)",
            Refused(400, "bad_path"),
        ),
        (
            "/api/users;x=1/me",
            "RFC 3986 §3.3 (`;` path parameters, Tomcat/Spring matching)",
            Refused(400, "bad_path"),
        ),
        (
            "/api/users/me%00.json",
            "NUL truncation in C-string backends",
            Refused(400, "bad_path"),
        ),
        (
            "/api/users/%zz",
            "RFC 3986 §2.1 (bad escape)",
            Refused(400, "bad_path"),
        ),
        (
            "/api/users-admin",
            "prefix look-alike (segment match only)",
            Refused(404, "no_route"),
        ),
        (
            "/api/usersme",
            "prefix look-alike",
            Refused(404, "no_route"),
        ),
        (
            "/API/users/me",
            "case look-alike (paths are case-sensitive, RFC 3986 §6.2.2.1)",
            Refused(404, "no_route"),
        ),
    ];
    for (target, stands_for, expected) in cases {
        let before = gw.echo.seen().len();
        let request = format!(
            "GET {target} HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {student}\r\nConnection: close\r\n\r\n"
        );
        let response = send_raw(&gw, request.as_bytes()).await;
        let (status, body) = status_and_body(&response);
        let reached = gw.echo.seen()[before..].to_vec();
        match expected {
            Forwarded(uri) => {
                assert_eq!(status, 200, "{target} ({stands_for}): {response}");
                assert_eq!(body["uri"], *uri, "{target} ({stands_for})");
                assert_eq!(reached, [format!("GET {uri}")], "{target}");
            }
            Refused(code, reason) => {
                assert_eq!(status, *code, "{target} ({stands_for}): {response}");
                assert_eq!(body["reason"], *reason, "{target} ({stands_for})");
                assert!(
                    reached.is_empty(),
                    "{target} ({stands_for}) reached {reached:?}"
                );
            }
        }
    }
}

#[tokio::test]
async fn absolute_form_targets_route_by_path_not_by_the_authority_they_name() {
    let gw = TestGateway::serve().await;
    let student = token(Role::Student);
    // RFC 9112 §3.2.2: a server must accept the absolute form; the path inside is what routes,
    // and the named authority neither chooses an upstream nor changes the policy.
    let cases = [
        ("http://backend.internal/api/users/me", 200, "/users/me"),
        ("http://gw/api/public/../users", 403, ""),
    ];
    for (target, expected, uri) in cases {
        let before = gw.echo.seen().len();
        let request = format!(
            "GET {target} HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {student}\r\nConnection: close\r\n\r\n"
        );
        let response = send_raw(&gw, request.as_bytes()).await;
        let (status, body) = status_and_body(&response);
        assert_eq!(status, expected, "{target}: {response}");
        if expected == 200 {
            assert_eq!(body["uri"], uri, "{target}");
        } else {
            assert_eq!(gw.echo.seen().len(), before, "{target} reached the backend");
        }
    }
}
