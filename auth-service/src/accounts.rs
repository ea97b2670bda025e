//! Accounts: registration, password login (with throttle and constant-time "unknown user"), and
//! the demo seed. Shared by `/auth/*` and the OAuth `password` grant.

use crate::{
    AppState,
    counters::LoginOutcome,
    error::AuthError,
    passwords::{self, MAX_PASSWORD_BYTES, MIN_PASSWORD_BYTES},
    store::{InsertUserError, Store, User},
};
use secrecy::{ExposeSecret, SecretString};
use shared::Role;

/// Longest e-mail address (RFC 5321 path limit).
pub const MAX_EMAIL_BYTES: usize = 254;
/// Longest display name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// Trims and lower-cases `raw`, and checks it looks like `local@domain.tld`. Deliverability is
/// not our business; the point is to refuse obvious garbage with a clear message.
pub fn normalize_email(raw: &str) -> Result<String, AuthError> {
    let email = raw.trim().to_lowercase();
    let invalid = |why: &str| AuthError::invalid("invalid_email", format!("`email` {why}"));
    if email.len() > MAX_EMAIL_BYTES {
        return Err(invalid("is longer than 254 bytes"));
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err(invalid("must look like name@example.edu"));
    };
    let bad_char = |c: char| c.is_whitespace() || c.is_control() || c == '@';
    let valid = !local.is_empty()
        && local.len() <= 64
        && !local.chars().any(bad_char)
        && domain.contains('.')
        && !domain.chars().any(bad_char)
        && domain.split('.').all(|label| !label.is_empty());
    if !valid {
        return Err(invalid("must look like name@example.edu"));
    }
    Ok(email)
}

fn check_name(raw: &str) -> Result<String, AuthError> {
    let name = raw.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(AuthError::invalid(
            "invalid_name",
            format!("`name` must be 1 to {MAX_NAME_CHARS} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(AuthError::invalid(
            "invalid_name",
            "`name` must not contain control characters",
        ));
    }
    Ok(name.to_owned())
}

/// Refuses a password longer than [`MAX_PASSWORD_BYTES`] *before* it reaches the hasher.
fn check_password_length(password: &SecretString) -> Result<(), AuthError> {
    if password.expose_secret().len() > MAX_PASSWORD_BYTES {
        return Err(AuthError::invalid(
            "password_too_long",
            format!("`password` must be at most {MAX_PASSWORD_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// Registers a STUDENT.
#[tracing::instrument(skip_all)]
pub async fn register(
    state: &AppState,
    email: &str,
    password: SecretString,
    name: &str,
) -> Result<User, AuthError> {
    let email = normalize_email(email)?;
    let name = check_name(name)?;
    check_password_length(&password)?;
    if password.expose_secret().len() < MIN_PASSWORD_BYTES {
        return Err(AuthError::invalid(
            "password_too_short",
            format!("`password` must be at least {MIN_PASSWORD_BYTES} bytes"),
        ));
    }
    let user = User {
        id: uuid::Uuid::now_v7().to_string(),
        email,
        name,
        role: Role::Student,
        password_hash: passwords::hash(password).await?,
    };
    match state
        .store
        .insert_user(&user, state.clock.unix_secs() as i64)
        .await
    {
        Ok(()) => Ok(user),
        Err(InsertUserError::EmailTaken) => Err(AuthError::EmailTaken),
        Err(InsertUserError::Database(e)) => Err(e.into()),
    }
}

/// Checks an e-mail and password. Unknown e-mail and wrong password give the same error after the
/// same work (one argon2 verification), and failures feed the per-account throttle.
#[tracing::instrument(skip_all)]
pub async fn authenticate(
    state: &AppState,
    email: &str,
    password: SecretString,
) -> Result<User, AuthError> {
    check_password_length(&password)?;
    let email = email.trim().to_lowercase();
    if email.len() > MAX_EMAIL_BYTES {
        return Err(AuthError::invalid(
            "invalid_email",
            "`email` is longer than 254 bytes",
        ));
    }
    let now = state.clock.unix_secs();
    if let Err(retry_after) = state.throttle.check(&email, now) {
        state.counters.login(LoginOutcome::Throttled);
        return Err(AuthError::TooManyAttempts { retry_after });
    }
    let user = state.store.user_by_email(&email).await?;
    // Verify against the dummy hash when there is no such user: same cost, same answer.
    let hash = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| state.settings.dummy_hash.clone());
    let matches = passwords::verify(password, hash).await?;
    match user {
        Some(user) if matches => {
            state.throttle.record_success(&email);
            state.counters.login(LoginOutcome::Success);
            Ok(user)
        }
        _ => {
            state
                .throttle
                .record_failure(&email, state.clock.unix_secs());
            state.counters.login(LoginOutcome::InvalidCredentials);
            Err(AuthError::InvalidCredentials)
        }
    }
}

/// Demo mode: creates the two demo accounts with their stable ids, unless they exist already
/// (so a restart against a persistent database does not fail or duplicate them).
pub async fn seed_demo(store: &Store, now: u64) -> anyhow::Result<()> {
    use shared::demo::{admin, student};
    let accounts = [
        (
            student::ID,
            student::EMAIL,
            student::NAME,
            student::PASSWORD,
            Role::Student,
        ),
        (
            admin::ID,
            admin::EMAIL,
            admin::NAME,
            admin::PASSWORD,
            Role::Admin,
        ),
    ];
    for (id, email, name, password, role) in accounts {
        if store.user_by_id(id).await?.is_some() {
            continue;
        }
        let user = User {
            id: id.to_owned(),
            email: email.to_owned(),
            name: name.to_owned(),
            role,
            password_hash: passwords::hash(SecretString::from(password)).await?,
        };
        match store.insert_user(&user, now as i64).await {
            // Someone registered the demo e-mail first; leave their account alone.
            Ok(()) | Err(InsertUserError::EmailTaken) => {}
            Err(InsertUserError::Database(e)) => return Err(e.into()),
        }
        tracing::info!(%email, %role, "seeded demo account");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_garbage_refused() {
        assert_eq!(
            normalize_email("  Ada@Example.EDU ").unwrap(),
            "ada@example.edu"
        );
        for bad in [
            "",
            "ada",
            "@example.edu",
            "ada@",
            "ada@localhost",
            "a b@x.y",
            "a@b@c.d",
            "a@x..y",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(normalize_email(&format!("{}@example.edu", "a".repeat(300))).is_err());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(check_name("  Ada  ").unwrap(), "Ada");
        assert!(check_name("   ").is_err());
        assert!(check_name(&"x".repeat(101)).is_err());
        assert!(check_name("a\u{0}b").is_err());
    }
}
