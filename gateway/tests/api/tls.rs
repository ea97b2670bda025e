//! TLS termination (`[server.tls]`, `shared::tls`): real handshakes on a real socket, with a CA
//! made for the test. A rustls client and `curl --cacert` reach the gateway over HTTPS (HTTP/2 by
//! ALPN); the backend is told `proto=https`; a certificate replaced on disk serves the next
//! connections while open ones go on; files that cannot serve are refused — at start before the
//! gateway listens, and at reload with the certificate in use kept.

use crate::helpers::*;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
use shared::tls::{Certificates, TlsConfig};
use std::{net::SocketAddr, sync::Arc, time::Duration};
use test_support::certs::{Files, TestCa};
use tokio::{io::AsyncReadExt, net::TcpStream};
use tokio_rustls::{TlsConnector, client::TlsStream};

fn tls_config(files: &Files, reload_interval_ms: u64) -> TlsConfig {
    TlsConfig {
        cert_file: files.cert.clone(),
        key_file: files.key.clone(),
        reload_interval_ms,
    }
}

/// A TLS client that trusts `ca` only, offering `alpn`.
fn connector(ca: &TestCa, alpn: &[&[u8]]) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(ca.der.clone())).unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    TlsConnector::from(Arc::new(config))
}

async fn handshake(
    connector: &TlsConnector,
    addr: SocketAddr,
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
}

/// The certificate the server presented on `stream`.
fn presented(stream: &TlsStream<TcpStream>) -> Vec<u8> {
    stream.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}

/// An HTTP/1.1 connection over `stream`, ready for requests.
async fn http1(
    stream: TlsStream<TcpStream>,
) -> hyper::client::conn::http1::SendRequest<Empty<Bytes>> {
    let (sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    sender
}

async fn get(
    sender: &mut hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
    path: &str,
) -> (u16, serde_json::Value) {
    let request = http::Request::get(path)
        .header("host", "localhost")
        .body(Empty::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or_default())
}

async fn serve_tls(files: &Files, reload_interval_ms: u64) -> TestGateway {
    let echo = Echo::spawn().await;
    let mut config = test_config(echo.addr).await;
    config.server.tls = Some(tls_config(files, reload_interval_ms));
    TestGateway::serve_with(echo, config).await
}

#[tokio::test]
async fn a_rustls_client_gets_https_and_the_backend_hears_proto_https() {
    let ca = TestCa::new("test CA");
    let leaf = ca.leaf();
    let files = Files::new(&leaf);
    let gw = serve_tls(&files, 0).await;

    let stream = handshake(&connector(&ca, &[b"http/1.1"]), gw.addr())
        .await
        .expect("the handshake succeeds with the test CA");
    assert_eq!(presented(&stream), leaf.der);
    let mut sender = http1(stream).await;
    let (status, body) = get(&mut sender, "/api/public/a").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["headers"]["x-forwarded-proto"][0], "https", "{body}");
    let forwarded = body["headers"]["forwarded"][0].as_str().unwrap();
    assert!(forwarded.contains(";proto=https"), "{forwarded}");

    // HTTP/2 is chosen by ALPN when the client offers it.
    let stream = handshake(&connector(&ca, &[b"h2", b"http/1.1"]), gw.addr())
        .await
        .unwrap();
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));

    // A client that does not trust the CA is refused at the handshake.
    let stranger = TestCa::new("another CA");
    assert!(
        handshake(&connector(&stranger, &[]), gw.addr())
            .await
            .is_err()
    );
    // Plain HTTP on the TLS port gets no answer it could mistake for one.
    let plain = reqwest::Client::new()
        .get(format!("http://{}/healthz", gw.addr()))
        .send()
        .await;
    assert!(plain.is_err() || plain.unwrap().status() != 200);
}

#[tokio::test]
async fn curl_with_the_ca_file_speaks_http2_to_the_gateway() {
    let ca = TestCa::new("test CA");
    let files = Files::new(&ca.leaf());
    let ca_file = files.cert.with_file_name("ca.pem");
    std::fs::write(&ca_file, &ca.pem).unwrap();
    let gw = serve_tls(&files, 0).await;
    let output = tokio::process::Command::new("curl")
        .args(["-s", "--cacert"])
        .arg(&ca_file)
        .args(["-w", "\n%{http_version} %{http_code}"])
        .arg(format!("https://localhost:{}/healthz", gw.addr().port()))
        .output()
        .await
        .expect("curl is installed (CI installs it)");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text} {output:?}");
    assert!(text.ends_with("\n2 200"), "{text}");
    assert!(text.starts_with("{\"status\":\"ok\"}"), "{text}");
}

#[tokio::test]
async fn a_certificate_replaced_on_disk_serves_new_connections_while_open_ones_go_on() {
    let ca = TestCa::new("test CA");
    let first = ca.leaf();
    let files = Files::new(&first);
    let gw = serve_tls(&files, 50).await;
    let client = connector(&ca, &[b"http/1.1"]);

    let open = handshake(&client, gw.addr()).await.unwrap();
    assert_eq!(presented(&open), first.der);
    let mut open = http1(open).await;
    assert_eq!(get(&mut open, "/healthz").await.0, 200);

    let second = ca.leaf();
    files.replace(&second);
    // The watcher looks every 50 ms: wait (bounded) until a new handshake shows the new one.
    let mut seen = Vec::new();
    for _ in 0..100 {
        seen = presented(&handshake(&client, gw.addr()).await.unwrap());
        if seen == second.der {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        seen, second.der,
        "new connections get the replaced certificate"
    );
    // The connection opened before the swap still answers.
    assert_eq!(get(&mut open, "/healthz").await.0, 200);
}

#[tokio::test]
async fn a_client_that_never_says_hello_is_closed_at_the_first_request_deadline() {
    let ca = TestCa::new("test CA");
    let files = Files::new(&ca.leaf());
    let echo = Echo::spawn().await;
    let mut config = test_config(echo.addr).await;
    config.server.tls = Some(tls_config(&files, 0));
    config.server.limits.first_request_timeout_ms = 300;
    let gw = TestGateway::serve_with(echo, config).await;
    let mut silent = TcpStream::connect(gw.addr()).await.unwrap();
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(5), silent.read(&mut byte))
        .await
        .expect("the gateway closes the connection, not the test's timeout");
    assert!(matches!(read, Ok(0) | Err(_)), "closed: {read:?}");
}

#[tokio::test]
async fn files_that_cannot_serve_are_refused_at_start_naming_the_file() {
    let ca = TestCa::new("test CA");
    let other = TestCa::new("other CA");
    let good = ca.leaf();
    let expired = ca.expired_leaf();
    let mismatched = test_support::certs::Leaf {
        key_pem: other.leaf().key_pem,
        ..good.clone()
    };
    let echo = Echo::spawn().await;
    for (leaf, key, words) in [
        (&expired, "server.tls.cert_file", "not now"),
        (
            &mismatched,
            "server.tls.key_file",
            "does not belong to the certificate",
        ),
    ] {
        let files = Files::new(leaf);
        let mut config = test_config(echo.addr).await;
        config.server.tls = Some(tls_config(&files, 0));
        let error = config.validate().unwrap_err().to_string();
        assert!(error.contains(key), "{error}");
        assert!(error.contains(words), "{error}");
        assert!(error.contains(&files.cert.display().to_string()), "{error}");
        assert!(gateway::build(config).await.is_err());
    }
    let files = Files::new(&good);
    let mut config = test_config(echo.addr).await;
    config.server.tls = Some(TlsConfig {
        cert_file: files.cert.with_file_name("missing.pem"),
        ..tls_config(&files, 0)
    });
    let error = config.validate().unwrap_err().to_string();
    assert!(error.contains("missing.pem: cannot be read"), "{error}");
    // No certificate in the file at all.
    std::fs::write(&files.cert, "not a certificate\n").unwrap();
    let mut config = test_config(echo.addr).await;
    config.server.tls = Some(tls_config(&files, 0));
    let error = config.validate().unwrap_err().to_string();
    assert!(error.contains("no certificate"), "{error}");
}

/// Waits, at most five seconds, until `done` — what a file watcher polling every 20 ms does is
/// seen by its effect, not by sleeping a guessed time.
async fn eventually(done: impl Fn() -> bool) {
    for _ in 0..250 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_bad_replacement_is_refused_and_the_certificate_in_use_stays() {
    let ca = TestCa::new("test CA");
    let good = ca.leaf();
    let files = Files::new(&good);
    let certificates = Certificates::new(tls_config(&files, 20)).unwrap();
    certificates.watch();
    let served = {
        let config = certificates.server_config();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let _ = acceptor.accept(tcp).await;
                });
            }
        });
        addr
    };

    files.replace(&ca.expired_leaf());
    eventually(|| certificates.reload_failures() > 0).await;
    assert_eq!(certificates.reload_failures(), 1);
    assert_eq!(certificates.reloads(), 0);
    let stream = handshake(&connector(&ca, &[]), served).await.unwrap();
    assert_eq!(
        presented(&stream),
        good.der,
        "the certificate in use stayed"
    );
    let error = certificates.reload().unwrap_err().to_string();
    assert!(error.contains("not now"), "{error}");

    // A good file after a bad one is taken.
    let renewed = ca.leaf();
    files.replace(&renewed);
    eventually(|| certificates.reloads() > 0).await;
    let stream = handshake(&connector(&ca, &[]), served).await.unwrap();
    assert_eq!(presented(&stream), renewed.der);
}

// --- HTTPS to upstreams ------------------------------------------------------------------------

/// An HTTPS backend on a free port, with `leaf` as its certificate; when `clients` is given, it
/// asks for a client certificate signed by that CA and refuses a handshake without one.
async fn https_backend(leaf: &test_support::certs::Leaf, clients: Option<&TestCa>) -> SocketAddr {
    let chain = vec![CertificateDer::from(leaf.der.clone())];
    let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(leaf.key_pem.as_bytes()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = match clients {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(CertificateDer::from(ca.der.clone())).unwrap();
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .unwrap();
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = Arc::new(builder.with_single_cert(chain, key).unwrap());
    let app = axum::Router::new().fallback(|uri: http::Uri| async move {
        axum::Json(serde_json::json!({ "over": "https", "uri": uri.to_string() }))
    });
    let server = shared::server::Server::bind(
        "127.0.0.1:0".parse().unwrap(),
        app,
        shared::server::ServerLimits::default(),
    )
    .await
    .unwrap()
    .with_tls(config);
    let addr = server.local_addr();
    tokio::spawn(server.run_until(std::future::pending()));
    addr
}

/// The test configuration with `users` on `https://localhost:<port>` and `tls` for it.
async fn via_https(backend: SocketAddr, tls: gateway::config::UpstreamTlsConfig) -> TestGateway {
    let echo = Echo::spawn().await;
    let mut config = test_config(echo.addr).await;
    let users = config
        .upstreams
        .iter_mut()
        .find(|u| u.name == "users")
        .unwrap();
    users.targets = vec![format!("https://localhost:{}", backend.port())];
    users.tls = Some(tls);
    TestGateway::spawn_with(echo, config).await
}

fn trust(ca_file: &std::path::Path) -> gateway::config::UpstreamTlsConfig {
    gateway::config::UpstreamTlsConfig {
        ca_file: Some(ca_file.to_owned()),
        client_cert_file: None,
        client_key_file: None,
    }
}

#[tokio::test]
async fn an_https_upstream_is_reached_with_its_ca_and_refused_with_another() {
    let ca = TestCa::new("backend CA");
    let files = Files::new(&ca.leaf());
    let ca_file = files.cert.with_file_name("ca.pem");
    std::fs::write(&ca_file, &ca.pem).unwrap();
    let backend = https_backend(&ca.leaf(), None).await;

    let gw = via_https(backend, trust(&ca_file)).await;
    let (status, _, body) = parts(gw.oneshot(gw.get("/api/public/a?b=1")).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["over"], "https");
    assert_eq!(body["uri"], "/a?b=1");

    // A CA that did not sign the backend's certificate: the handshake fails, nothing is sent.
    let stranger = TestCa::new("stranger CA");
    let stranger_file = files.cert.with_file_name("stranger.pem");
    std::fs::write(&stranger_file, &stranger.pem).unwrap();
    let gw = via_https(backend, trust(&stranger_file)).await;
    let response = gw.oneshot(gw.get("/api/public/a")).await;
    assert_problem(response, 502, "upstream_unavailable").await;
}

#[tokio::test]
async fn mutual_tls_the_backend_refuses_a_gateway_without_its_client_certificate() {
    let ca = TestCa::new("backend CA");
    let clients = TestCa::new("client CA");
    let files = Files::new(&clients.leaf());
    let ca_file = files.cert.with_file_name("ca.pem");
    std::fs::write(&ca_file, &ca.pem).unwrap();
    let backend = https_backend(&ca.leaf(), Some(&clients)).await;

    let gw = via_https(backend, trust(&ca_file)).await;
    let response = gw.oneshot(gw.get("/api/public/a")).await;
    assert_problem(response, 502, "upstream_unavailable").await;

    let gw = via_https(
        backend,
        gateway::config::UpstreamTlsConfig {
            client_cert_file: Some(files.cert.clone()),
            client_key_file: Some(files.key.clone()),
            ..trust(&ca_file)
        },
    )
    .await;
    let (status, _, body) = parts(gw.oneshot(gw.get("/api/public/a")).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["over"], "https");
}

/// A change to the `users` upstream's configuration.
type Adjust = fn(&mut gateway::config::UpstreamConfig, &Files);

#[tokio::test]
async fn upstream_tls_settings_that_cannot_work_are_located_errors() {
    let ca = TestCa::new("backend CA");
    let files = Files::new(&ca.leaf());
    let echo = Echo::spawn().await;
    let cases: [(&str, Adjust); 3] = [
        ("every target is `http://`", |u, files| {
            u.tls = Some(trust(&files.cert));
        }),
        ("set both or neither", |u, files| {
            u.targets = vec!["https://localhost:1".into()];
            u.tls = Some(gateway::config::UpstreamTlsConfig {
                client_cert_file: Some(files.cert.clone()),
                ..trust(&files.cert)
            });
        }),
        ("cannot be read", |u, files| {
            u.targets = vec!["https://localhost:1".into()];
            u.tls = Some(trust(&files.cert.with_file_name("missing.pem")));
        }),
    ];
    for (words, adjust) in cases {
        let mut config = test_config(echo.addr).await;
        let users = config
            .upstreams
            .iter_mut()
            .find(|u| u.name == "users")
            .unwrap();
        adjust(users, &files);
        let error = config.validate().unwrap_err().to_string();
        assert!(error.contains("upstreams[1].tls"), "{error}");
        assert!(error.contains(words), "{words}: {error}");
    }
}
