//! [`App`]: a service whose listener is bound and whose router is ready, not yet serving.
//!
//! Binding and serving are two steps on purpose: a test binds `127.0.0.1:0`, asks
//! [`App::local_addr`] which port the OS chose, spawns [`App::run_until`], and talks to it.

use super::settings::ServerConfig;
use crate::server::Server;
use axum::Router;
use std::{future::Future, io, net::SocketAddr};

/// A built service: listener bound, migrations run, data seeded. It keeps the service's state
/// `S` so a test can reach what it started (the store, the clock).
pub struct App<S> {
    server: Server,
    state: S,
}

impl<S> std::fmt::Debug for App<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("local_addr", &self.local_addr())
            .finish_non_exhaustive()
    }
}

impl<S> App<S> {
    /// Binds `server.listen` (port 0 lets the OS choose) to serve `router(state)`, with the
    /// section's connection limits, and keeps `state`. A failure names the address and the key
    /// to change.
    pub async fn bind<D>(
        server: &ServerConfig<D>,
        router: fn(S) -> Router,
        state: S,
    ) -> io::Result<App<S>>
    where
        S: Clone,
    {
        let router = router(state.clone());
        let bound = Server::bind(server.listen, router, server.limits.clone())
            .await
            .map_err(|error| {
                io::Error::new(
                    error.kind(),
                    format!(
                        "cannot listen on {} (key `server.listen`): {error}",
                        server.listen
                    ),
                )
            })?;
        Ok(App {
            server: bound,
            state,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// The service's state, as built (tests use it to reach the store or the clock).
    pub fn state(&self) -> &S {
        &self.state
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish.
    pub async fn run_until<F>(self, shutdown: F) -> io::Result<()>
    where
        F: Future<Output = ()> + Send,
    {
        self.server.run_until(shutdown).await
    }
}
