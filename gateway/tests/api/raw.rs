//! Raw-socket tests: bytes an HTTP client library would tidy up before sending (dot segments,
//! encoded slashes, conflicting framing headers). Each request is written as is and the response
//! read back from the socket. None of them may be a 500.

use crate::helpers::*;
use shared::Role;
use std::time::Duration;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// Writes `request` and reads until the gateway closes the connection.
async fn send_raw(gw: &TestGateway, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(gw.addr()).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the gateway kept the connection open");
    String::from_utf8_lossy(&buf).into_owned()
}

fn status(response: &str) -> u16 {
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
    assert_ne!(status, 500, "{response}");
    status
}

fn get(path: &str, token: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .into_bytes()
}

/// The JSON body of an echoed response.
fn echoed(response: &str) -> serde_json::Value {
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("");
    serde_json::from_str(body).unwrap_or_else(|_| panic!("not an echo: {response}"))
}

#[tokio::test]
async fn path_spellings_are_normalised_before_matching_and_forwarding() {
    let gw = TestGateway::serve().await;
    let student = token(Role::Student);
    for spelling in [
        "/api/users/../users/me",
        "//api//users/me",
        "/api/%75sers/me",
        "/api/./users/me/",
        "/api/billing/%2e%2e/users/me",
    ] {
        let response = send_raw(&gw, &get(spelling, &student)).await;
        assert_eq!(status(&response), 200, "{spelling}: {response}");
        assert_eq!(echoed(&response)["uri"], "/users/me", "{spelling}");
    }
}

#[tokio::test]
async fn no_spelling_reaches_the_admin_list_under_a_weaker_policy() {
    let gw = TestGateway::serve().await;
    let student = token(Role::Student);
    for spelling in [
        "/api/users",
        "/api/users/",
        "//api/users//",
        "/api/users/me/..",
        "/api/%75sers",
        "/api/users/.",
    ] {
        let response = send_raw(&gw, &get(spelling, &student)).await;
        assert_eq!(status(&response), 403, "{spelling}: {response}");
        assert!(response.contains("role_required"), "{spelling}");
    }
    assert!(gw.echo.seen().is_empty(), "{:?}", gw.echo.seen());
}

#[tokio::test]
async fn dangerous_spellings_are_400_bad_path() {
    let gw = TestGateway::serve().await;
    let student = token(Role::Student);
    for spelling in [
        "/api/users%2Fme",
        "/api/users%2fme",
        "/api/users/..%2F..",
        "/api/users;x/me",
        "/api/users/me%3Bx",
        "/api/users%5Cme",
        "/api/users/me%00",
        "/api/users/%zz",
    ] {
        let response = send_raw(&gw, &get(spelling, &student)).await;
        assert_eq!(status(&response), 400, "{spelling}: {response}");
        assert!(response.contains("application/problem+json"), "{spelling}");
        assert!(
            response.contains("\"reason\":\"bad_path\""),
            "{spelling}: {response}"
        );
    }
    // A literal backslash or a raw non-ASCII byte: refused too (by hyper's parser or by us).
    for spelling in [&b"/api\\users/me"[..], &b"/api/users/\xc3\xa9"[..]] {
        let mut request = b"GET ".to_vec();
        request.extend_from_slice(spelling);
        request.extend_from_slice(b" HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n");
        let response = send_raw(&gw, &request).await;
        assert_eq!(status(&response), 400, "{response}");
    }
    assert!(gw.echo.seen().is_empty(), "{:?}", gw.echo.seen());
}

#[tokio::test]
async fn hop_by_hop_request_headers_are_removed_including_those_named_in_connection() {
    let gw = TestGateway::serve().await;
    let request = b"GET /api/public/x HTTP/1.1\r\nHost: gw\r\nConnection: close, X-Drop-Me\r\n\
X-Drop-Me: secret\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nUpgrade: websocket\r\n\
Proxy-Authorization: Basic dTpw\r\nProxy-Connection: keep-alive\r\nX-Keep-Me: 1\r\n\r\n";
    let response = send_raw(&gw, request).await;
    assert_eq!(status(&response), 200, "{response}");
    let headers = &echoed(&response)["headers"];
    for gone in [
        "x-drop-me",
        "keep-alive",
        "te",
        "upgrade",
        "proxy-authorization",
        "proxy-connection",
    ] {
        assert!(
            headers.get(gone).is_none(),
            "{gone} reached the backend: {headers}"
        );
    }
    assert_eq!(headers["x-keep-me"][0], "1");
}

#[tokio::test]
async fn duplicate_content_lengths_that_disagree_are_refused() {
    let gw = TestGateway::serve().await;
    let request = b"POST /api/public/x HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\n\
Content-Length: 6\r\nConnection: close\r\n\r\nhello!";
    let response = send_raw(&gw, request).await;
    assert_eq!(status(&response), 400, "{response}");
    assert!(gw.echo.seen().is_empty());
}

#[tokio::test]
async fn content_length_with_chunked_cannot_smuggle_a_second_request() {
    let gw = TestGateway::serve().await;
    // A front-end that trusted Content-Length would see one request whose body hides a second;
    // RFC 9112 §6.3: Transfer-Encoding wins and the connection must close afterwards.
    let smuggled = "GET /api/public/smuggled HTTP/1.1\r\nHost: gw\r\n\r\n";
    let body = format!("0\r\n\r\n{smuggled}");
    let request = format!(
        "POST /api/public/x HTTP/1.1\r\nHost: gw\r\nContent-Length: {}\r\n\
Transfer-Encoding: chunked\r\n\r\n{body}",
        body.len()
    );
    let response = send_raw(&gw, request.as_bytes()).await;
    let code = status(&response);
    assert!(code == 200 || code == 400, "{response}");
    // Whatever the answer, the backend never sees the smuggled request, and at most one.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let seen = gw.echo.seen();
    assert!(seen.len() <= 1, "{seen:?}");
    assert!(!seen.iter().any(|s| s.contains("smuggled")), "{seen:?}");
    if code == 200 {
        assert_eq!(echoed(&response)["body_len"], 0);
    }
}

#[tokio::test]
async fn oversized_headers_get_431() {
    let gw = TestGateway::serve().await;
    let big = "a".repeat(64 * 1024);
    let request = format!("GET /api/public/x HTTP/1.1\r\nHost: gw\r\nX-Big: {big}\r\n\r\n");
    let response = send_raw(&gw, request.as_bytes()).await;
    assert_eq!(status(&response), 431, "{response}");
    assert!(gw.echo.seen().is_empty());
}

#[tokio::test]
async fn a_long_uri_gets_414_before_anything_else() {
    let gw = TestGateway::serve().await;
    // Long, and also a bad path and no token: the length is checked first.
    let path = format!("/api/users/{}%2F", "a".repeat(4096));
    let response = send_raw(&gw, &get(&path, "x")).await;
    assert_eq!(status(&response), 414, "{response}");
    assert!(response.contains("uri_too_long"));
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let gw = TestGateway::serve().await;
    let mut stream = TcpStream::connect(gw.addr()).await.unwrap();
    stream
        .write_all(b"GET /api/public/x HTTP/1.1\r\nHost: gw\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    // The test config's header-read timeout is 500 ms; the outer bound only stops a hang.
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the gateway kept a half-sent request open");
    assert!(gw.echo.seen().is_empty());
}

#[tokio::test]
async fn an_over_limit_body_is_413_by_length_or_on_the_stream() {
    let gw = TestGateway::serve().await;
    let body = "z".repeat(MAX_BODY as usize + 10);
    let request = format!(
        "POST /api/public/x HTTP/1.1\r\nHost: gw\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let response = send_raw(&gw, request.as_bytes()).await;
    assert_eq!(status(&response), 413, "{response}");
    assert!(response.contains("body_too_large"));

    let chunk = "z".repeat(600);
    let request = format!(
        "POST /api/public/x HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
258\r\n{chunk}\r\n258\r\n{chunk}\r\n0\r\n\r\n"
    );
    let response = send_raw(&gw, request.as_bytes()).await;
    assert_eq!(status(&response), 413, "{response}");
}

/// Connections the test opens and keeps, silent, from 127.0.0.1.
async fn hold(gw: &TestGateway, count: usize) -> Vec<TcpStream> {
    let mut held = Vec::new();
    for _ in 0..count {
        held.push(TcpStream::connect(gw.addr()).await.unwrap());
    }
    held
}

#[tokio::test]
async fn a_trusted_proxy_is_exempt_from_the_per_address_cap_and_a_client_is_not() {
    let request = get("/api/public/x", "unused");
    for (trusted, expected) in [(false, None), (true, Some(200))] {
        let echo = Echo::spawn().await;
        let mut config = test_config(echo.addr).await;
        config.server.limits.max_connections_per_address = 2;
        config.trusted_proxies = if trusted {
            vec!["127.0.0.1/32".into()]
        } else {
            Vec::new()
        };
        let gw = TestGateway::serve_with(echo, config).await;
        let _held = hold(&gw, 2).await;
        // The third connection from the same address: closed at once for a client, served for a
        // load balancer carrying many clients.
        let mut stream = TcpStream::connect(gw.addr()).await.unwrap();
        let _ = stream.write_all(&request).await;
        let mut buf = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buf)).await;
        assert!(read.is_ok(), "the gateway kept the connection open");
        let answered = (!buf.is_empty()).then(|| status(&String::from_utf8_lossy(&buf)));
        assert_eq!(answered, expected, "trusted = {trusted}");
    }
}

#[tokio::test]
async fn an_http11_request_needs_exactly_one_host() {
    // RFC 9112 §3.2: no Host, or two (which a gateway and a backend could each read differently).
    let gw = TestGateway::serve().await;
    for request in [
        "GET /api/public/x HTTP/1.1\r\nConnection: close\r\n\r\n",
        "GET /api/public/x HTTP/1.1\r\nHost: gw\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
    ] {
        let response = send_raw(&gw, request.as_bytes()).await;
        assert_eq!(status(&response), 400, "{response}");
        assert!(response.contains("application/problem+json"), "{response}");
        assert!(response.contains("\"reason\":\"bad_host\""), "{response}");
    }
    // HTTP/1.0 predates Host: still served.
    let response = send_raw(&gw, b"GET /api/public/x HTTP/1.0\r\n\r\n").await;
    assert_eq!(status(&response), 200, "{response}");
    assert_eq!(gw.echo.seen(), ["GET /x"]);
}

#[tokio::test]
async fn a_head_over_the_limit_is_an_explained_431() {
    // Over the 16 KiB limit but within what hyper reads for the gateway: the gateway answers.
    let gw = TestGateway::serve().await;
    let big = "a".repeat(20 * 1024);
    let request = format!(
        "GET /api/public/x HTTP/1.1\r\nHost: gw\r\nX-Big: {big}\r\nConnection: close\r\n\r\n"
    );
    let response = send_raw(&gw, request.as_bytes()).await;
    assert_eq!(status(&response), 431, "{response}");
    assert!(response.contains("application/problem+json"), "{response}");
    assert!(
        response.contains("\"reason\":\"headers_too_large\""),
        "{response}"
    );
    assert!(gw.echo.seen().is_empty());
}
