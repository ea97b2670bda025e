//! # The whole demo in one process
//!
//! The four services are separate programs (each crate has its own `main.rs` and Dockerfile
//! target), but for a classroom and for the end-to-end tests it is handy to start all of them at
//! once, in one process, with zero setup. [`Demo::start`] does that: it binds the gateway's port
//! first, so the **public URL** is known (`http://localhost:<the port really bound>`, even on
//! port 0), then builds the auth-service and the two backends with that URL as the token issuer
//! (so their real addresses are known too), then the gateway with routes pointing at them and
//! the same issuer. `GATEWAY_PORT=18080 cargo run` therefore issues and advertises
//! `http://localhost:18080`, and the discovery document never names a port nobody listens on.
//!
//! # Layout
//!
//! - [`Ports`]: where each service listens (the README's ports, 8080–8083, or 0 for tests).
//! - [`Demo`]: the running services, their addresses, and a handle to stop them all.
//! - [`DemoOptions`] and [`Demo::start_with`]: extra user-service instances behind the same
//!   upstream and a hook to adjust the gateway's configuration; [`Demo::stop_service`] and
//!   [`Demo::restart_service`] stop and bring back one service (resilience exercises and tests).
//!
//! `src/main.rs` is the `cargo run --release` launcher; `tests/` drives a [`Demo`] over HTTP.

use anyhow::Context;
use shared::{VerifierConfig, service_kit::settings};
use std::{future::Future, net::SocketAddr};
use tokio::{sync::watch, task::JoinHandle};

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
    /// The gateway's admin listener (9080, loopback).
    pub admin: u16,
}

impl Ports {
    /// The ports in the README's diagram (and `docs/configuration.md`): 8080–8083.
    pub const DEFAULT: Ports = Ports {
        gateway: 8080,
        auth: 8081,
        users: 8082,
        billing: 8083,
        admin: 9080,
    };

    /// Every service on a free port chosen by the OS.
    pub const ANY: Ports = Ports {
        gateway: 0,
        auth: 0,
        users: 0,
        billing: 0,
        admin: 0,
    };

    /// The README's ports (see [`Ports::DEFAULT`]), each overridable with `GATEWAY_PORT`,
    /// `AUTH_PORT`, `USERS_PORT`, `BILLING_PORT`, `ADMIN_PORT` — so a port already taken on a
    /// laptop is a one-word fix.
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
            gateway: port("GATEWAY_PORT", Ports::DEFAULT.gateway)?,
            auth: port("AUTH_PORT", Ports::DEFAULT.auth)?,
            users: port("USERS_PORT", Ports::DEFAULT.users)?,
            billing: port("BILLING_PORT", Ports::DEFAULT.billing)?,
            admin: port("ADMIN_PORT", Ports::DEFAULT.admin)?,
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
    /// The gateway's admin listener (metrics, routes, decisions), on loopback.
    pub admin: SocketAddr,
}

/// One of the demo's services, for [`Demo::stop_service`] and [`Demo::restart_service`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// auth-service.
    Auth,
    /// The first user-service instance.
    Users,
    /// An extra user-service instance (index into [`Demo::extra_users`]).
    ExtraUsers(usize),
    /// billing-service.
    Billing,
    /// The gateway.
    Gateway,
}

/// A change to the demo gateway's configuration, applied before it starts.
pub type ConfigureGateway = Box<dyn FnOnce(&mut gateway::Config) + Send>;

/// How to start a [`Demo`] beyond the ports.
pub struct DemoOptions {
    /// Where each service listens.
    pub ports: Ports,
    /// More user-service instances (on free ports) behind the gateway's `users` upstream.
    pub extra_user_services: usize,
    /// Adjusts the gateway's configuration after the targets are filled in (timeouts,
    /// breakers, health checks…).
    pub configure_gateway: Option<ConfigureGateway>,
}

impl DemoOptions {
    /// The plain demo on `ports`.
    pub fn new(ports: Ports) -> DemoOptions {
        DemoOptions {
            ports,
            extra_user_services: 0,
            configure_gateway: None,
        }
    }
}

struct Running {
    service: Service,
    stop: watch::Sender<bool>,
    task: JoinHandle<std::io::Result<()>>,
}

/// All four services, running.
pub struct Demo {
    /// Where each service listens.
    pub addresses: Addresses,
    /// Where clients reach the gateway: the issuer of every token and the base of the discovery
    /// URLs (`http://localhost:<gateway port>`).
    pub public_url: String,
    /// The extra user-service instances, if any.
    pub extra_users: Vec<SocketAddr>,
    running: Vec<Running>,
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
        Self::start_with(DemoOptions::new(ports)).await
    }

    /// [`Demo::start`] with extra user-service instances and gateway adjustments.
    pub async fn start_with(options: DemoOptions) -> anyhow::Result<Demo> {
        let ports = options.ports;
        // The gateway's port first: its real address is the public URL every service is
        // configured with (the issuer), and with port 0 it is known only once bound.
        let gateway_listener = tokio::net::TcpListener::bind(loopback(ports.gateway))
            .await
            .with_context(|| {
                format!(
                    "{}; its admin listener (127.0.0.1:{}) moves with ADMIN_PORT=<port>",
                    bind_hint("gateway", ports.gateway, "GATEWAY_PORT"),
                    ports.admin
                )
            })?;
        let public_url = settings::public_url_for(gateway_listener.local_addr()?);
        let verifier = VerifierConfig {
            issuer: public_url.clone(),
            ..VerifierConfig::demo()
        };

        let mut auth_config = auth_service::Config::demo();
        auth_config.server.listen = loopback(ports.auth);
        auth_config.issuer = public_url.clone();
        let auth = auth_service::build(auth_config)
            .await
            .with_context(|| bind_hint("auth-service", ports.auth, "AUTH_PORT"))?;

        let users = build_users(loopback(ports.users), &verifier)
            .await
            .with_context(|| bind_hint("user-service", ports.users, "USERS_PORT"))?;
        let mut extra = Vec::new();
        for _ in 0..options.extra_user_services {
            extra.push(build_users(loopback(0), &verifier).await?);
        }

        let billing = build_billing(loopback(ports.billing), &verifier)
            .await
            .with_context(|| bind_hint("billing-service", ports.billing, "BILLING_PORT"))?;

        let mut gateway_config = gateway::Config::demo();
        gateway_config.server.listen = gateway_listener.local_addr()?;
        gateway_config.admin.listen = loopback(ports.admin);
        gateway_config.auth = verifier.clone();
        for upstream in &mut gateway_config.upstreams {
            upstream.targets = match upstream.name.as_str() {
                "auth" => vec![format!("http://{}", auth.local_addr())],
                "users" => std::iter::once(users.local_addr())
                    .chain(extra.iter().map(user_service::App::local_addr))
                    .map(|addr| format!("http://{addr}"))
                    .collect(),
                "billing" => vec![format!("http://{}", billing.local_addr())],
                other => {
                    anyhow::bail!("the demo gateway config names an unknown upstream `{other}`")
                }
            };
        }
        if let Some(configure) = options.configure_gateway {
            configure(&mut gateway_config);
        }
        let gateway = gateway::build_on(gateway_config, gateway_listener)
            .await
            .with_context(|| {
                format!(
                    "could not start the gateway; its admin listener (127.0.0.1:{}) moves with \
                     ADMIN_PORT=<port>",
                    ports.admin
                )
            })?;

        let addresses = Addresses {
            gateway: gateway.local_addr(),
            auth: auth.local_addr(),
            users: users.local_addr(),
            billing: billing.local_addr(),
            admin: gateway.admin_addr(),
        };
        let extra_users = extra.iter().map(user_service::App::local_addr).collect();
        let mut demo = Demo {
            addresses,
            public_url,
            extra_users,
            running: Vec::new(),
        };
        demo.spawn(Service::Auth, |s| auth.run_until(s));
        demo.spawn(Service::Users, |s| users.run_until(s));
        for (i, app) in extra.into_iter().enumerate() {
            demo.spawn(Service::ExtraUsers(i), |s| app.run_until(s));
        }
        demo.spawn(Service::Billing, |s| billing.run_until(s));
        demo.spawn(Service::Gateway, |s| gateway.run_until(s));
        Ok(demo)
    }

    fn spawn<F, R>(&mut self, service: Service, run: R)
    where
        R: FnOnce(std::pin::Pin<Box<dyn Future<Output = ()> + Send>>) -> F,
        F: Future<Output = std::io::Result<()>> + Send + 'static,
    {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(Box::pin(until(stopped))));
        self.running.push(Running {
            service,
            stop,
            task,
        });
    }

    /// Stops one service (it drains its in-flight requests first) and waits until it is gone;
    /// the others keep running.
    pub async fn stop_service(&mut self, service: Service) -> anyhow::Result<()> {
        let Some(at) = self.running.iter().position(|r| r.service == service) else {
            anyhow::bail!("{service:?} is not running");
        };
        let running = self.running.swap_remove(at);
        let _ = running.stop.send(true);
        running.task.await.context("a service task panicked")??;
        Ok(())
    }

    /// Starts a stopped user-service or billing-service again on its old address (with fresh
    /// demo data).
    pub async fn restart_service(&mut self, service: Service) -> anyhow::Result<()> {
        let verifier = VerifierConfig {
            issuer: self.public_url.clone(),
            ..VerifierConfig::demo()
        };
        let addr = match service {
            Service::Users => self.addresses.users,
            Service::Billing => self.addresses.billing,
            Service::ExtraUsers(i) => *self.extra_users.get(i).context("no such instance")?,
            other => anyhow::bail!("{other:?} cannot be restarted"),
        };
        if self.running.iter().any(|r| r.service == service) {
            anyhow::bail!("{service:?} is already running");
        }
        if service == Service::Billing {
            let app = build_billing(addr, &verifier).await?;
            self.spawn(service, |s| app.run_until(s));
        } else {
            let app = build_users(addr, &verifier).await?;
            self.spawn(service, |s| app.run_until(s));
        }
        Ok(())
    }

    /// Asks every service to stop, and waits while each drains its in-flight requests.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        for running in &self.running {
            let _ = running.stop.send(true);
        }
        for running in self.running.drain(..) {
            running.task.await.context("a service task panicked")??;
        }
        Ok(())
    }
}

/// A demo user-service on `listen`, trusting tokens as `verifier` says (the demo secret, the
/// public URL as issuer).
async fn build_users(
    listen: SocketAddr,
    verifier: &VerifierConfig,
) -> anyhow::Result<user_service::App> {
    let mut config = user_service::Config::demo();
    config.server.listen = listen;
    config.auth = Some(verifier.clone());
    user_service::build(config).await
}

/// A demo billing-service on `listen`; see [`build_users`].
async fn build_billing(
    listen: SocketAddr,
    verifier: &VerifierConfig,
) -> anyhow::Result<billing_service::App> {
    let mut config = billing_service::Config::demo();
    config.server.listen = listen;
    config.auth = Some(verifier.clone());
    billing_service::build(config).await
}

/// A future that resolves when `stopped` turns true (or its sender is gone).
async fn until(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}
