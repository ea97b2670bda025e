//! Role checks. Authentication (is the token genuine?) is [`crate::Authenticated`]'s job;
//! authorisation (may this caller do this?) is decided here, from the *verified* claims — never
//! from the `X-User-Role` header the gateway forwards, which anyone reaching the service directly
//! could forge.

use crate::{Claims, Problem, Role};

/// `Ok` for an ADMIN; otherwise 403 `role_required` with `WWW-Authenticate: Bearer
/// error="insufficient_scope"` (the token is fine, the role is not enough).
pub fn require_admin(claims: &Claims) -> Result<(), Problem> {
    if claims.role == Role::Admin {
        Ok(())
    } else {
        Err(Problem::forbidden(
            "role_required",
            "this endpoint needs the ADMIN role",
        ))
    }
}
