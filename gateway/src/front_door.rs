//! The front door: what the server runs for every request.
//!
//! The gateway's own endpoints go to a small axum router ([`crate::own_endpoints`]); everything
//! else gets its request id and goes straight into the pipeline ([`crate::handler::handle`]).
//! Straight, because this is every proxied request's path: an axum router with a fallback and a
//! `from_fn` middleware would add path matching and boxed futures to each of them (measured in
//! docs/performance.md).
//!
//! One clone per client connection ([`Handler::for_connection`]) carries that connection's
//! [`Peer`]: whether it is a trusted proxy and its address as the forwarding headers write it,
//! worked out once instead of on every request — and counts the connection as open
//! (`gateway_connections_open`) until its last clone is dropped.
//!
//! Each request takes the gateway in use when it arrives ([`Live::current`]) and keeps it to
//! its end: a reload swaps the gateway for the next requests, never under a running one.
//!
//! The front door is also a [`tower::Service`] over `Request<Body>`, so a test can drive the
//! whole pipeline with `ServiceExt::oneshot` — no socket, no server — and read the `Response`
//! a client would get (the axum testing pattern).

use crate::{
    context::Caller, forwarded::Peer, handler, live::Live, metrics::OpenConnection, own_endpoints,
    security_headers, state::Gateway,
};
use axum::{BoxError, Router, body::Body};
use bytes::Bytes;
use futures::future::BoxFuture;
use http::{Request, Response};
use hyper::body::Incoming;
use shared::{request_id, server::Handler, trace_context::TraceContext};
use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::Arc,
    task::{Context, Poll},
};

/// The gateway's entry point for requests.
#[derive(Clone)]
pub struct FrontDoor {
    live: Arc<Live>,
    own_endpoints: Router,
    connection: Arc<Connection>,
}

/// One client connection: its peer, counted as open while it lives.
struct Connection {
    peer: Peer,
    _open: Option<OpenConnection>,
}

impl FrontDoor {
    /// The front door of `gateway`, for a peer not yet known (see [`FrontDoor::for_peer`]).
    /// Starts its upstreams' health checks.
    pub fn new(gateway: Arc<Gateway>) -> FrontDoor {
        Self::on(Live::new(gateway))
    }

    /// The front door of whatever gateway `live` holds at each request.
    pub fn on(live: Arc<Live>) -> FrontDoor {
        FrontDoor {
            own_endpoints: own_endpoints::router(Arc::clone(&live)),
            live,
            connection: Arc::new(Connection {
                peer: Peer::unknown(),
                _open: None,
            }),
        }
    }

    /// The gateway configuration in use, reloadable.
    pub fn live(&self) -> &Arc<Live> {
        &self.live
    }

    /// This front door as it serves a connection from `peer`. Whether the peer is a trusted
    /// proxy is decided once, by the configuration in use when the connection opens.
    pub fn for_peer(&self, peer: SocketAddr) -> FrontDoor {
        self.with_peer(|gateway| Peer::new(peer, &gateway.trusted_proxies))
    }

    /// [`FrontDoor::for_peer`] for a connection over the gateway's own TLS: the backends are
    /// told `proto=https`.
    pub fn for_tls_peer(&self, peer: SocketAddr) -> FrontDoor {
        self.with_peer(|gateway| Peer::new(peer, &gateway.trusted_proxies).over_tls())
    }

    fn with_peer(&self, peer: impl FnOnce(&Gateway) -> Peer) -> FrontDoor {
        let gateway = self.live.current();
        FrontDoor {
            connection: Arc::new(Connection {
                peer: peer(&gateway),
                _open: Some(OpenConnection::new(&gateway.metrics.connections_open)),
            }),
            ..self.clone()
        }
    }

    /// Answers one request: an own endpoint, or the pipeline. Generic over the request body so
    /// that the server (hyper's `Incoming`) and tests (axum's `Body`) take the same path.
    pub async fn respond<B>(self, request: Request<B>) -> Response<Body>
    where
        B: http_body::Body<Data = Bytes, Error: Into<BoxError>> + Send + 'static,
    {
        let mut request = request.map(Body::new);
        let gateway: Arc<Gateway> = self.live.current();
        if own_endpoints::answers(&gateway, request.uri().path()) {
            let mut response = match tower::ServiceExt::oneshot(self.own_endpoints, request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            security_headers::on_every_answer(response.headers_mut());
            security_headers::served_by(gateway.served_by.as_ref(), response.headers_mut());
            return response;
        }
        // Every response, errors included, carries the request id.
        let id = request_id::assign(&mut request);
        // The client's trace continued (when allowed and well-formed) or a new one started; the
        // gateway's own span id either way. Never an error: a bad `traceparent` is ignored.
        let trace = TraceContext::from_headers(request.headers(), gateway.accept_incoming_trace);
        // The pipeline's future is several kilobytes, and a future is moved (copied) each time
        // it is handed to a wrapper: hyper's dispatcher, the request id's task-local and span.
        // So it is boxed where it is made, and only the pointer travels (docs/performance.md).
        let handling = Box::pin(async {
            let caller = Caller {
                peer: &self.connection.peer,
                request_id: &id,
                trace: &trace,
            };
            handler::handle(&gateway, caller, request).await
        });
        let mut response = id.clone().run(&trace, handling).await;
        // Every answer, proxied or the gateway's own: `nosniff`, `Referrer-Policy`, and which
        // replica answered when it has a name.
        security_headers::on_every_answer(response.headers_mut());
        security_headers::served_by(gateway.served_by.as_ref(), response.headers_mut());
        response
    }
}

impl Handler for FrontDoor {
    type Body = Body;

    // The peer travels with the front door (below), not in each request's extensions.
    const CONNECT_INFO: bool = false;

    // The pipeline answers an oversized head with an explained 431 (`handler::precheck`).
    const CHECKS_HEAD_SIZE: bool = true;

    fn for_connection(&self, peer: SocketAddr) -> FrontDoor {
        self.for_peer(peer)
    }

    fn for_tls_connection(&self, peer: SocketAddr) -> FrontDoor {
        self.for_tls_peer(peer)
    }

    // A trusted proxy (the scale profile's load balancer) carries many clients' connections:
    // the per-address cap would cut them all off at once.
    fn exempt_from_address_cap(&self, peer: SocketAddr) -> bool {
        self.live.current().trusted_proxies.trusts(Some(peer))
    }

    // The future of `respond` itself, not wrapped in another: every wrapper is one more move of
    // the request's state.
    fn call(
        self,
        request: Request<Incoming>,
    ) -> impl Future<Output = Response<Body>> + Send + 'static {
        self.respond(request)
    }
}

/// The pipeline without a socket: `front_door.oneshot(request)` answers as a client would be
/// answered (tests; see the module docs).
impl tower::Service<Request<Body>> for FrontDoor {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let door = self.clone();
        Box::pin(async move { Ok(door.respond(request).await) })
    }
}
