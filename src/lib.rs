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
//! - [`Settings`]: what `cargo run` reads from the environment besides the ports — classroom mode
//!   (`CLASSROOM=1`), the instructor's admin password (`DEMO_ADMIN_PASSWORD`), the address the
//!   gateway listens on (`GATEWAY_HOST`), `PUBLIC_URL`, and the access-token lifetime
//!   (`ACCESS_TOKEN_TTL_SECS`); [`size_for_classroom`]: the gateway's limits for a room behind
//!   one address.
//!
//! The auth-service is told where the user-service(s) are, so it provisions a profile for every
//! account it registers (and re-provisions at each login): profiles come from accounts, never
//! from tokens. The backends are therefore built first.
//!
//! `src/main.rs` is the `cargo run --release` launcher; `tests/` drives a [`Demo`] over HTTP.

use anyhow::Context;
use shared::{VerifierConfig, service_kit::settings};
use std::{
    future::Future,
    net::{IpAddr, Ipv4Addr, SocketAddr},
};
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
    /// billing-service version 2, the canary of the `billing` route's split (on a free port).
    BillingV2,
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
    /// Classroom mode, the gateway's address, the access-token lifetime.
    pub settings: Settings,
}

impl DemoOptions {
    /// The plain demo on `ports`.
    pub fn new(ports: Ports) -> DemoOptions {
        DemoOptions {
            ports,
            extra_user_services: 0,
            configure_gateway: None,
            settings: Settings::default(),
        }
    }
}

/// How `cargo run` starts the demo, beyond the ports. Every field has an environment variable
/// ([`Settings::from_env`]); the defaults are the plain demo on loopback.
#[derive(Clone)]
pub struct Settings {
    /// Classroom mode (`CLASSROOM=1`): forty seeded student accounts
    /// (`student01@example.edu` / `student01pw` …), login and registration limits sized for a
    /// room behind one address ([`size_for_classroom`]), and the public admin password refused
    /// when the gateway listens beyond loopback. See `docs/classroom.md`.
    pub classroom: bool,
    /// The admin's password in classroom mode (`DEMO_ADMIN_PASSWORD`), replacing `admin123`.
    pub admin_password: Option<secrecy::SecretString>,
    /// Where the gateway listens (`GATEWAY_HOST`, default 127.0.0.1). `0.0.0.0` lets the room
    /// in; the backends always stay on loopback.
    pub gateway_host: IpAddr,
    /// Where clients reach the gateway (`PUBLIC_URL`): the tokens' issuer. Default: from the
    /// bound address (`http://localhost:<port>` on loopback or a wildcard address).
    pub public_url: Option<String>,
    /// The access-token lifetime in seconds (`ACCESS_TOKEN_TTL_SECS`, 10 to 3600; default 900).
    /// 60 lets a class watch `token_expired` and the refresh that follows.
    pub access_token_ttl_secs: Option<u64>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            classroom: false,
            admin_password: None,
            gateway_host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            public_url: None,
            access_token_ttl_secs: None,
        }
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        f.debug_struct("Settings")
            .field("classroom", &self.classroom)
            .field("admin_password", &self.admin_password.as_ref().map(|_| "…"))
            .field("gateway_host", &self.gateway_host)
            .field("public_url", &self.public_url)
            .field("access_token_ttl_secs", &self.access_token_ttl_secs)
            .finish()
    }
}

impl Settings {
    /// Reads `CLASSROOM` (`1`/`true`/`yes`/`on`, or `0`/`false`/`no`/`off`),
    /// `DEMO_ADMIN_PASSWORD`, `GATEWAY_HOST`, `PUBLIC_URL` and `ACCESS_TOKEN_TTL_SECS`; a value
    /// that does not parse is an error naming the variable.
    pub fn from_env() -> anyhow::Result<Settings> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`Settings::from_env`] over any source of variables (tests pass a map).
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Settings> {
        let mut settings = Settings::default();
        if let Some(value) = var("CLASSROOM") {
            settings.classroom = match value.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => true,
                "" | "0" | "false" | "no" | "off" => false,
                _ => {
                    anyhow::bail!("CLASSROOM={value}: write CLASSROOM=1 (on) or CLASSROOM=0 (off)")
                }
            };
        }
        settings.admin_password = var("DEMO_ADMIN_PASSWORD")
            .filter(|p| !p.is_empty())
            .map(secrecy::SecretString::from);
        if let Some(value) = var("GATEWAY_HOST") {
            settings.gateway_host = value.parse().with_context(|| {
                format!(
                    "GATEWAY_HOST={value} is not an IP address: write 127.0.0.1 (this machine \
                     only) or 0.0.0.0 (every interface: the room can reach the demo)"
                )
            })?;
        }
        settings.public_url = var("PUBLIC_URL").filter(|u| !u.is_empty());
        if let Some(value) = var("ACCESS_TOKEN_TTL_SECS") {
            settings.access_token_ttl_secs = Some(value.parse().with_context(|| {
                format!("ACCESS_TOKEN_TTL_SECS={value} is not a number of seconds (e.g. 60)")
            })?);
        }
        Ok(settings)
    }
}

/// Sizes the gateway's login and registration limits for a classroom: forty students behind one
/// NAT address (one client IP for the gateway) all log in within a few seconds, then each logs in
/// about eleven times a minute while doing the exercises.
///
/// - `login-ip`: 80 at once (the whole room at the start, twice over), then 600 a minute (40 ×
///   11 = 440, with room for the OAuth exercises' token requests).
/// - `register-ip`: 80 at once, then 20 a minute.
///
/// Guessing one account's password is not made easier: that is the auth-service's per-account
/// throttle, which counts failures only and is the same in classroom mode. What grows is what
/// one address may try across *many* accounts — the price of a room behind one address, paid
/// only while classroom mode is on. Compose's `docker/classroom/1.env` sets the same numbers.
pub fn size_for_classroom(config: &mut gateway::Config) {
    for policy in &mut config.rate_limits {
        let (rate, burst) = match policy.name.as_str() {
            "login-ip" => (600, 80),
            "register-ip" => (20, 80),
            _ => continue,
        };
        policy.rate = rate;
        policy.burst = Some(burst);
        policy.per = Some(gateway::config::Per::Minute);
        policy.period_secs = None;
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
    /// Whether classroom mode is on (a restarted user-service seeds the classroom's profiles).
    pub classroom: bool,
    running: Vec<Running>,
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn bind_hint(service: &str, addr: SocketAddr, variable: &str) -> String {
    format!(
        "could not start the {service} on {addr}; if the port is taken, choose another with \
         {variable}=<port> (e.g. {variable}={})",
        10_000 + addr.port()
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
        let setup = options.settings;
        let gateway_addr = SocketAddr::new(setup.gateway_host, ports.gateway);
        // Classroom mode's rule before anything starts: on an address the room can reach, the
        // public admin password is refused, and the message names the variable to set.
        let classroom = auth_service::config::ClassroomConfig {
            enabled: setup.classroom,
            admin_password: setup.admin_password.clone(),
        };
        classroom
            .check(true, !setup.gateway_host.is_loopback())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        // The gateway's port first: its real address is the public URL every service is
        // configured with (the issuer), and with port 0 it is known only once bound.
        let gateway_listener = tokio::net::TcpListener::bind(gateway_addr)
            .await
            .with_context(|| {
                format!(
                    "{}; its admin listener (127.0.0.1:{}) moves with ADMIN_PORT=<port>",
                    bind_hint("gateway", gateway_addr, "GATEWAY_PORT"),
                    ports.admin
                )
            })?;
        let public_url = match &setup.public_url {
            Some(url) => url.clone(),
            None => settings::public_url_for(gateway_listener.local_addr()?),
        };
        let verifier = VerifierConfig {
            issuer: public_url.clone(),
            ..VerifierConfig::demo()
        };

        // The backends before the auth-service: it provisions profiles on them.
        let users = build_users(loopback(ports.users), &verifier, setup.classroom)
            .await
            .with_context(|| bind_hint("user-service", loopback(ports.users), "USERS_PORT"))?;
        let mut extra = Vec::new();
        for _ in 0..options.extra_user_services {
            extra.push(build_users(loopback(0), &verifier, setup.classroom).await?);
        }
        let users_addrs: Vec<SocketAddr> = std::iter::once(users.local_addr())
            .chain(extra.iter().map(user_service::App::local_addr))
            .collect();

        let billing = build_billing(loopback(ports.billing), &verifier, 1)
            .await
            .with_context(|| {
                bind_hint("billing-service", loopback(ports.billing), "BILLING_PORT")
            })?;

        // The billing-service's next release, drained until a canary rollout (exercise 17).
        let billing_v2 = build_billing(loopback(0), &verifier, 2).await?;

        let mut auth_config = auth_service::Config::demo();
        auth_config.server.listen = loopback(ports.auth);
        auth_config.issuer = public_url.clone();
        auth_config.classroom = classroom;
        auth_config.provisioning.user_service_urls = users_addrs
            .iter()
            .map(|addr| format!("http://{addr}"))
            .collect();
        if let Some(ttl) = setup.access_token_ttl_secs {
            auth_config.access_token_ttl_secs = ttl;
        }
        let auth = auth_service::build(auth_config)
            .await
            .with_context(|| bind_hint("auth-service", loopback(ports.auth), "AUTH_PORT"))?;

        let mut gateway_config = gateway::Config::demo();
        gateway_config.server.listen = gateway_listener.local_addr()?;
        gateway_config.admin.listen = loopback(ports.admin);
        gateway_config.auth = verifier.clone();
        for upstream in &mut gateway_config.upstreams {
            upstream.targets = match upstream.name.as_str() {
                "auth" => vec![format!("http://{}", auth.local_addr())],
                "users" => users_addrs
                    .iter()
                    .map(|addr| format!("http://{addr}"))
                    .collect(),
                "billing" => vec![format!("http://{}", billing.local_addr())],
                "billing-v2" => vec![format!("http://{}", billing_v2.local_addr())],
                other => {
                    anyhow::bail!("the demo gateway config names an unknown upstream `{other}`")
                }
            };
        }
        if setup.classroom {
            size_for_classroom(&mut gateway_config);
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
            classroom: setup.classroom,
            running: Vec::new(),
        };
        demo.spawn(Service::Auth, |s| auth.run_until(s));
        demo.spawn(Service::Users, |s| users.run_until(s));
        for (i, app) in extra.into_iter().enumerate() {
            demo.spawn(Service::ExtraUsers(i), |s| app.run_until(s));
        }
        demo.spawn(Service::Billing, |s| billing.run_until(s));
        demo.spawn(Service::BillingV2, |s| billing_v2.run_until(s));
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
            let app = build_billing(addr, &verifier, 1).await?;
            self.spawn(service, |s| app.run_until(s));
        } else {
            let app = build_users(addr, &verifier, self.classroom).await?;
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
/// public URL as issuer); with the classroom's profiles when `classroom`.
async fn build_users(
    listen: SocketAddr,
    verifier: &VerifierConfig,
    classroom: bool,
) -> anyhow::Result<user_service::App> {
    let mut config = user_service::Config::demo();
    config.classroom = classroom;
    config.server.listen = listen;
    config.auth = Some(verifier.clone());
    user_service::build(config).await
}

/// A demo billing-service on `listen`; see [`build_users`].
async fn build_billing(
    listen: SocketAddr,
    verifier: &VerifierConfig,
    version: u16,
) -> anyhow::Result<billing_service::App> {
    let mut config = billing_service::Config::demo();
    config.version = version;
    config.server.listen = listen;
    config.auth = Some(verifier.clone());
    billing_service::build(config).await
}

/// A future that resolves when `stopped` turns true (or its sender is gone).
async fn until(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}
