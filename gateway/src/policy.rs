//! Authorization: may this caller use this route? (Authentication said *who*; this says *may*.)
//!
//! Two independent checks, each optional per route (or aggregate):
//!
//! - **roles**: the route lists the roles it accepts (any of them). A valid token with another
//!   role gets 403 `role_required`.
//! - **scopes**: the route lists OAuth scopes (RFC 6749 §3.3); the token's space-separated
//!   `scope` claim must hold at least one of them, or the answer is 403 `insufficient_scope`
//!   with `WWW-Authenticate: Bearer error="insufficient_scope", scope="<the route's scopes>"`
//!   (RFC 6750 §3.1), which tells the client which scope to ask the token endpoint for.
//!
//! Both answer 403, not 401: logging in again would not help. Editing the role or the scope
//! inside the token (the lecture's `STUDENT` → `ADMIN`) never reaches this point: the signature
//! check already refused it.
//!
//! # Which tokens a route's `scopes` admit
//!
//! | the token | on a route with `scopes` |
//! |---|---|
//! | carries a `scope` claim (an OAuth client's token, or a user token asked for with `scope`) | passes when the claim holds one of the route's scopes |
//! | a `SERVICE` token with no `scope` claim | refused: a machine client has only the access its scopes give |
//! | a `STUDENT`/`ADMIN` token with no `scope` claim (`/api/auth/login`, or the `password` grant without `scope`) | passes: an unnarrowed first-party session, governed by the route's `roles` |
//!
//! The last row is the demo's choice, so that a user who logs in keeps every route their role
//! allows. A production gateway would rather have the auth-service put the scopes a role
//! allows into every user token and drop that row; the rule would then be the first row alone.

use crate::{
    error::GatewayError,
    routing::{RoleSet, ScopeSet},
};
use shared::{Claims, Role, TokenError};

/// Checks the roles a route (or aggregate) accepts against the verified claims.
pub fn authorize(roles: RoleSet, claims: Option<&Claims>) -> Result<(), GatewayError> {
    if roles.is_empty() {
        return Ok(());
    }
    match claims {
        // Validation only allows roles on `auth = "required"` routes; refuse anyway if that
        // ever changes, rather than let an anonymous caller through.
        None => Err(GatewayError::Token(TokenError::Missing)),
        Some(c) if roles.allows(c.role) => Ok(()),
        Some(_) => Err(GatewayError::RoleRequired(roles)),
    }
}

/// Why a token passed a route's scopes, for the decision record (static text: no allocation).
pub const SCOPE_GRANTED: &str = "the token's scope holds one of the route's";
/// See [`SCOPE_GRANTED`].
pub const SCOPE_UNNARROWED: &str = "a user token without a scope claim: its role decides";

/// Checks the scopes a route (or aggregate) accepts against the verified claims (the rule is
/// in this module's documentation). `Ok(None)` when the route names no scope; otherwise why
/// the token passed ([`SCOPE_GRANTED`], [`SCOPE_UNNARROWED`]).
pub fn check_scope(
    scopes: &ScopeSet,
    claims: Option<&Claims>,
) -> Result<Option<&'static str>, GatewayError> {
    if scopes.is_empty() {
        return Ok(None);
    }
    let passed = match claims {
        // As for roles: validation allows `scopes` only where a token is required.
        None => return Err(GatewayError::Token(TokenError::Missing)),
        Some(c) => match (&c.scope, c.role) {
            (Some(granted), _) => scopes.granted_by(granted).then_some(SCOPE_GRANTED),
            (None, Role::Student | Role::Admin) => Some(SCOPE_UNNARROWED),
            (None, Role::Service) => None,
        },
    };
    if let Some(why) = passed {
        Ok(Some(why))
    } else {
        Err(GatewayError::InsufficientScope {
            scopes: scopes.describe().into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(role: Role, scope: Option<&str>) -> Claims {
        Claims {
            sub: "s".into(),
            name: "n".into(),
            role,
            exp: 0,
            iat: 0,
            iss: "i".into(),
            aud: "a".into(),
            jti: "j".into(),
            email: None,
            scope: scope.map(str::to_owned),
        }
    }

    #[test]
    fn a_scope_claim_must_hold_one_of_the_routes_scopes_as_a_whole_word() {
        let scopes = ScopeSet::parse(&["billing".to_owned(), "billing:read".to_owned()]);
        let pass = |role, scope| check_scope(&scopes, Some(&claims(role, scope))).is_ok();
        assert!(pass(Role::Service, Some("billing:read")));
        assert!(pass(Role::Student, Some("profile billing")));
        assert!(!pass(Role::Service, Some("billing:write")));
        assert!(!pass(Role::Service, Some("billing:readx profile")));
        // A user token narrowed to other scopes is refused, whatever its role.
        assert!(!pass(Role::Admin, Some("profile")));
        // No scope claim: a user's first-party session passes, a machine client does not.
        assert!(pass(Role::Student, None));
        assert!(pass(Role::Admin, None));
        assert!(!pass(Role::Service, None));
    }

    #[test]
    fn a_route_without_scopes_checks_nothing() {
        let none = ScopeSet::default();
        assert!(check_scope(&none, Some(&claims(Role::Service, None))).is_ok());
        assert!(check_scope(&none, None).is_ok());
    }

    #[test]
    fn the_refusal_names_the_routes_scopes() {
        let scopes = ScopeSet::parse(&["profile".to_owned()]);
        let error =
            check_scope(&scopes, Some(&claims(Role::Service, Some("billing:read")))).unwrap_err();
        assert_eq!(error.reason(), "insufficient_scope");
        assert!(
            matches!(error, GatewayError::InsufficientScope { scopes } if &*scopes == "profile")
        );
    }
}
