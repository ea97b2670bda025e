//! Authorization: may this caller use this route? (Authentication said *who*; this says *may*.)
//!
//! A route lists the roles it accepts (any of them). A valid token with another role gets 403
//! `role_required` with `WWW-Authenticate: Bearer error="insufficient_scope"` — not 401, because
//! logging in again would not help. Editing the role inside the token (the lecture's
//! `STUDENT` → `ADMIN`) never reaches this point: the signature check already refused it.

use crate::{error::GatewayError, routing::RoleSet};
use shared::{Claims, TokenError};

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
