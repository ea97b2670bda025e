//! Keep-alive connections to one target, lent to one request at a time.
//!
//! Opening a TCP connection per proxied request would double every call's latency and leave
//! thousands of sockets in `TIME_WAIT`, so each target keeps the connections it has opened and
//! reuses them. The life of a connection:
//!
//! 1. **checkout** — the most recently returned idle connection that is still open and ready
//!    (last in, first out: the warmest socket, and the idle tail can age out); otherwise a new
//!    TCP connection, with its TLS handshake for an `https://` target ([`super::tls`]), both
//!    within `connect_timeout_ms`, whose HTTP/1.1 state machine runs in its own task;
//! 2. **lent** — the request goes out on it, and the response comes back with a [`PooledBody`]
//!    that holds the connection for as long as the response body is being read;
//! 3. **returned** — when the body has been read to its end, the connection goes back to the
//!    idle list (at most [`MAX_IDLE`]; past [`IDLE_TIMEOUT`] unused it is not trusted again, as
//!    the target may be about to close it, and it is closed when a newer connection comes
//!    back). A body dropped half-read takes its connection with it: the rest of that response
//!    is still on the wire, so the connection cannot carry another one.
//!
//! A pooled connection can die while idle (the target restarted, or closed it after its own
//! keep-alive timeout). If a request fails on a reused connection *before any of it was
//! written*, hyper hands the request back ([`SendError::Stale`]) and the caller sends it on
//! another connection; a request that may have reached the target is never silently re-sent
//! (retries are the policy's decision, in [`super::call`]).
//!
//! Getting a connection and sending on it are separate steps ([`ConnectionPool::connection`],
//! [`Connection::send`]) so that a caller builds its request only once it has a connection: a
//! target that refuses connections leaves the request unbuilt, free to go to another target,
//! and nothing has to be copied in case that happens.
//!
//! Why not hyper-util's pooled `Client`? It does all this and more (any scheme, HTTP/2, DNS
//! caching), at a price paid on every request: the pool is keyed by scheme and authority
//! (hashed and compared), a connect future is prepared even when an idle connection is ready,
//! and a task is spawned per request to return the connection. The gateway already knows the
//! target (the balancer chose it), speaks HTTP/1.1 only, and returns the connection from the
//! body it hands to the client; measured with callgrind, this pool takes about 15 % of the
//! instructions off each proxied request (`docs/performance.md`).

use super::{ProxyBody, tls::TlsConnect};
use bytes::Bytes;
use http::{Request, Response, Uri};
use http_body::{Body, Frame, SizeHint};
use hyper::{
    body::Incoming,
    client::conn::http1::{self, SendRequest},
};
use hyper_util::rt::TokioIo;
use std::{
    fmt, io,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll, ready},
    time::{Duration, Instant},
};
use tokio::net::TcpStream;

/// Idle connections kept per target; more are closed when they come back.
pub const MAX_IDLE: usize = 256;

/// An idle connection unused for this long is closed instead of reused.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The keep-alive connections to one target.
pub struct ConnectionPool {
    /// Host name or IP address (without IPv6 brackets), resolved at each connect.
    host: Box<str>,
    port: u16,
    connect_timeout: Duration,
    /// For an `https://` target: how its connections start TLS.
    tls: Option<TlsConnect>,
    idle: Mutex<Vec<IdleConnection>>,
}

struct IdleConnection {
    sender: SendRequest<ProxyBody>,
    since: Instant,
}

impl fmt::Debug for ConnectionPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionPool")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("idle", &self.idle_count())
            .finish()
    }
}

/// Why a request got no response from the target.
pub enum SendError {
    /// No TCP connection could be opened: the request never left.
    Connect(io::Error),
    /// A reused connection turned out to be closed before a byte of the request was written:
    /// here is the request back, to send on another connection.
    Stale(Box<Request<ProxyBody>>),
    /// The exchange failed (including, as its cause, a request body that failed while it was
    /// being sent).
    Exchange(hyper::Error),
}

impl SendError {
    /// True when the request certainly never reached the target (safe to send elsewhere).
    pub fn is_connect(&self) -> bool {
        matches!(self, SendError::Connect(_))
    }
}

impl fmt::Debug for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Connect(e) => f.debug_tuple("Connect").field(e).finish(),
            SendError::Stale(_) => f.write_str("Stale"),
            SendError::Exchange(e) => f.debug_tuple("Exchange").field(e).finish(),
        }
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Connect(_) => f.write_str("cannot connect"),
            SendError::Stale(_) => f.write_str("the pooled connection was closed"),
            SendError::Exchange(_) => f.write_str("the exchange failed"),
        }
    }
}

impl std::error::Error for SendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SendError::Connect(e) => Some(e),
            SendError::Stale(_) => None,
            SendError::Exchange(e) => Some(e),
        }
    }
}

/// A connection taken from the pool (or just opened) for one request.
pub struct Connection {
    sender: SendRequest<ProxyBody>,
    reused: bool,
    pool: Arc<ConnectionPool>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("reused", &self.reused)
            .finish()
    }
}

impl Connection {
    /// Sends `request` on this connection. The URI should be in origin form (`/path?query`); an
    /// absolute URI is reduced to it (HTTP/1.1 to an origin server).
    pub async fn send(
        self,
        mut request: Request<ProxyBody>,
    ) -> Result<Response<PooledBody>, SendError> {
        if request.uri().authority().is_some() {
            let origin_form = request
                .uri()
                .path_and_query()
                .map_or_else(|| Uri::from_static("/"), |pq| Uri::from(pq.clone()));
            *request.uri_mut() = origin_form;
        }
        let Connection {
            mut sender,
            reused,
            pool,
        } = self;
        match sender.try_send_request(request).await {
            Ok(response) => {
                let lent = Lent { sender, pool };
                Ok(response.map(|body| PooledBody::new(body, lent)))
            }
            Err(mut failed) => match failed.take_message() {
                // Not a byte was written: the idle connection had died.
                Some(unsent) if reused => Err(SendError::Stale(Box::new(unsent))),
                _ => Err(SendError::Exchange(failed.into_error())),
            },
        }
    }
}

impl ConnectionPool {
    /// A pool for `host:port`. `host` may be a name (resolved when connecting) or an address.
    pub fn new(host: &str, port: u16, connect_timeout: Duration) -> ConnectionPool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        ConnectionPool {
            host: host.into(),
            port,
            connect_timeout,
            tls: None,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// The same pool, its connections over TLS when `tls` is given.
    pub fn with_tls(mut self, tls: Option<TlsConnect>) -> ConnectionPool {
        self.tls = tls;
        self
    }

    /// Idle connections right now.
    pub fn idle_count(&self) -> usize {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// An idle connection, or a new one.
    pub async fn connection(self: &Arc<Self>) -> Result<Connection, SendError> {
        match self.idle_connection() {
            Some(connection) => Ok(connection),
            None => self.new_connection().await,
        }
    }

    /// The most recently returned idle connection that is still usable, if any (no waiting).
    pub fn idle_connection(self: &Arc<Self>) -> Option<Connection> {
        self.checkout().map(|sender| Connection {
            sender,
            reused: true,
            pool: Arc::clone(self),
        })
    }

    /// A new connection (within the connect timeout).
    pub async fn new_connection(self: &Arc<Self>) -> Result<Connection, SendError> {
        Ok(Connection {
            sender: self.connect().await?,
            reused: false,
            pool: Arc::clone(self),
        })
    }

    /// Sends `request` on a pooled or new connection, on another one if a pooled connection
    /// turns out to be closed (health checks, tests).
    pub async fn send(
        self: &Arc<Self>,
        mut request: Request<ProxyBody>,
    ) -> Result<Response<PooledBody>, SendError> {
        loop {
            match self.connection().await?.send(request).await {
                Err(SendError::Stale(unsent)) => request = *unsent,
                outcome => return outcome,
            }
        }
    }

    /// The most recently returned connection that is still usable.
    fn checkout(&self) -> Option<SendRequest<ProxyBody>> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(connection) = idle.pop() {
            if connection.sender.is_ready() && connection.since.elapsed() < IDLE_TIMEOUT {
                return Some(connection.sender);
            }
            // Closed by the target, or idle too long: dropping the sender ends its task.
        }
        None
    }

    /// Opens a connection (TCP, then TLS for an `https://` target: both within the connect
    /// timeout, and a failure of either means the request never left) and starts its task.
    async fn connect(&self) -> Result<SendRequest<ProxyBody>, SendError> {
        let deadline = tokio::time::Instant::now() + self.connect_timeout;
        let timed_out = |_| SendError::Connect(io::ErrorKind::TimedOut.into());
        let stream =
            tokio::time::timeout_at(deadline, TcpStream::connect((&*self.host, self.port)))
                .await
                .map_err(timed_out)?
                .map_err(SendError::Connect)?;
        // Requests and responses are small and latency matters: no Nagle delay.
        let _ = stream.set_nodelay(true);
        match &self.tls {
            None => self.start(TokioIo::new(stream)).await,
            Some(tls) => {
                let handshake = tls.connector.connect(tls.server_name.clone(), stream);
                let stream = tokio::time::timeout_at(deadline, handshake)
                    .await
                    .map_err(timed_out)?
                    .map_err(SendError::Connect)?;
                self.start(TokioIo::new(stream)).await
            }
        }
    }

    /// HTTP/1.1 on an open connection, its state machine in a task of its own.
    async fn start<I>(&self, io: I) -> Result<SendRequest<ProxyBody>, SendError>
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let (sender, connection) = http1::handshake(io).await.map_err(SendError::Exchange)?;
        let (host, port) = (self.host.clone(), self.port);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%host, port, %error, "upstream connection ended with an error");
            }
        });
        Ok(sender)
    }

    /// Takes a connection back once its response has been read to the end.
    fn give_back(self: Arc<Self>, mut sender: SendRequest<ProxyBody>) {
        if sender.is_ready() {
            self.keep(sender);
        } else if !sender.is_closed()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            // Still busy: typically the request body is still being sent after an early
            // response. It is idle (and reusable) once that ends.
            runtime.spawn(async move {
                if sender.ready().await.is_ok() {
                    self.keep(sender);
                }
            });
        }
    }

    fn keep(&self, sender: SendRequest<ProxyBody>) {
        let now = Instant::now();
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        // Close the connections idle too long (the oldest are first): after a burst, the
        // extra connections would otherwise stay open until a request reaches that deep.
        let expired = idle
            .iter()
            .take_while(|c| now.duration_since(c.since) >= IDLE_TIMEOUT)
            .count();
        idle.drain(..expired);
        if idle.len() < MAX_IDLE {
            idle.push(IdleConnection { sender, since: now });
        }
    }
}

/// A connection lent to one response.
struct Lent {
    sender: SendRequest<ProxyBody>,
    pool: Arc<ConnectionPool>,
}

/// A response body from a pooled connection: it streams the target's body and, when that
/// reaches its end, returns the connection to the pool.
pub struct PooledBody {
    inner: Incoming,
    lent: Option<Lent>,
}

impl fmt::Debug for PooledBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PooledBody")
            .field("inner", &self.inner)
            .field("holds_connection", &self.lent.is_some())
            .finish()
    }
}

impl PooledBody {
    fn new(inner: Incoming, lent: Lent) -> PooledBody {
        let mut body = PooledBody {
            inner,
            lent: Some(lent),
        };
        // No body at all (204, 304, a HEAD): the connection is free already.
        if body.inner.is_end_stream() {
            body.give_back();
        }
        body
    }

    fn give_back(&mut self) {
        if let Some(Lent { sender, pool }) = self.lent.take() {
            pool.give_back(sender);
        }
    }
}

impl Body for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = &mut *self;
        let frame = ready!(Pin::new(&mut this.inner).poll_frame(cx));
        match &frame {
            // A reader may stop polling once `is_end_stream` says so: return the connection
            // with the last frame, not only on the `None` after it.
            Some(Ok(_)) if this.inner.is_end_stream() => this.give_back(),
            None => this.give_back(),
            // A broken body: the connection is not reusable.
            Some(Err(_)) => this.lent = None,
            Some(Ok(_)) => {}
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for PooledBody {
    fn drop(&mut self) {
        // Read to the end but not polled past it: still reusable. Otherwise `lent` drops here
        // with the connection.
        if self.inner.is_end_stream() {
            self.give_back();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::LimitedBody;
    use http_body_util::BodyExt;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::{
        io::{AsyncReadExt, AsyncWriteExt},
        net::TcpListener,
    };

    /// How the test backend behaves after each response.
    #[derive(Clone, Copy)]
    enum Backend {
        /// Keep the connection open (HTTP/1.1 keep-alive).
        KeepAlive,
        /// Close it silently, as a server whose keep-alive timeout passed would.
        CloseAfterEach,
        /// Send the head and half the body, then stall.
        Stall,
    }

    /// A raw-socket HTTP/1.1 backend answering `ok` to every request; counts connections.
    async fn backend(behaviour: Backend) -> (u16, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&accepted);
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 1024];
                    loop {
                        // One bodiless request: read up to the blank line.
                        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                            match socket.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        }
                        buf.clear();
                        let answer: &[u8] = match behaviour {
                            Backend::Stall => b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhalf.",
                            _ => b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
                        };
                        socket.write_all(answer).await.unwrap();
                        match behaviour {
                            Backend::KeepAlive => {}
                            Backend::CloseAfterEach => return,
                            Backend::Stall => std::future::pending::<()>().await,
                        }
                    }
                });
            }
        });
        (port, accepted)
    }

    fn get() -> Request<ProxyBody> {
        Request::get("/x")
            .header(http::header::HOST, "backend")
            .body(LimitedBody::new(axum::body::Body::empty(), 0))
            .unwrap()
    }

    async fn body_of(response: Response<PooledBody>) -> Bytes {
        response.into_body().collect().await.unwrap().to_bytes()
    }

    fn pool(port: u16) -> Arc<ConnectionPool> {
        Arc::new(ConnectionPool::new(
            "127.0.0.1",
            port,
            Duration::from_secs(1),
        ))
    }

    #[tokio::test]
    async fn sequential_requests_share_one_connection() {
        let (port, accepted) = backend(Backend::KeepAlive).await;
        let pool = pool(port);
        for _ in 0..3 {
            let response = pool.send(get()).await.unwrap();
            assert_eq!(body_of(response).await, "ok");
            assert_eq!(pool.idle_count(), 1, "returned once its body was read");
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }

    fn all_idle_closed(pool: &ConnectionPool) -> bool {
        let idle = pool.idle.lock().unwrap();
        idle.iter().all(|c| !c.sender.is_ready())
    }

    #[tokio::test]
    async fn a_connection_the_target_closed_is_replaced_without_an_error() {
        let (port, accepted) = backend(Backend::CloseAfterEach).await;
        let pool = pool(port);
        for _ in 0..3 {
            let response = pool.send(get()).await.expect("a fresh connection is used");
            assert_eq!(body_of(response).await, "ok");
            // Wait (bounded) until the connection's task has seen the close. A request sent in
            // the instant between a target closing an idle connection and the client noticing
            // is HTTP/1.1's own race, not what this test is about.
            for _ in 0..400 {
                if all_idle_closed(&pool) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 3);
    }

    /// A backend that answers one request per connection, keeps the connection open until
    /// told, then closes it; counts connections accepted and closed.
    async fn closing_backend(
        close: Arc<tokio::sync::Notify>,
    ) -> (u16, Arc<AtomicUsize>, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (accepted, closed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (a, c) = (Arc::clone(&accepted), Arc::clone(&closed));
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                a.fetch_add(1, Ordering::SeqCst);
                let (close, c) = (Arc::clone(&close), Arc::clone(&c));
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    let _ = socket.read(&mut buf).await;
                    let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                    socket.write_all(answer).await.unwrap();
                    close.notified().await;
                    drop(socket);
                    c.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        (port, accepted, closed)
    }

    #[tokio::test]
    async fn a_pooled_connection_the_target_closed_is_replaced_without_an_error() {
        let close = Arc::new(tokio::sync::Notify::new());
        let (port, accepted, closed) = closing_backend(Arc::clone(&close)).await;
        let pool = pool(port);
        let response = pool.send(get()).await.unwrap();
        assert_eq!(body_of(response).await, "ok");
        assert_eq!(pool.idle_count(), 1, "kept while the target keeps it open");

        // The target closes the idle connection (its keep-alive timeout, a restart).
        close.notify_one();
        for _ in 0..400 {
            if closed.load(Ordering::SeqCst) == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(closed.load(Ordering::SeqCst), 1);

        // The next request goes out on a new connection: the closed one is either seen closed
        // at checkout or, if its close is noticed only as the request is queued, hands the
        // request back before writing a byte.
        let response = pool.send(get()).await.expect("no error for the client");
        assert_eq!(body_of(response).await, "ok");
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn idle_connections_past_the_idle_timeout_are_not_reused() {
        let (port, accepted) = backend(Backend::KeepAlive).await;
        let pool = pool(port);
        let response = pool.send(get()).await.unwrap();
        assert_eq!(body_of(response).await, "ok");
        // Age the idle connection past the limit.
        pool.idle.lock().unwrap()[0].since -= IDLE_TIMEOUT;
        let response = pool.send(get()).await.unwrap();
        assert_eq!(body_of(response).await, "ok");
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            2,
            "a new connection for the second"
        );
        assert_eq!(pool.idle_count(), 1, "the aged one is closed, not kept");
    }

    #[tokio::test]
    async fn a_returning_connection_closes_the_ones_idle_too_long() {
        let (port, accepted) = backend(Backend::KeepAlive).await;
        let pool = pool(port);
        // Two requests at once: two connections, both idle afterwards.
        let (first, second) = (
            pool.send(get()).await.unwrap(),
            pool.send(get()).await.unwrap(),
        );
        assert_eq!(body_of(first).await, "ok");
        assert_eq!(body_of(second).await, "ok");
        assert_eq!((accepted.load(Ordering::SeqCst), pool.idle_count()), (2, 2));
        // The older one ages past the limit; the newer one serves the next request and, on
        // its return, the aged one is closed rather than left open at the bottom of the list.
        pool.idle.lock().unwrap()[0].since -= IDLE_TIMEOUT;
        let response = pool.send(get()).await.unwrap();
        assert_eq!(body_of(response).await, "ok");
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            2,
            "the fresh one was reused"
        );
        assert_eq!(pool.idle_count(), 1);
    }

    #[tokio::test]
    async fn a_body_dropped_half_read_takes_its_connection_with_it() {
        let (port, accepted) = backend(Backend::Stall).await;
        let pool = pool(port);
        let response = pool.send(get()).await.unwrap();
        let mut body = response.into_body();
        let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(first, "half.");
        drop(body);
        assert_eq!(
            pool.idle_count(),
            0,
            "half a response is still on that socket"
        );
        let _second = pool.send(get()).await.unwrap();
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_target_that_refuses_connections_is_a_connect_error() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let error = pool(port).send(get()).await.unwrap_err();
        assert!(error.is_connect(), "{error:?}");
    }

    #[tokio::test]
    async fn an_absolute_uri_goes_out_in_origin_form() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 1024];
            let n = socket.read(&mut buf).await.unwrap();
            socket
                .write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
                .await
                .unwrap();
            // The socket stays open (kept alive) with the test.
            (socket, String::from_utf8_lossy(&buf[..n]).into_owned())
        });
        let mut request = get();
        *request.uri_mut() = format!("http://127.0.0.1:{port}/a/b?c=d").parse().unwrap();
        let pool = pool(port);
        let response = pool.send(request).await.unwrap();
        assert_eq!(response.status(), 204);
        let (_socket, seen) = seen.await.unwrap();
        assert!(seen.starts_with("GET /a/b?c=d HTTP/1.1\r\n"), "{seen}");
        drop(response);
        // Returned without its body being read (there is none), as soon as hyper has finished
        // with the exchange.
        for _ in 0..400 {
            if pool.idle_count() == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(
            pool.idle_count(),
            1,
            "a bodiless response frees its connection"
        );
    }
}
