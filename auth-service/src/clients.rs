//! OAuth clients: the applications that may ask for tokens, checked once at start.
//!
//! A token is always issued *to a client* as well as *for a user*: the refresh token remembers
//! its client, and only that client may redeem it (RFC 6749 §6, §10.4). So even the service's
//! own JSON login (`/auth/login`, `/auth/refresh`) is a client: [`FIRST_PARTY_CLIENT_ID`]. It is
//! reserved (no `[[clients]]` entry may take its name) and never reaches `/oauth/*`, so a refresh
//! token from a JSON login cannot be redeemed at the token endpoint, nor the other way round.
//!
//! The kinds (RFC 6749 §2.1): a confidential client proves itself with a secret, kept here only
//! as an argon2 hash; a public client cannot keep a secret, so it only names itself, and what it
//! may do is limited to its configured grants. Demo mode adds the two demo clients ([`demo`]).

use crate::{
    config::{ClientConfig, ClientType, Config},
    passwords,
};
use secrecy::SecretString;

/// The client every `/auth/login` session belongs to: the service's own JSON API. Reserved.
pub const FIRST_PARTY_CLIENT_ID: &str = "auth-json-api";

/// The grant types a client may be configured with.
pub const GRANT_TYPES: [&str; 4] = [
    "authorization_code",
    "client_credentials",
    "password",
    "refresh_token",
];

/// The demo clients (demo mode only). **DEMO ONLY**: the secret is public.
pub mod demo {
    /// A public client (a classroom web or native app).
    pub const CLASSROOM_APP: &str = "classroom-app";
    /// A confidential machine client.
    pub const REPORTING_JOB: &str = "reporting-job";
    /// `reporting-job`'s secret. Public: it is in the repository.
    pub const REPORTING_SECRET: &str = "reporting-secret";
}

/// How a client proves who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A public client: no secret; `client_id` alone identifies it.
    None,
    /// A confidential client: the argon2 PHC string of its secret.
    SecretHash(String),
}

/// One client, checked.
#[derive(Debug, Clone)]
pub struct Client {
    /// `client_id`.
    pub id: String,
    /// Public or confidential.
    pub credentials: Credentials,
    /// Scopes a `client_credentials` token may carry.
    pub scopes: Vec<String>,
    /// The grants it may use.
    pub grant_types: Vec<String>,
    /// Redirect URIs for the authorization endpoint, matched exactly (loopback ones on any port,
    /// [`crate::redirect_uris`]).
    pub redirect_uris: Vec<String>,
    /// The authorization endpoint refuses a request without `state`.
    pub require_state: bool,
    /// May call the introspection endpoint.
    pub introspect: bool,
}

impl Client {
    /// True for a public client (no secret).
    pub fn is_public(&self) -> bool {
        self.credentials == Credentials::None
    }

    /// True when `grant_type` is one of its grants.
    pub fn may_use(&self, grant_type: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant_type)
    }
}

/// Every client the token endpoint knows.
#[derive(Debug, Default)]
pub struct Registry {
    clients: Vec<Client>,
}

impl Registry {
    /// Checks `[[clients]]` and, in demo mode, adds the demo clients. Every mistake is refused
    /// with the client's name and the fix.
    pub async fn load(config: &Config) -> anyhow::Result<Registry> {
        let mut registry = Registry::default();
        for entry in &config.clients {
            registry.add(check(entry)?)?;
        }
        if config.demo {
            for client in demo_clients(&config.issuer).await? {
                registry.add(client)?;
            }
        }
        Ok(registry)
    }

    fn add(&mut self, client: Client) -> anyhow::Result<()> {
        if self.get(&client.id).is_some() {
            anyhow::bail!(
                "[[clients]] `{}` is declared twice (demo mode declares `{}` and `{}` itself)",
                client.id,
                demo::CLASSROOM_APP,
                demo::REPORTING_JOB
            );
        }
        self.clients.push(client);
        Ok(())
    }

    /// The client with this id.
    pub fn get(&self, client_id: &str) -> Option<&Client> {
        self.clients.iter().find(|c| c.id == client_id)
    }

    /// Every client, in configuration order.
    pub fn iter(&self) -> impl Iterator<Item = &Client> {
        self.clients.iter()
    }
}

/// Turns one `[[clients]]` entry into a [`Client`], refusing what cannot be right.
fn check(entry: &ClientConfig) -> anyhow::Result<Client> {
    let id = &entry.client_id;
    let fail = |why: String| anyhow::anyhow!("[[clients]] `{id}`: {why}");
    if id.is_empty() || id.chars().any(|c| c.is_control() || c == ':') {
        return Err(fail(
            "client_id must be non-empty, without ':' or control characters".into(),
        ));
    }
    if id == FIRST_PARTY_CLIENT_ID {
        return Err(fail(format!(
            "`{FIRST_PARTY_CLIENT_ID}` is reserved for the service's own JSON login; choose another client_id"
        )));
    }
    let kind = entry.client_type.unwrap_or(match entry.secret_hash {
        Some(_) => ClientType::Confidential,
        None => ClientType::Public,
    });
    let credentials = match (kind, &entry.secret_hash) {
        (ClientType::Public, None) => Credentials::None,
        (ClientType::Public, Some(_)) => {
            return Err(fail(
                "a public client has no secret: remove secret_hash, or write type = \"confidential\""
                    .into(),
            ));
        }
        (ClientType::Confidential, None) => {
            return Err(fail(
                "a confidential client needs secret_hash (make one with `auth-service hash-secret`)"
                    .into(),
            ));
        }
        (ClientType::Confidential, Some(hash)) => {
            argon2::PasswordHash::new(hash).map_err(|e| {
                fail(format!(
                    "secret_hash is not an argon2 PHC string ({e}); make one with `auth-service hash-secret`"
                ))
            })?;
            Credentials::SecretHash(hash.clone())
        }
    };
    for grant in &entry.grant_types {
        if !GRANT_TYPES.contains(&grant.as_str()) {
            return Err(fail(format!(
                "unknown grant type `{grant}`; known: {}",
                GRANT_TYPES.join(", ")
            )));
        }
    }
    let public = credentials == Credentials::None;
    if public && entry.grant_types.iter().any(|g| g == "client_credentials") {
        return Err(fail(
            "a public client cannot use client_credentials (it has no credentials)".into(),
        ));
    }
    if public && entry.introspect {
        return Err(fail(
            "introspect = true needs a confidential client (one with secret_hash)".into(),
        ));
    }
    for uri in &entry.redirect_uris {
        let absolute = uri.starts_with("https://") || uri.starts_with("http://");
        // Visible ASCII only: the URI goes into a `Location` header as it is.
        let printable = uri.bytes().all(|b| b.is_ascii_graphic());
        if !absolute || uri.contains('#') || !printable {
            return Err(fail(format!(
                "redirect URI `{uri}` must be an absolute http(s) URL without a fragment, \
                 spaces or non-ASCII characters (percent-encode them)"
            )));
        }
    }
    Ok(Client {
        id: id.clone(),
        credentials,
        scopes: entry.scopes.clone(),
        grant_types: entry.grant_types.clone(),
        redirect_uris: entry.redirect_uris.clone(),
        require_state: entry.require_state,
        introspect: entry.introspect,
    })
}

/// The demo clients of DESIGN.md. **DEMO ONLY**: `reporting-job`'s secret is public. Its hash is
/// made at start (a fresh salt each time), so no hash of a public secret sits in the repository.
async fn demo_clients(issuer: &str) -> anyhow::Result<Vec<Client>> {
    let issuer = issuer.trim_end_matches('/');
    let secret_hash = passwords::hash(SecretString::from(demo::REPORTING_SECRET)).await?;
    Ok(vec![
        Client {
            id: demo::CLASSROOM_APP.to_owned(),
            credentials: Credentials::None,
            scopes: Vec::new(),
            grant_types: ["authorization_code", "refresh_token", "password"]
                .map(str::to_owned)
                .to_vec(),
            // Loopback redirects match on any port (RFC 8252 §7.3): a native app picks a free one.
            redirect_uris: vec![
                "http://127.0.0.1/callback".to_owned(),
                "http://[::1]/callback".to_owned(),
                "http://localhost/callback".to_owned(),
                format!("{issuer}/console/callback"),
            ],
            // Every OAuth library sends `state`; asking for it teaches the habit.
            require_state: true,
            introspect: false,
        },
        Client {
            id: demo::REPORTING_JOB.to_owned(),
            credentials: Credentials::SecretHash(secret_hash),
            scopes: vec!["billing:read".to_owned()],
            grant_types: vec!["client_credentials".to_owned()],
            redirect_uris: Vec::new(),
            require_state: false,
            introspect: true,
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str) -> ClientConfig {
        ClientConfig {
            client_id: id.to_owned(),
            client_type: None,
            secret_hash: None,
            scopes: Vec::new(),
            grant_types: vec!["password".to_owned()],
            redirect_uris: Vec::new(),
            require_state: false,
            introspect: false,
        }
    }

    const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Jz3pT0j2cY8mDqS0YpXoUq0m6YjJb9Jc4lZ4cC2c0Xo";

    #[test]
    fn a_client_without_a_secret_is_public_and_one_with_a_secret_confidential() {
        assert!(check(&entry("app")).unwrap().is_public());
        let confidential = ClientConfig {
            secret_hash: Some(HASH.into()),
            ..entry("job")
        };
        assert!(!check(&confidential).unwrap().is_public());
    }

    #[test]
    fn contradictions_are_refused_by_name() {
        let cases = [
            (entry(FIRST_PARTY_CLIENT_ID), "reserved"),
            (
                ClientConfig {
                    client_type: Some(ClientType::Public),
                    secret_hash: Some(HASH.into()),
                    ..entry("a")
                },
                "public client has no secret",
            ),
            (
                ClientConfig {
                    client_type: Some(ClientType::Confidential),
                    ..entry("b")
                },
                "needs secret_hash",
            ),
            (
                ClientConfig {
                    grant_types: vec!["client_credentials".into()],
                    ..entry("c")
                },
                "cannot use client_credentials",
            ),
            (
                ClientConfig {
                    introspect: true,
                    ..entry("d")
                },
                "confidential client",
            ),
            (
                ClientConfig {
                    grant_types: vec!["implicit".into()],
                    ..entry("e")
                },
                "unknown grant type",
            ),
            (
                ClientConfig {
                    redirect_uris: vec!["/callback".into()],
                    ..entry("f")
                },
                "absolute",
            ),
        ];
        for (entry, expected) in cases {
            let error = check(&entry).unwrap_err().to_string();
            assert!(error.contains(expected), "{error}");
            assert!(error.contains(&format!("`{}`", entry.client_id)), "{error}");
        }
    }
}
