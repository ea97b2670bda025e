//! Accounts: registration, password login (with throttle, device cookie and constant-time
//! "unknown user"), and the demo seed. Shared by `/auth/*` and the OAuth `password` grant.
//!
//! # Registration does not tell whether an e-mail is taken
//!
//! Answering "this e-mail already exists" lets anyone test a list of addresses and learn who has
//! an account (an *enumeration oracle*). So [`register`] answers the same for a new and a taken
//! e-mail — the caller sends 201 with the same body — after the same work: the argon2 hash is
//! always computed, before the store is asked. A real system would tell the owner the outcome by
//! e-mail ("welcome" or "someone tried to register with your address"); the demo has no mail, so
//! it logs "an account with this e-mail already exists" at info (the e-mail, never the password).
//! The gateway also rate-limits registration per address (`register-ip`), so a script cannot
//! use it to hash for free or to probe at speed.
//!
//! # Login: per-account throttle, and the device cookie
//!
//! [`authenticate`] is the one password check of every entry point. Failures lock the account
//! ([`crate::throttle`]); [`authenticate_with_device`] additionally takes the request's headers,
//! and a valid device cookie ([`crate::device`]) for that account lets its browser through the
//! account's lock, throttled per device instead.

use crate::{
    AppState,
    counters::LoginOutcome,
    error::AuthError,
    passwords::{self, MAX_PASSWORD_BYTES, MIN_PASSWORD_BYTES},
    store::{InsertUserError, Store, User},
};
use http::{HeaderMap, HeaderValue};
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

/// What [`register`] did. The caller answers both the same way (see the module docs); the
/// difference is only for the log and the tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registration {
    /// A new STUDENT account was stored.
    Created {
        /// The new account's id.
        user_id: String,
    },
    /// The e-mail already had an account; nothing was stored.
    AlreadyExists,
}

/// Registers a STUDENT, or does the same work and stores nothing when the e-mail is taken.
/// Returns the normalised e-mail (what the response shows) and what happened.
#[tracing::instrument(skip_all)]
pub async fn register(
    state: &AppState,
    email: &str,
    password: SecretString,
    name: &str,
) -> Result<(String, Registration), AuthError> {
    let email = normalize_email(email)?;
    let name = check_name(name)?;
    check_password_length(&password)?;
    if password.expose_secret().len() < MIN_PASSWORD_BYTES {
        return Err(AuthError::invalid(
            "password_too_short",
            format!("`password` must be at least {MIN_PASSWORD_BYTES} bytes"),
        ));
    }
    // Hash first, whatever the store will say: a taken e-mail costs the same argon2 time as a new
    // one, so the response time does not tell them apart either.
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
        Ok(()) => {
            // The profile exists before the 201, so the new user's first `GET /api/users/me`
            // finds it (a user-service that is down is logged; the first login retries).
            state
                .provisioner
                .provision(&user, state.clock.unix_secs())
                .await;
            Ok((user.email, Registration::Created { user_id: user.id }))
        }
        Err(InsertUserError::EmailTaken) => Ok((user.email, Registration::AlreadyExists)),
        Err(InsertUserError::Database(e)) => Err(e.into()),
    }
}

/// Checks an e-mail and password, with no device cookie (the OAuth `password` grant: its
/// clients are programs, not browsers). See [`authenticate_with_device`].
pub async fn authenticate(
    state: &AppState,
    email: &str,
    password: SecretString,
) -> Result<User, AuthError> {
    authenticate_with_device(state, email, password, &HeaderMap::new())
        .await
        .map(|login| login.user)
}

/// A successful password login.
#[derive(Debug)]
pub struct Login {
    /// The account.
    pub user: User,
    /// A fresh device cookie for the browser that logged in (`Set-Cookie` value): send it back.
    pub device_cookie: HeaderValue,
}

/// Checks an e-mail and password; `headers` are the request's, searched for a device cookie for
/// this account. Unknown e-mail and wrong password give the same error after the same work (one
/// argon2 verification).
///
/// Without a valid device cookie, the per-account throttle applies and failures feed it. With
/// one, the account's lock is not consulted: the device's own throttle applies and failures feed
/// it (so a device cannot be used to brute-force), and a success clears only the device's record.
/// Every success returns a new device cookie ([`Login::device_cookie`]).
#[tracing::instrument(skip_all)]
pub async fn authenticate_with_device(
    state: &AppState,
    email: &str,
    password: SecretString,
    headers: &HeaderMap,
) -> Result<Login, AuthError> {
    check_password_length(&password)?;
    let email = email.trim().to_lowercase();
    if email.len() > MAX_EMAIL_BYTES {
        return Err(AuthError::invalid(
            "invalid_email",
            "`email` is longer than 254 bytes",
        ));
    }
    let now = state.clock.unix_secs();
    let device = state.devices.recognise(headers, &email, now);
    // The throttle that judges this attempt: the device's, or the account's.
    let (throttle, key) = match &device {
        Some(device) => (state.devices.throttle(), device.id()),
        None => (&*state.throttle, email.as_str()),
    };
    if let Err(retry_after) = throttle.check(key, now).await {
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
    let now = state.clock.unix_secs();
    match user {
        Some(user) if matches => {
            throttle.record_success(key).await;
            state.counters.login(LoginOutcome::Success);
            tracing::debug!(with_device_cookie = device.is_some(), "password accepted");
            // Bring the profile at the user-service in line with the account (see
            // `provisioning`): a failure there is logged and does not fail the login.
            state.provisioner.provision(&user, now).await;
            Ok(Login {
                device_cookie: state.devices.issue(&email, now),
                user,
            })
        }
        _ => {
            throttle.record_failure(key, now).await;
            state.counters.login(LoginOutcome::InvalidCredentials);
            Err(AuthError::InvalidCredentials)
        }
    }
}

/// Demo mode: creates the two demo accounts with their stable ids, unless they exist already
/// (so a restart against a persistent database does not fail or duplicate them). In classroom
/// mode, also the forty classroom accounts, and the admin's password is the instructor's
/// (`classroom.admin_password`) — set again on an admin account seeded earlier with the public
/// one, so a persistent database cannot keep `admin123` alive.
pub async fn seed_demo(
    store: &Store,
    now: u64,
    classroom: &crate::config::ClassroomConfig,
) -> anyhow::Result<()> {
    use shared::demo::{admin, student};
    let admin_password = match (classroom.admin_password(), classroom.enabled) {
        (Some(password), true) => password.clone(),
        _ => SecretString::from(admin::PASSWORD),
    };
    let mut accounts = vec![
        (
            student::ID.to_owned(),
            student::EMAIL.to_owned(),
            student::NAME.to_owned(),
            SecretString::from(student::PASSWORD),
            Role::Student,
        ),
        (
            admin::ID.to_owned(),
            admin::EMAIL.to_owned(),
            admin::NAME.to_owned(),
            admin_password.clone(),
            Role::Admin,
        ),
    ];
    if classroom.enabled {
        accounts.extend(shared::demo::classroom::students().map(|s| {
            (
                s.id,
                s.email,
                s.name,
                SecretString::from(s.password),
                Role::Student,
            )
        }));
    }
    // Hash them all at once: 42 argon2 hashes one after another would hold up the start.
    let hashed = futures::future::try_join_all(accounts.into_iter().map(
        |(id, email, name, password, role)| async move {
            if store.user_by_id(&id).await?.is_some() {
                return anyhow::Ok(None);
            }
            let password_hash = passwords::hash(password).await?;
            Ok(Some(User {
                id,
                email,
                name,
                role,
                password_hash,
            }))
        },
    ))
    .await?;
    for user in hashed.into_iter().flatten() {
        match store.insert_user(&user, now as i64).await {
            // Someone registered the demo e-mail first; leave their account alone.
            Ok(()) | Err(InsertUserError::EmailTaken) => {}
            Err(InsertUserError::Database(e)) => return Err(e.into()),
        }
        tracing::debug!(email = %user.email, role = %user.role, "seeded demo account");
    }
    if classroom.enabled && classroom.admin_password().is_some() {
        let hash = passwords::hash(admin_password).await?;
        store.set_password_hash(admin::ID, &hash).await?;
        tracing::info!("classroom mode: the admin account uses the instructor's password");
    }
    tracing::info!(
        classroom = classroom.enabled,
        "demo accounts seeded (those not there yet)"
    );
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
