//! Issued access tokens: signed by [`crate::tokens`], and *recorded* here by their `jti`.
//!
//! An access token is a stateless JWT: the gateway and the backends verify it alone, and nothing
//! can call it back before it expires (which is why it lives minutes). What the service can do is
//! remember, per `jti`, which client it went to and which session it belongs to. Then:
//!
//! - introspection (RFC 7662) answers `active: false` for a token whose session was ended —
//!   logout, refresh-token reuse, revocation — even before it expires;
//! - revocation (RFC 7009) can check that a client revokes only its own tokens.
//!
//! A verifier that wants revocation to bite must ask introspection (or a revocation list); one
//! that only checks signatures accepts the token until `exp`. That is the trade-off of stateless
//! tokens, in one sentence.

use crate::{
    AppState,
    error::AuthError,
    store::AccessRecord,
    tokens::{AccessToken, Subject},
};

/// Signs an access token for `subject`, issued to `client_id` (with the refresh-token family
/// `family_id`, if any), and records it.
pub async fn issue(
    state: &AppState,
    subject: &Subject,
    client_id: &str,
    family_id: Option<&str>,
    scope: Option<String>,
) -> Result<AccessToken, AuthError> {
    let now = state.clock.unix_secs();
    let access = state.tokens.issue(subject, scope.clone(), now)?;
    state
        .store
        .insert_access(&AccessRecord {
            jti: access.jti.clone(),
            client_id: client_id.to_owned(),
            subject: subject.id.clone(),
            family_id: family_id.map(str::to_owned),
            scope,
            issued_at: access.issued_at as i64,
            expires_at: (access.issued_at + access.expires_in) as i64,
            revoked_at: None,
        })
        .await?;
    Ok(access)
}
