//! The accept loop every service runs.
//!
//! `axum::serve` is convenient but installs no timer, so hyper's header-read timeout never fires
//! and a client that sends its headers one byte a minute holds a connection (and a task) forever —
//! the "slowloris" attack. This loop is hyper-util's connection builder with a timer, plus:
//!
//! - a header-read timeout and a cap on header bytes (hyper answers 431 past it);
//! - a cap on concurrent connections: at the cap we stop accepting, and the kernel's backlog
//!   queues the rest instead of us running out of memory or file descriptors;
//! - graceful shutdown: when the shutdown future resolves we stop accepting, let in-flight
//!   requests finish (up to a drain timeout), then return.
//!
//! The peer address is put in each request's extensions as axum's `ConnectInfo`, so handlers can
//! read it; a [`Handler`] may instead take it once per connection (the gateway does, for its
//! forwarding headers).
//!
//! What runs for each request is a [`Handler`]: for the services, their axum [`Router`]; the
//! gateway has its own, so that a proxied request goes from hyper straight into its pipeline.

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
use tower::ServiceExt;

/// Connection-level limits. The defaults suit a public gateway; services inherit them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerLimits {
    /// A client must send its complete request head within this time (milliseconds).
    pub header_read_timeout_ms: u64,
    /// Largest request head (request line + headers) in bytes; hyper answers 431 past it.
    pub max_header_bytes: usize,
    /// Concurrent connections served; more wait in the kernel's accept queue.
    pub max_connections: usize,
    /// On shutdown, how long in-flight requests may take to finish (milliseconds).
    pub drain_timeout_ms: u64,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            header_read_timeout_ms: 10_000,
            max_header_bytes: 16 * 1024,
            max_connections: 10_000,
            drain_timeout_ms: 30_000,
        }
    }
}

/// What a [`Server`] runs for each request. The future is `'static` because it outlives the
/// call: hyper keeps it in the connection's task until the response is written.
pub trait Handler: Clone + Send + Sync + 'static {
    /// The response body.
    type Body: http_body::Body<Data = Bytes, Error: Into<axum::BoxError>> + Send + 'static;

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
        Ok(Server {
            listener,
            handler,
            limits,
        })
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
        } = self;
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(Duration::from_millis(limits.header_read_timeout_ms))
            .max_buf_size(limits.max_header_bytes.max(8192))
            // A response head and a small body copied into one buffer and sent with one `write`
            // cost less than hyper's queue of buffers for `writev`, with the same one system
            // call either way (measured in docs/performance.md).
            .writev(false);
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_header_list_size(limits.max_header_bytes as u32);

        let graceful = GracefulShutdown::new();
        let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
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
            let _ = stream.set_nodelay(true);
            let handler = handler.for_connection(peer);
            let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
                if H::CONNECT_INFO {
                    request.extensions_mut().insert(ConnectInfo(peer));
                }
                let response = handler.clone().call(request);
                async move { Ok::<_, Infallible>(response.await) }
            });
            let connection = builder
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .into_owned();
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                if let Err(error) = connection.await {
                    tracing::debug!(%peer, error = %error, "connection ended with an error");
                }
                drop(permit);
            });
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
