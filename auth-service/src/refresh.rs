//! Refresh tokens: long-lived, opaque, stored only as a hash, and rotated on every use.
//!
//! - **Opaque**: 256 random bits, base64url. Unlike a JWT it carries nothing and proves nothing
//!   by itself; only our database gives it meaning, so it can be revoked.
//! - **Hashed at rest**: the table holds SHA-256(token). Someone who reads the table (a backup, an
//!   SQL injection elsewhere) cannot use what they read. A fast hash is right here, unlike for
//!   passwords: the token is already 256 random bits, so there is nothing to brute-force.
//! - **Rotation with reuse detection** (OAuth 2.0 Security BCP, RFC 9700 §4.14.2): each refresh
//!   marks the presented token used and returns a new one in the same *family*. If a used token is
//!   presented again, two parties hold copies — the user and a thief — and we cannot tell which is
//!   which, so the whole family is revoked and both must log in again.
//! - **Bound to its client** (RFC 6749 §6, §10.4): each token remembers the client it was issued
//!   to ([`crate::clients`]; `/auth/login` sessions belong to the first-party client). Presented
//!   by any other client, it proves a leak just as a reuse does: the answer is the same refusal
//!   and the family is revoked.

use crate::{
    AppState, access,
    error::AuthError,
    store::{RefreshRecord, User},
    tokens::{Subject, TokenResponse},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A fresh opaque token: 32 random bytes (256 bits) from the OS, base64url without padding.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database stores: hex SHA-256 of the token.
pub fn hash_token(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The access token's subject for a stored user.
pub fn subject_of(user: &User) -> Subject {
    Subject {
        id: user.id.clone(),
        name: user.name.clone(),
        role: user.role,
        email: Some(user.email.clone()),
    }
}

/// Starts a new session for `user` (a login) through the client `client_id`: a new family, an
/// access token and a refresh token bound to that client.
pub async fn start_session(
    state: &AppState,
    user: &User,
    client_id: &str,
    scope: Option<String>,
) -> Result<TokenResponse, AuthError> {
    let family_id = uuid::Uuid::new_v4().to_string();
    issue_pair(state, user, client_id, scope, family_id).await
}

/// [`start_session`] in a family the caller named: a redeemed authorization code records its
/// family before the tokens exist, so that a replay of the code can revoke them
/// ([`crate::codes`]).
pub async fn start_session_in(
    state: &AppState,
    user: &User,
    client_id: &str,
    scope: Option<String>,
    family_id: String,
) -> Result<TokenResponse, AuthError> {
    issue_pair(state, user, client_id, scope, family_id).await
}

async fn issue_pair(
    state: &AppState,
    user: &User,
    client_id: &str,
    scope: Option<String>,
    family_id: String,
) -> Result<TokenResponse, AuthError> {
    let now = state.clock.unix_secs();
    let refresh_token = new_token();
    state
        .store
        .insert_refresh(&RefreshRecord {
            token_hash: hash_token(&refresh_token),
            family_id: family_id.clone(),
            user_id: user.id.clone(),
            client_id: client_id.to_owned(),
            scope: scope.clone(),
            created_at: now as i64,
            expires_at: (now + state.settings.refresh_token_ttl_secs) as i64,
            used_at: None,
            revoked_at: None,
        })
        .await?;
    let access = access::issue(
        state,
        &subject_of(user),
        client_id,
        Some(&family_id),
        scope.clone(),
    )
    .await?;
    Ok(TokenResponse::new(access, Some(refresh_token), scope))
}

/// Exchanges a refresh token for a new pair (rotation), for the client `client_id` (already
/// authenticated or identified by the caller). `narrow_scope` is the OAuth `scope` parameter: it
/// must be checked by the caller against the original scope, which is passed to it.
pub async fn rotate(
    state: &AppState,
    presented: &str,
    client_id: &str,
    narrow_scope: impl FnOnce(Option<String>) -> Result<Option<String>, AuthError>,
) -> Result<TokenResponse, AuthError> {
    let now = state.clock.unix_secs() as i64;
    let token_hash = hash_token(presented);
    let record = state
        .store
        .refresh_by_hash(&token_hash)
        .await?
        .ok_or(AuthError::RefreshUnknown)?;
    if record.client_id != client_id {
        tracing::warn!(
            family_id = %record.family_id,
            issued_to = %record.client_id,
            presented_by = %client_id,
            "a refresh token was presented by another client; revoking its family"
        );
        state.store.revoke_family(&record.family_id, now).await?;
        return Err(AuthError::RefreshWrongClient);
    }
    if record.used_at.is_some() {
        return Err(reuse_detected(state, &record, now).await);
    }
    if record.revoked_at.is_some() {
        return Err(AuthError::RefreshRevoked);
    }
    if record.expires_at <= now {
        return Err(AuthError::RefreshExpired);
    }
    let scope = narrow_scope(record.scope.clone())?;
    if !state.store.mark_refresh_used(&token_hash, now).await? {
        // Another request rotated (or revoked) it between our read and our write.
        return Err(reuse_detected(state, &record, now).await);
    }
    let user = state
        .store
        .user_by_id(&record.user_id)
        .await?
        .ok_or(AuthError::RefreshRevoked)?;
    issue_pair(state, &user, client_id, scope, record.family_id).await
}

async fn reuse_detected(state: &AppState, record: &RefreshRecord, now: i64) -> AuthError {
    state.counters.refresh_reuse();
    tracing::warn!(
        family_id = %record.family_id,
        user_id = %record.user_id,
        "a rotated refresh token was presented again; revoking its family"
    );
    match state.store.revoke_family(&record.family_id, now).await {
        Ok(_) => AuthError::RefreshReused,
        Err(e) => e.into(),
    }
}

/// Logout: revokes the family of `presented` if it belongs to `owner`. An unknown token is not an
/// error (logging out twice is fine).
pub async fn revoke(state: &AppState, presented: &str, owner: &str) -> Result<(), AuthError> {
    let now = state.clock.unix_secs() as i64;
    let Some(record) = state.store.refresh_by_hash(&hash_token(presented)).await? else {
        return Ok(());
    };
    if record.user_id != owner {
        return Err(AuthError::NotYourToken);
    }
    state.store.revoke_family(&record.family_id, now).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_base64url_and_distinct() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        let bytes = URL_SAFE_NO_PAD.decode(&a).unwrap();
        assert_eq!(bytes.len(), 32);
    }

    #[test]
    fn the_stored_hash_is_hex_sha256() {
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
