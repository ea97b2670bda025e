//! The JWT payload every access token carries.
//!
//! The lecture's example payload is `{"sub","name","role","exp"}`. A production token also needs to
//! say *who issued it* (`iss`), *for whom* (`aud`), *when* (`iat`) and carry a unique id (`jti`), so
//! a token minted for another system, or replayed from a log, can be told apart (RFC 7519 §4.1,
//! RFC 8725 §3.10).

use serde::{Deserialize, Serialize};
use std::fmt;

/// The roles of the demo. The lecture's tamper example edits `STUDENT` into `ADMIN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Role {
    /// An ordinary user: sees only their own profile and invoices.
    Student,
    /// May list every user and create invoices.
    Admin,
    /// A machine client that authenticated with `client_credentials` (no human behind it).
    Service,
}

impl Role {
    /// The spelling used in tokens and headers (`STUDENT`, `ADMIN`, `SERVICE`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Student => "STUDENT",
            Role::Admin => "ADMIN",
            Role::Service => "SERVICE",
        }
    }

    /// Parses the spelling used in tokens; `None` for anything else.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "STUDENT" => Some(Role::Student),
            "ADMIN" => Some(Role::Admin),
            "SERVICE" => Some(Role::Service),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The claims of an access token. Times are seconds since the Unix epoch (RFC 7519 `NumericDate`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Subject: the user's id (or the OAuth client's id for `client_credentials`).
    pub sub: String,
    /// Display name, so backends need not look it up.
    pub name: String,
    /// What the subject may do; the gateway's per-route role checks read it.
    pub role: Role,
    /// Expiry. Access tokens live minutes, not days: a stolen one is useful only briefly.
    pub exp: u64,
    /// Issued at.
    pub iat: u64,
    /// Issuer: the auth-service's URL. Verifiers accept exactly one issuer.
    pub iss: String,
    /// Audience: the system the token is for. A token for another audience is refused.
    pub aud: String,
    /// Unique token id (a UUID), useful for audit and revocation lists.
    pub jti: String,
    /// The user's e-mail, so a backend can create a profile from the token alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// OAuth 2.0 scope, for tokens issued to machine clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}
