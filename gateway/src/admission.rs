//! Admission: the four checks every request passes before the gateway sends anything upstream,
//! in one place, for routes and aggregates alike.
//!
//! 1. **authenticate** — who is calling, per the route's `auth` mode (401) ([`crate::auth`]);
//! 2. **authorize** — may they, per the route's roles and OAuth scopes (403) ([`crate::policy`]);
//! 3. **identity** — strip client `X-User-*`, set the verified ones ([`crate::identity`]);
//! 4. **rate limit** — the policies attached to the route (429, or 503 when Redis fails
//!    closed) ([`crate::ratelimit`]).
//!
//! The caller is recorded for the access log as soon as the token is verified, so a 403 or a 429
//! line names who was refused. The order matters: a request that would be refused for its
//! token or role spends no rate-limit allowance.
//!
//! Each check's outcome is written here, in the order it runs, to the request's decision record
//! ([`crate::decision`]): the token's checks (present and well-formed, signature, expiry, issuer,
//! audience, claims), the role, the scope, the identity headers and every rate-limit policy. The first
//! failing one is the answer to "why was I refused?".

use crate::{
    access_log::Trace,
    auth::{self, Verified},
    config::AuthMode,
    context::Caller,
    decision::Outcome,
    error::GatewayError,
    identity, policy,
    ratelimit::{Asker, Verdict},
    routing::{RoleSet, ScopeSet},
    state::Gateway,
};
use axum::body::Body;
use http::request::Parts;
use shared::Claims;
use std::sync::Arc;

/// What a route or an aggregate asks of its callers.
#[derive(Debug, Clone, Copy)]
pub struct Guard<'g> {
    /// Its name: rate-limit policies are attached by it.
    pub name: &'g str,
    /// Whether a token is required, optional or ignored.
    pub auth: AuthMode,
    /// The roles it accepts (empty: any).
    pub roles: RoleSet,
    /// The OAuth scopes it accepts (empty: no scope check).
    pub scopes: &'g ScopeSet,
}

/// A request that passed every check.
#[derive(Debug)]
pub struct Admitted<'g> {
    /// The verified caller (`None`: anonymous, on a public or optional route).
    pub claims: Option<Arc<Claims>>,
    /// The body, to forward (the same bytes when the rate limiter had to read it).
    pub body: Body,
    /// The rate limiter's outcomes, for the response's `RateLimit` headers.
    pub verdict: Verdict<'g>,
}

/// Runs the four checks on a request for `guard`. `parts.headers` leaves with the verified
/// identity headers set and the client's removed.
pub async fn admit<'g>(
    gateway: &'g Gateway,
    guard: Guard<'_>,
    caller: Caller<'_>,
    parts: &mut Parts,
    body: Body,
    trace: &mut Trace<'_>,
) -> Result<Admitted<'g>, GatewayError> {
    let record = &mut trace.decision;
    let claims = match auth::authenticate(guard.auth, &parts.headers, gateway.checker()).await {
        Ok(Some(Verified { claims, cached })) => {
            gateway.metrics.token_cache_lookup(cached);
            record.token_checks(Ok((&claims, cached)));
            trace.user = Some(claims.sub.clone());
            Some(claims)
        }
        Ok(None) => {
            let why = match guard.auth {
                AuthMode::Public => "public route: the token is not read",
                _ => "no token: anonymous on an optional route",
            };
            record.check("token", Outcome::Skip, Some(why.into()));
            None
        }
        Err(error) => {
            record.token_checks(Err(&error));
            return Err(error.into());
        }
    };
    let record = &mut trace.decision;
    if let Err(refused) = policy::authorize(guard.roles, claims.as_deref()) {
        let needs = format!("{}: needs {}", refused.reason(), guard.roles.describe());
        record.check("role", Outcome::Fail, Some(needs.into()));
        return Err(refused);
    }
    if !guard.roles.is_empty() {
        record.check("role", Outcome::Pass, Some(guard.roles.describe().into()));
    }
    match policy::check_scope(guard.scopes, claims.as_deref()) {
        Ok(None) => {}
        Ok(Some(why)) => record.check("scope", Outcome::Pass, Some(why.into())),
        Err(refused) => {
            let needs = format!("{}: needs {}", refused.reason(), guard.scopes.describe());
            record.check("scope", Outcome::Fail, Some(needs.into()));
            return Err(refused);
        }
    }
    identity::apply(&mut parts.headers, claims.as_deref())?;
    record.check("identity", Outcome::Pass, None);
    let asker = Asker {
        peer: caller.peer,
        trusted_proxies: &gateway.trusted_proxies,
        claims: claims.as_deref(),
    };
    let (body, verdict) = gateway
        .limiter
        .admit(guard.name, parts, asker, body)
        .await
        .inspect_err(|refused| {
            if let GatewayError::RateLimited(refusal) = refused {
                let detail = format!("{}: {}", refused.reason(), refusal.policy);
                record.check("rate_limit", Outcome::Fail, Some(detail.into()));
            }
        })?;
    for (policy, checked) in verdict.policies() {
        let detail = if checked {
            policy.to_owned()
        } else {
            format!("{policy} (the limiter failed open)")
        };
        record.check("rate_limit", Outcome::Pass, Some(detail.into()));
    }
    Ok(Admitted {
        claims,
        body,
        verdict,
    })
}
