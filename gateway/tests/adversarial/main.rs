//! The adversarial suite: attacks on the gateway, one table per attack class, each row an input,
//! the exact answer (status and reason) and what — if anything — reached the backend. Each row
//! names the CVE, RFC section or cheat-sheet entry it stands for, so a reader can look up why
//! the attack works elsewhere and see that it does not work here.
//!
//! - [`jwt`]: RFC 8725 (JWT best current practices) and the OWASP JWT cheat sheet — `none`,
//!   algorithm confusion, stripped signatures, `kid`/`jku`/`x5u`/`jwk` header abuse, claims of
//!   the wrong type, several credentials.
//! - [`paths`]: one path, many spellings (RFC 3986 §6, the path-confusion class of
//!   CVE-2021-41773).
//! - [`identity`]: identity and forwarding headers a client must not choose.
//! - [`framing`]: request smuggling, lax parsing and size limits over raw sockets (RFC 9112).
//! - [`slow`]: slow and silent clients, and one address hogging connections.
//!
//! The echo backend ([`helpers::Echo`]) records every request it receives; a refused row asserts
//! it received none.

#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;

mod framing;
mod identity;
mod jwt;
mod paths;
mod slow;
