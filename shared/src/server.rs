//! The accept loop every service runs.
//!
//! `axum::serve` is convenient but installs no timer, so hyper's header-read timeout never fires
//! and a client that sends its headers one byte a minute holds a connection (and a task) forever —
//! the "slowloris" attack. This loop is hyper-util's connection builder with a timer, plus:
//!
//! - a header-read timeout and a cap on header bytes (hyper answers 431 past it);
//! - a cap on concurrent connections: at the cap we stop accepting, and the kernel's backlog
//!   queues the rest instead of us running out of memory or file descriptors;
//! - a deadline from accept to the first request head, a cap on connections per client address,
//!   and PING liveness for HTTP/2, so silent or greedy clients cannot hold every connection
//!   ([`crate::connection_guard`]);
//! - graceful shutdown: when the shutdown future resolves we stop accepting, let in-flight
//!   requests finish (up to a drain timeout), then return;
//! - optionally TLS ([`Server::with_tls`], [`crate::tls`]): the handshake happens in the
//!   connection's own task, within the same first-request deadline, so a client that opens a
//!   connection and never says hello is closed like one that never sends a request.
//!
//! The peer address is put in each request's extensions as axum's `ConnectInfo`, so handlers can
//! read it; a [`Handler`] may instead take it once per connection (the gateway does, for its
//! forwarding headers).
//!
//! What runs for each request is a [`Handler`]: for the services, their axum [`Router`]; the
//! gateway has its own, so that a proxied request goes from hyper straight into its pipeline.

use crate::connection_guard::{FirstRequest, PerAddress};
use axum::{Router, extract::ConnectInfo};
use bytes::Bytes;
use hyper::{Request, Response, body::Incoming};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto, graceful::GracefulShutdown},
};
use serde::Deserialize;
use std::{convert::Infallible, future::Future, io, net::SocketAddr, sync::Arc, time::Duration};
use tokio::{net::TcpListener, sync::Semaphore};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// Connection-level limits. The defaults suit a public gateway; services inherit them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerLimits {
    /// A client must send its complete request head within this time (milliseconds), counted
    /// from when the server starts reading one: on an idle keep-alive connection too, so this
    /// is also HTTP/1's idle timeout.
    pub header_read_timeout_ms: u64,
    /// A new connection must deliver its first complete request head within this time
    /// (milliseconds) from accept, whatever it sends before; else it is closed
    /// ([`crate::connection_guard`]).
    pub first_request_timeout_ms: u64,
    /// Largest request head (request line + headers) in bytes; hyper answers 431 past it.
    pub max_header_bytes: usize,
    /// Concurrent connections served; more wait in the kernel's accept queue.
    pub max_connections: usize,
    /// Concurrent connections from one client IP address; more are closed at once. Trusted
    /// proxies are exempt (see [`Handler::exempt_from_address_cap`]). A classroom behind one
    /// NAT address needs about six per browser (40 students: 240); the benchmark opens 50.
    pub max_connections_per_address: usize,
    /// HTTP/2: how often an idle connection is PINGed (milliseconds).
    pub http2_ping_interval_ms: u64,
    /// HTTP/2: a PING unanswered for this long (milliseconds) closes the connection.
    pub http2_ping_timeout_ms: u64,
    /// On shutdown, how long in-flight requests may take to finish (milliseconds).
    pub drain_timeout_ms: u64,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            header_read_timeout_ms: 10_000,
            first_request_timeout_ms: 5_000,
            max_header_bytes: 16 * 1024,
            max_connections: 10_000,
            max_connections_per_address: 256,
            http2_ping_interval_ms: 20_000,
            http2_ping_timeout_ms: 10_000,
            drain_timeout_ms: 30_000,
        }
    }
}

/// What a [`Server`] runs for each request. The future is `'static` because it outlives the
/// call: hyper keeps it in the connection's task until the response is written.
pub trait Handler: Clone + Send + Sync + 'static {
    /// The response body.
    type Body: http_body::Body<Data = Bytes, Error: Into<axum::BoxError>> + Send + 'static;

    /// Whether the handler checks `max_header_bytes` itself, to explain a refusal (431 with
    /// problem+json) where hyper would answer an empty 431. The server then lets hyper read
    /// heads up to four times the limit; only larger ones still get hyper's bare answer.
    const CHECKS_HEAD_SIZE: bool = false;

    /// Whether the server puts the peer's address in every request's extensions as axum's
    /// `ConnectInfo` (what axum handlers extract). A handler that keeps the peer itself, from
    /// [`Handler::for_connection`], turns it off: the extensions map is then never allocated.
    const CONNECT_INFO: bool = true;

    /// The handler of one accepted connection from `peer`, made once when it is accepted;
    /// [`Handler::call`] then runs on clones of it. A clone by default: a handler can work out
    /// here, once, what holds for every request of the connection (the peer cannot change).
    fn for_connection(&self, peer: SocketAddr) -> Self {
        let _ = peer;
        self.clone()
    }

    /// [`Handler::for_connection`] for a connection whose TLS this server terminated (the
    /// gateway then tells its backends `proto=https`). The same by default.
    fn for_tls_connection(&self, peer: SocketAddr) -> Self {
        self.for_connection(peer)
    }

    /// Whether connections from `peer` are exempt from `max_connections_per_address`: a proxy
    /// that carries many clients' connections (the gateway exempts its trusted proxies). None
    /// by default.
    fn exempt_from_address_cap(&self, peer: SocketAddr) -> bool {
        let _ = peer;
        false
    }

    /// Answers one request (the peer's address is in its extensions unless `CONNECT_INFO` is
    /// off). Called on a clone per request, so a handler is a few `Arc`s.
    fn call(
        self,
        request: Request<Incoming>,
    ) -> impl Future<Output = Response<Self::Body>> + Send + 'static;
}

/// An axum router answers every request (the services).
impl Handler for Router {
    type Body = axum::body::Body;

    async fn call(self, request: Request<Incoming>) -> Response<Self::Body> {
        match self.oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }
}

/// A bound listener and the handler it will serve. Binding and running are separate steps so a
/// caller (a test) can bind port 0, read the real port, then run.
pub struct Server<H = Router> {
    listener: TcpListener,
    handler: H,
    limits: ServerLimits,
    tls: Option<TlsAcceptor>,
}

impl Server {
    /// Binds `addr` (use port 0 to let the OS choose) to serve `router`.
    pub async fn bind(addr: SocketAddr, router: Router, limits: ServerLimits) -> io::Result<Self> {
        Server::bind_handler(addr, router, limits).await
    }
}

impl<H: Handler> Server<H> {
    /// Binds `addr` (use port 0 to let the OS choose) to serve `handler`.
    pub async fn bind_handler(
        addr: SocketAddr,
        handler: H,
        limits: ServerLimits,
    ) -> io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        Ok(Server::from_listener(listener, handler, limits))
    }

    /// Serves `handler` on a listener already bound: the demo launcher binds the gateway's
    /// port before it starts the other services, which need its address (the public URL).
    pub fn from_listener(listener: TcpListener, handler: H, limits: ServerLimits) -> Self {
        Server {
            listener,
            handler,
            limits,
            tls: None,
        }
    }

    /// Terminates TLS on every accepted connection with `config` ([`crate::tls`]).
    pub fn with_tls(mut self, config: Arc<rustls::ServerConfig>) -> Self {
        self.tls = Some(TlsAcceptor::from(config));
        self
    }

    /// The address actually bound (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound TCP listener has an address")
    }

    /// Serves until `shutdown` resolves, then drains in-flight requests and returns.
    pub async fn run_until<F>(self, shutdown: F) -> io::Result<()>
    where
        F: Future<Output = ()> + Send,
    {
        let Server {
            listener,
            handler,
            limits,
            tls,
        } = self;
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(Duration::from_millis(limits.header_read_timeout_ms))
            .max_buf_size(if H::CHECKS_HEAD_SIZE {
                (limits.max_header_bytes * 4).max(8192)
            } else {
                limits.max_header_bytes.max(8192)
            })
            // A response head and a small body copied into one buffer and sent with one `write`
            // cost less than hyper's queue of buffers for `writev`, with the same one system
            // call either way (measured in docs/performance.md).
            .writev(false);
        // HTTP/2 multiplexes requests over a connection that may stay open; a PING that goes
        // unanswered shows the peer is gone (or was never a real client) and closes it.
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_header_list_size(limits.max_header_bytes as u32)
            .keep_alive_interval(Duration::from_millis(limits.http2_ping_interval_ms))
            .keep_alive_timeout(Duration::from_millis(limits.http2_ping_timeout_ms));

        let graceful = GracefulShutdown::new();
        let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
        let per_address = PerAddress::new(limits.max_connections_per_address);
        let first_request_timeout = Duration::from_millis(limits.first_request_timeout_ms);
        tokio::pin!(shutdown);

        loop {
            let permit = tokio::select! {
                permit = Arc::clone(&slots).acquire_owned() => permit.expect("the semaphore is never closed"),
                () = &mut shutdown => break,
            };
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(error) => {
                        // Usually out of file descriptors; back off instead of spinning.
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let place = if handler.exempt_from_address_cap(peer) {
                None
            } else if let Some(place) = per_address.admit(peer.ip()) {
                Some(place)
            } else {
                // Closed at once: waiting would hold a global slot for the address at its cap.
                tracing::debug!(%peer, "connection refused: the address holds its cap");
                continue;
            };
            let _ = stream.set_nodelay(true);
            let handler = if tls.is_some() {
                handler.for_tls_connection(peer)
            } else {
                handler.for_connection(peer)
            };
            let first_request = FirstRequest::default();
            let arrived = first_request.clone();
            let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
                arrived.arrived();
                if H::CONNECT_INFO {
                    request.extensions_mut().insert(ConnectInfo(peer));
                }
                let response = handler.clone().call(request);
                async move { Ok::<_, Infallible>(response.await) }
            });
            let deadline = tokio::time::Instant::now() + first_request_timeout;
            let watcher = graceful.watcher();
            match &tls {
                None => {
                    let connection = builder
                        .serve_connection_with_upgrades(TokioIo::new(stream), service)
                        .into_owned();
                    tokio::spawn(async move {
                        drive(watcher.watch(connection), deadline, &first_request, peer).await;
                        drop(permit);
                        drop(place);
                    });
                }
                Some(acceptor) => {
                    let handshake = acceptor.accept(stream);
                    let builder = builder.clone();
                    tokio::spawn(async move {
                        match tokio::time::timeout_at(deadline, handshake).await {
                            Ok(Ok(stream)) => {
                                let connection = builder
                                    .serve_connection_with_upgrades(TokioIo::new(stream), service)
                                    .into_owned();
                                drive(watcher.watch(connection), deadline, &first_request, peer)
                                    .await;
                            }
                            Ok(Err(error)) => {
                                tracing::debug!(%peer, %error, "TLS handshake failed");
                            }
                            Err(_) => {
                                tracing::debug!(%peer, "connection closed: no TLS handshake within the first-request deadline");
                            }
                        }
                        drop(permit);
                        drop(place);
                    });
                }
            }
        }

        drop(listener);
        let drain = Duration::from_millis(limits.drain_timeout_ms);
        if tokio::time::timeout(drain, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!(
                ?drain,
                "drain timeout reached; closing remaining connections"
            );
        }
        Ok(())
    }
}

/// Serves one connection to its end, but closes it at `deadline` if no request head has arrived
/// by then; past the deadline with a request seen, hyper's own timers rule.
async fn drive<E: std::fmt::Display>(
    connection: impl Future<Output = Result<(), E>>,
    deadline: tokio::time::Instant,
    first_request: &FirstRequest,
    peer: SocketAddr,
) {
    tokio::pin!(connection);
    let outcome = tokio::select! {
        outcome = &mut connection => Some(outcome),
        () = tokio::time::sleep_until(deadline) => None,
    };
    let outcome = match outcome {
        Some(outcome) => outcome,
        None if first_request.has_arrived() => connection.await,
        None => {
            tracing::debug!(%peer, "connection closed: no request head within the first-request deadline");
            Ok(())
        }
    };
    if let Err(error) = outcome {
        tracing::debug!(%peer, error = %error, "connection ended with an error");
    }
}

/// Resolves on Ctrl-C or SIGTERM (what `docker stop` sends), for a service's `main`.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested; draining in-flight requests");
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn start(limits: ServerLimits) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
        let router = Router::new().route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                "done"
            }),
        );
        let server = Server::bind("127.0.0.1:0".parse().unwrap(), router, limits)
            .await
            .unwrap();
        let addr = server.local_addr();
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(server.run_until(async {
            let _ = rx.await;
        }));
        (addr, tx)
    }

    #[tokio::test]
    async fn a_client_that_never_finishes_its_headers_is_disconnected() {
        let limits = ServerLimits {
            header_read_timeout_ms: 200,
            ..ServerLimits::default()
        };
        let (addr, _stop) = start(limits).await;
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        let mut buf = Vec::new();
        // The server must close the connection by itself; the outer timeout only keeps a broken
        // server from hanging the test suite.
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buf)).await;
        assert!(read.is_ok(), "the server kept a half-sent request open");
    }

    /// Reads until the server closes the connection; `false` if it is still open after `within`.
    async fn closed_within(stream: &mut tokio::net::TcpStream, within: Duration) -> bool {
        let mut buf = Vec::new();
        tokio::time::timeout(within, stream.read_to_end(&mut buf))
            .await
            .is_ok()
    }

    fn quick_first_request() -> ServerLimits {
        ServerLimits {
            first_request_timeout_ms: 200,
            ..ServerLimits::default()
        }
    }

    #[tokio::test]
    async fn a_connection_that_sends_nothing_is_closed_at_the_first_request_deadline() {
        let (addr, _stop) = start(quick_first_request()).await;
        let mut silent = tokio::net::TcpStream::connect(addr).await.unwrap();
        assert!(closed_within(&mut silent, Duration::from_secs(3)).await);
    }

    #[tokio::test]
    async fn half_an_http2_preface_or_a_whole_one_without_a_request_is_closed() {
        let (addr, _stop) = start(quick_first_request()).await;
        // RFC 9113 §3.4: the preface is this string, then a SETTINGS frame (here an empty one).
        const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
        const EMPTY_SETTINGS: &[u8] = &[0, 0, 0, 4, 0, 0, 0, 0, 0];
        let mut half = tokio::net::TcpStream::connect(addr).await.unwrap();
        half.write_all(&PREFACE[..10]).await.unwrap();
        let mut whole = tokio::net::TcpStream::connect(addr).await.unwrap();
        whole.write_all(PREFACE).await.unwrap();
        whole.write_all(EMPTY_SETTINGS).await.unwrap();
        assert!(closed_within(&mut half, Duration::from_secs(3)).await);
        assert!(closed_within(&mut whole, Duration::from_secs(3)).await);
    }

    #[tokio::test]
    async fn a_connection_that_sent_a_request_is_not_cut_at_the_first_request_deadline() {
        let (addr, _stop) = start(quick_first_request()).await;
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        // The answer takes 300 ms, past the 200 ms deadline: the request arrived in time.
        stream
            .write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut buf = Vec::new();
        stream.read_to_end(&mut buf).await.unwrap();
        let text = String::from_utf8_lossy(&buf);
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    }

    #[tokio::test]
    async fn one_address_at_its_cap_does_not_starve_another() {
        let limits = ServerLimits {
            max_connections_per_address: 3,
            first_request_timeout_ms: 10_000,
            ..ServerLimits::default()
        };
        let (addr, _stop) = start(limits).await;
        // 127.0.0.1 holds its three places with silent connections …
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(tokio::net::TcpStream::connect(addr).await.unwrap());
        }
        // … so its fourth is closed at once,
        let mut fourth = tokio::net::TcpStream::connect(addr).await.unwrap();
        assert!(closed_within(&mut fourth, Duration::from_secs(2)).await);
        // while another address (127.0.0.2, loopback too) is answered promptly.
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        let mut other = socket.connect(addr).await.unwrap();
        other
            .write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut buf = Vec::new();
        tokio::time::timeout(Duration::from_secs(3), other.read_to_end(&mut buf))
            .await
            .expect("the other address is answered promptly")
            .unwrap();
        assert!(String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 200"));
        // A place comes back when one of the held connections closes.
        drop(held.pop());
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut again = tokio::net::TcpStream::connect(addr).await.unwrap();
        assert!(!closed_within(&mut again, Duration::from_millis(300)).await);
    }

    #[tokio::test]
    async fn oversized_headers_get_431() {
        let (addr, _stop) = start(ServerLimits::default()).await;
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let big = "a".repeat(64 * 1024);
        let request = format!("GET /slow HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n");
        let _ = stream.write_all(request.as_bytes()).await;
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buf)).await;
        let text = String::from_utf8_lossy(&buf);
        assert!(text.starts_with("HTTP/1.1 431"), "{text}");
    }

    #[tokio::test]
    async fn shutdown_lets_an_in_flight_request_finish() {
        let (addr, stop) = start(ServerLimits::default()).await;
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        stop.send(()).unwrap();
        let mut buf = Vec::new();
        stream.read_to_end(&mut buf).await.unwrap();
        let text = String::from_utf8_lossy(&buf);
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        assert!(text.ends_with("done"), "{text}");
    }
}
