//! Authorization codes (RFC 6749 §4.1): issued when a user signs in at the authorization
//! endpoint, redeemed once at the token endpoint.
//!
//! A code is 256 random bits, stored only as its SHA-256 hash (like refresh tokens,
//! [`crate::refresh`]), and bound to what it was issued for: the client, the `redirect_uri` of
//! the request, and the PKCE challenge ([`crate::pkce`]). It lives [`CODE_TTL_SECS`] — long
//! enough for a redirect and one token request, short enough that a leaked one is soon useless.
//!
//! **Once.** Redemption marks the code used with a conditional UPDATE (only if still unused), so
//! two requests racing with one code cannot both win. A second redemption means the code leaked:
//! it is refused with `invalid_grant`, and what the first one issued — its refresh-token family
//! and the access tokens recorded with it — is revoked (RFC 6749 §4.1.2; the family's id is saved
//! on the code *before* the tokens are made). If the replay arrives while the first redemption is
//! still issuing, the first one sees the code revoked when it finishes and revokes its own tokens.

use crate::{
    AppState,
    error::AuthError,
    pkce,
    refresh::{self, hash_token, new_token},
    store::CodeRecord,
    tokens::TokenResponse,
};

/// How long a code can be redeemed (seconds).
pub const CODE_TTL_SECS: u64 = 60;

/// What a new code is issued for.
#[derive(Debug)]
pub struct NewCode<'a> {
    /// The client that asked.
    pub client_id: &'a str,
    /// The user who signed in.
    pub user_id: &'a str,
    /// The `redirect_uri` of the request, if it had one.
    pub redirect_uri: Option<&'a str>,
    /// The PKCE S256 challenge.
    pub code_challenge: &'a str,
    /// The scope granted.
    pub scope: Option<String>,
}

/// Makes and stores a code; returns it (the only time it exists in clear).
pub async fn issue(state: &AppState, new: NewCode<'_>) -> Result<String, AuthError> {
    let now = state.clock.unix_secs() as i64;
    let code = new_token();
    let record = CodeRecord {
        code_hash: hash_token(&code),
        client_id: new.client_id.to_owned(),
        user_id: new.user_id.to_owned(),
        redirect_uri: new.redirect_uri.map(str::to_owned),
        code_challenge: new.code_challenge.to_owned(),
        scope: new.scope,
        created_at: now,
        expires_at: now + CODE_TTL_SECS as i64,
        used_at: None,
        family_id: None,
        revoked_at: None,
    };
    // A used code is remembered as long as the refresh token it gave may live, so a late replay
    // still revokes it.
    let keep_used_until = now - state.settings.refresh_token_ttl_secs as i64;
    state.store.insert_code(&record, keep_used_until).await?;
    Ok(code)
}

/// A token request's `authorization_code` grant.
#[derive(Debug)]
pub struct Redemption<'a> {
    /// `code`.
    pub code: &'a str,
    /// The authenticated (or, for a public client, identified) client.
    pub client_id: &'a str,
    /// `redirect_uri`, if sent.
    pub redirect_uri: Option<&'a str>,
    /// `code_verifier`.
    pub code_verifier: &'a str,
}

/// Why a code was not redeemed. Every one is `invalid_grant` at the token endpoint.
#[derive(Debug, thiserror::Error)]
pub enum RedeemError {
    /// Not a code we issued (or one long forgotten).
    #[error("the authorization code is unknown")]
    Unknown,
    /// Older than [`CODE_TTL_SECS`].
    #[error("the authorization code has expired")]
    Expired,
    /// Redeemed before: what that redemption issued is now revoked.
    #[error("the authorization code was already used; the tokens issued with it are now revoked")]
    Reused,
    /// Issued to another client.
    #[error("the authorization code was issued to another client")]
    WrongClient,
    /// `redirect_uri` differs from the authorization request's.
    #[error("redirect_uri does not match the one of the authorization request")]
    WrongRedirectUri,
    /// `code_verifier` does not hash to the code's challenge.
    #[error("the code_verifier does not match the code_challenge")]
    WrongVerifier,
    /// Storage or signing failed.
    #[error(transparent)]
    Internal(#[from] AuthError),
}

impl From<sqlx::Error> for RedeemError {
    fn from(error: sqlx::Error) -> Self {
        RedeemError::Internal(error.into())
    }
}

/// Redeems a code for a token pair, once.
pub async fn redeem(
    state: &AppState,
    redemption: Redemption<'_>,
) -> Result<TokenResponse, RedeemError> {
    let now = state.clock.unix_secs() as i64;
    let code_hash = hash_token(redemption.code);
    let record = state
        .store
        .code_by_hash(&code_hash)
        .await?
        .ok_or(RedeemError::Unknown)?;
    if record.used_at.is_some() || record.revoked_at.is_some() {
        return Err(replayed(state, &code_hash, now).await);
    }
    // Checked before the code is spent: a request that fails them (another client, a guessed
    // verifier) must not burn the code of the client that really holds it.
    if record.client_id != redemption.client_id {
        return Err(RedeemError::WrongClient);
    }
    if record.expires_at <= now {
        return Err(RedeemError::Expired);
    }
    match (record.redirect_uri.as_deref(), redemption.redirect_uri) {
        (Some(expected), Some(sent)) if expected == sent => {}
        (None, None) => {}
        _ => return Err(RedeemError::WrongRedirectUri),
    }
    if !pkce::verify(redemption.code_verifier, &record.code_challenge) {
        return Err(RedeemError::WrongVerifier);
    }
    let family_id = uuid::Uuid::new_v4().to_string();
    if !state
        .store
        .mark_code_used(&code_hash, &family_id, now)
        .await?
    {
        // Another request redeemed it between our read and our write.
        return Err(replayed(state, &code_hash, now).await);
    }
    let user = state
        .store
        .user_by_id(&record.user_id)
        .await?
        .ok_or(RedeemError::Unknown)?;
    let pair = refresh::start_session_in(
        state,
        &user,
        &record.client_id,
        record.scope.clone(),
        family_id.clone(),
    )
    .await?;
    // A replay that arrived while we were issuing revoked the code before our tokens existed:
    // revoke them now.
    let revoked = state
        .store
        .code_by_hash(&code_hash)
        .await?
        .is_some_and(|r| r.revoked_at.is_some());
    if revoked {
        state.store.revoke_family(&family_id, now).await?;
        return Err(RedeemError::Reused);
    }
    tracing::info!(client_id = %record.client_id, user_id = %user.id, "authorization code redeemed");
    Ok(pair)
}

/// A second redemption: marks the code revoked, then revokes the family the first one started.
async fn replayed(state: &AppState, code_hash: &str, now: i64) -> RedeemError {
    let revoke = async {
        state.store.revoke_code(code_hash, now).await?;
        if let Some(family_id) = state
            .store
            .code_by_hash(code_hash)
            .await?
            .and_then(|r| r.family_id)
        {
            tracing::warn!(%family_id, "an authorization code was redeemed twice; revoking its tokens");
            state.store.revoke_family(&family_id, now).await?;
        }
        Ok::<_, sqlx::Error>(())
    };
    match revoke.await {
        Ok(()) => RedeemError::Reused,
        Err(e) => e.into(),
    }
}
