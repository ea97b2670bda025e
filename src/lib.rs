//! # The whole demo in one process
//!
//! The four services are separate programs (each crate has its own `main.rs` and Dockerfile
//! target), but for a classroom and for the end-to-end tests it is handy to start all of them at
//! once, in one process, with zero setup. [`Demo::start`] does that: it builds the auth-service
//! and the two backends first (so their real addresses are known, even on port 0), then the
//! gateway with routes pointing at them.
//!
//! # Layout
//!
//! - [`Ports`]: where each service listens (the DESIGN.md ports, or 0 for tests).
//! - [`Demo`]: the running services, their addresses, and a handle to stop them all.
//!
//! `src/main.rs` is the `cargo run --release` launcher; `tests/` drives a [`Demo`] over HTTP.

use anyhow::Context;
use std::net::SocketAddr;
use tokio::{sync::watch, task::JoinSet};

/// The port of each service. Port 0 lets the operating system choose (tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ports {
    /// The public front door (8080).
    pub gateway: u16,
    /// auth-service (8081).
    pub auth: u16,
    /// user-service (8082).
    pub users: u16,
    /// billing-service (8083).
    pub billing: u16,
}

impl Ports {
    /// The ports of DESIGN.md.
    pub const DESIGN: Ports = Ports {
        gateway: 8080,
        auth: 8081,
        users: 8082,
        billing: 8083,
    };

    /// Every service on a free port chosen by the OS.
    pub const ANY: Ports = Ports {
        gateway: 0,
        auth: 0,
        users: 0,
        billing: 0,
    };

    /// The DESIGN.md ports, each overridable with `GATEWAY_PORT`, `AUTH_PORT`, `USERS_PORT`,
    /// `BILLING_PORT` — so a port already taken on a laptop is a one-word fix.
    pub fn from_env() -> anyhow::Result<Ports> {
        fn port(var: &str, default: u16) -> anyhow::Result<u16> {
            match std::env::var(var) {
                Ok(value) => value
                    .parse()
                    .with_context(|| format!("{var}={value} is not a port number (1-65535)")),
                Err(_) => Ok(default),
            }
        }
        Ok(Ports {
            gateway: port("GATEWAY_PORT", Ports::DESIGN.gateway)?,
            auth: port("AUTH_PORT", Ports::DESIGN.auth)?,
            users: port("USERS_PORT", Ports::DESIGN.users)?,
            billing: port("BILLING_PORT", Ports::DESIGN.billing)?,
        })
    }
}

/// The addresses the services actually listen on.
#[derive(Debug, Clone, Copy)]
pub struct Addresses {
    /// The gateway (the only address a client needs).
    pub gateway: SocketAddr,
    /// auth-service.
    pub auth: SocketAddr,
    /// user-service.
    pub users: SocketAddr,
    /// billing-service.
    pub billing: SocketAddr,
}

/// All four services, running.
pub struct Demo {
    /// Where each service listens.
    pub addresses: Addresses,
    stop: watch::Sender<bool>,
    tasks: JoinSet<std::io::Result<()>>,
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn bind_hint(service: &str, port: u16, variable: &str) -> String {
    format!(
        "could not start the {service} on 127.0.0.1:{port}; if the port is taken, choose another \
         with {variable}=<port> (e.g. {variable}={})",
        10_000 + port
    )
}

impl Demo {
    /// Starts every service in demo mode (seeded accounts, the public demo secret, in-memory
    /// SQLite), on loopback, on `ports`.
    pub async fn start(ports: Ports) -> anyhow::Result<Demo> {
        let mut auth_config = auth_service::Config::demo();
        auth_config.listen = loopback(ports.auth);
        let auth = auth_service::build(auth_config)
            .await
            .with_context(|| bind_hint("auth-service", ports.auth, "AUTH_PORT"))?;

        let mut users_config = user_service::Config::demo();
        users_config.listen = loopback(ports.users);
        let users = user_service::build(users_config)
            .await
            .with_context(|| bind_hint("user-service", ports.users, "USERS_PORT"))?;

        let mut billing_config = billing_service::Config::demo();
        billing_config.listen = loopback(ports.billing);
        let billing = billing_service::build(billing_config)
            .await
            .with_context(|| bind_hint("billing-service", ports.billing, "BILLING_PORT"))?;

        let mut gateway_config = gateway::Config::demo();
        gateway_config.server.listen = loopback(ports.gateway);
        for upstream in &mut gateway_config.upstreams {
            let target = match upstream.name.as_str() {
                "auth" => auth.local_addr(),
                "users" => users.local_addr(),
                "billing" => billing.local_addr(),
                other => {
                    anyhow::bail!("the demo gateway config names an unknown upstream `{other}`")
                }
            };
            upstream.targets = vec![format!("http://{target}")];
        }
        let gateway = gateway::build(gateway_config)
            .await
            .with_context(|| bind_hint("gateway", ports.gateway, "GATEWAY_PORT"))?;

        let addresses = Addresses {
            gateway: gateway.local_addr(),
            auth: auth.local_addr(),
            users: users.local_addr(),
            billing: billing.local_addr(),
        };
        let (stop, stopped) = watch::channel(false);
        let mut tasks = JoinSet::new();
        tasks.spawn(auth.run_until(until(stopped.clone())));
        tasks.spawn(users.run_until(until(stopped.clone())));
        tasks.spawn(billing.run_until(until(stopped.clone())));
        tasks.spawn(gateway.run_until(until(stopped)));
        Ok(Demo {
            addresses,
            stop,
            tasks,
        })
    }

    /// Asks every service to stop, and waits while each drains its in-flight requests.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        while let Some(result) = self.tasks.join_next().await {
            result.context("a service task panicked")??;
        }
        Ok(())
    }
}

/// A future that resolves when `stopped` turns true (or its sender is gone).
async fn until(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}
