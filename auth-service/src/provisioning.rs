//! Telling the user-service about accounts: the stored profile there comes from here, never
//! from a token (see [`shared::provisioning`] for the why).
//!
//! [`Provisioner::provision`] sends `PUT /internal/profiles/{id}` with the account's e-mail,
//! name and role to every configured user-service, authenticated with an access token this
//! service signs for itself (role `SERVICE`, scope `profiles:provision`, 60 s). It runs:
//!
//! - after a registration that created an account, before the 201 — so the new user's first
//!   `GET /api/users/me` finds their profile;
//! - after every successful login — so a profile lost with an in-memory database (a restarted
//!   user-service) or a role changed in the account store is back in line at the next login.
//!
//! A user-service that is down must not stop people registering or logging in: a failure is
//! logged (with the target, never a token) and the request goes on; the next login repairs it.
//! Each call is bounded by [`TIMEOUT`].

use crate::{store::User, tokens::Subject, tokens::TokenIssuer};
use shared::{Role, provisioning};
use std::time::Duration;

/// The most one provisioning call may take (connect and answer).
pub const TIMEOUT: Duration = Duration::from_secs(2);

/// Creates and updates profiles at the configured user-services.
#[derive(Debug, Clone)]
pub struct Provisioner {
    targets: Vec<String>,
    http: reqwest::Client,
    tokens: TokenIssuer,
}

impl Provisioner {
    /// A provisioner for `targets` (user-service base URLs; none: it does nothing), signing its
    /// tokens with `tokens` (an issuer whose lifetime is [`provisioning::TOKEN_TTL_SECS`]).
    pub fn new(targets: Vec<String>, tokens: TokenIssuer) -> anyhow::Result<Provisioner> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .build()?;
        Ok(Provisioner {
            targets,
            http,
            tokens,
        })
    }

    /// Sends `user`'s profile record to every target; returns how many accepted it. Failures
    /// are logged, not returned: see the module docs.
    #[tracing::instrument(skip_all, fields(user_id = %user.id))]
    pub async fn provision(&self, user: &User, now: u64) -> usize {
        if self.targets.is_empty() {
            return 0;
        }
        let subject = Subject {
            id: provisioning::SUBJECT.to_owned(),
            name: provisioning::SUBJECT.to_owned(),
            role: Role::Service,
            email: None,
        };
        let token = match self
            .tokens
            .issue(&subject, Some(provisioning::SCOPE.to_owned()), now)
        {
            Ok(token) => token.token,
            Err(error) => {
                tracing::error!(%error, "cannot sign a provisioning token");
                return 0;
            }
        };
        let record = provisioning::ProfileRecord {
            email: user.email.clone(),
            name: user.name.clone(),
            role: user.role,
        };
        let calls = self.targets.iter().map(|target| {
            let url = format!("{target}{}", provisioning::path(&user.id));
            let request = self.http.put(&url).bearer_auth(&token).json(&record);
            async move {
                match request.send().await {
                    Ok(response) if response.status().is_success() => true,
                    Ok(response) => {
                        tracing::warn!(%target, status = %response.status(),
                            "the user-service refused a profile; the next login retries");
                        false
                    }
                    Err(error) => {
                        tracing::warn!(%target, error = %error.without_url(),
                            "the user-service is unreachable; the next login retries");
                        false
                    }
                }
            }
        });
        // Few targets (one, or a handful of replicas), called at once.
        futures::future::join_all(calls)
            .await
            .into_iter()
            .filter(|accepted| *accepted)
            .count()
    }
}
