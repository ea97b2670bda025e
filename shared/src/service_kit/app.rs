//! [`App`]: a service whose listener is bound and whose router is ready, not yet serving.
//!
//! Binding and serving are two steps on purpose: a test binds `127.0.0.1:0`, asks
//! [`App::local_addr`] which port the OS chose, spawns [`App::run_until`], and talks to it.

use crate::server::{Server, ServerLimits};
use axum::Router;
use std::{future::Future, net::SocketAddr};

/// A built service: listener bound, migrations run, data seeded.
pub struct App {
    server: Server,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("local_addr", &self.local_addr())
            .finish_non_exhaustive()
    }
}

impl App {
    /// Binds `listen` (port 0 lets the OS choose) for `router`.
    pub async fn bind(
        listen: SocketAddr,
        router: Router,
        limits: ServerLimits,
    ) -> std::io::Result<App> {
        let server = Server::bind(listen, router, limits).await?;
        Ok(App { server })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish.
    pub async fn run_until<F>(self, shutdown: F) -> std::io::Result<()>
    where
        F: Future<Output = ()> + Send,
    {
        self.server.run_until(shutdown).await
    }
}
