//! # shared — what every service in the demo has in common
//!
//! The gateway, the auth-service and both backends are separate programs, but they must agree on a
//! few things exactly: what a token's payload looks like, how a token is verified, what an error
//! body looks like, how requests are identified in logs, and how a server starts and stops. Those
//! agreements live here, once, so no service can drift from the others.
//!
//! # Layout
//!
//! - [`claims`]: the JWT payload from the lecture (`sub`, `name`, `role`, `exp`, …) and [`Role`].
//! - [`verifier`]: [`TokenVerifier`], which checks a token's signature and claims and explains a
//!   rejection with a stable reason code. The gateway *and* every backend use it (defence in depth).
//! - [`metric_labels`]: the method and status-class label values every program's metrics use.
//! - [`key_source`]: the `[auth]` configuration every service shares and [`Verifier`], the
//!   handle handlers use: static keys (HS256 secret, PEM files) or a cached JWKS URL.
//! - [`bearer`]: reading `Authorization: Bearer …` (RFC 6750) and the [`Authenticated`] extractor.
//! - [`problem`]: [`Problem`], the RFC 9457 `application/problem+json` error every service returns.
//! - [`request_id`]: the `X-Request-Id` middleware; error bodies quote the id so a user's report
//!   can be matched to a log line.
//! - [`trace_context`]: W3C `traceparent` / `tracestate`: one trace id across every service a
//!   request crosses, each hop with its own span id; error bodies and logs quote the trace id.
//! - [`json`]: [`AppJson`], a JSON extractor whose rejections are problem+json too.
//! - [`demo`]: the demo's public constants (accounts, ids, issuer, audience, demo secret), and the
//!   classroom's seeded student accounts.
//! - [`provisioning`]: how the auth-service creates a user's profile at the user-service (the
//!   path, the scope, the body): profiles come from accounts, never from token claims.
//! - [`clock`]: where "now" comes from: one injectable clock per service (monotonic and wall).
//! - [`config`]: loading a service's TOML file with environment overrides.
//! - [`connection_guard`]: a deadline from accept to the first request, and a cap on the
//!   connections one address may hold (the silent and the greedy client).
//! - [`server`]: the accept loop every service runs: header-read timeout, connection cap, graceful
//!   shutdown that drains in-flight requests.
//! - [`tls`]: TLS termination for the gateway: the certificate checked when loaded, reloaded
//!   without a restart when its files change.
//! - `service_kit` (feature `service-kit`): the frame the auth-service and both backends are
//!   built on — the `App` wrapper, the `[server]` section and configuration loading, the
//!   middleware stack, the database pool, health probes and the backends' teaching toggles. The
//!   gateway, which has no database, leaves the feature off.
//! - [`token_rules`]: the HS256 secret rules every service applies at start (32 bytes or more;
//!   the public demo secret only in demo mode).
//! - [`telemetry`]: one `tracing` set-up for all services.
//!
//! A request to any service passes: [`server`] (connection accepted, headers read within the
//! timeout) → [`request_id`] (id assigned, trace continued) → the service's router → a handler that may use
//! [`Authenticated`] (which calls [`TokenVerifier::verify`]) → on failure a [`Problem`].

pub mod bearer;
pub mod claims;
pub mod clock;
pub mod config;
pub mod connection_guard;
pub mod demo;
pub mod json;
pub mod key_source;
pub mod metric_labels;
pub mod problem;
pub mod provisioning;
pub mod request_id;
pub mod server;
#[cfg(feature = "service-kit")]
pub mod service_kit;
pub mod telemetry;
pub mod tls;
pub mod token_rules;
pub mod trace_context;
pub mod verifier;

pub use bearer::Authenticated;
pub use claims::{Claims, Role};
pub use json::AppJson;
pub use key_source::{Verifier, VerifierConfig};
pub use problem::Problem;
pub use verifier::{TokenError, TokenVerifier, VerificationKey, VerifierSettings};
