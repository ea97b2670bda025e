//! Password hashing with argon2id.
//!
//! argon2id is memory-hard: guessing passwords from a stolen hash needs ~19 MiB of RAM per guess,
//! which makes GPU farms expensive. The parameters are OWASP's minimum (m=19456 KiB, t=2, p=1).
//! Hashing takes tens of milliseconds of pure CPU, so it runs on tokio's blocking pool (never on
//! the async workers, where it would stall every other request) and carries the current tracing
//! span so its log lines keep the request id.
//!
//! Two defences live here too:
//! - a length cap, checked *before* hashing, so a huge "password" costs nothing;
//! - a dummy hash, verified when the e-mail is unknown, so "no such user" takes as long as
//!   "wrong password" and the response time does not reveal which accounts exist.

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version,
    password_hash::SaltString,
};
use secrecy::{ExposeSecret, SecretString};

/// Shortest password accepted at registration (bytes).
pub const MIN_PASSWORD_BYTES: usize = 8;
/// Longest password accepted anywhere (bytes). Checked before hashing.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// OWASP's minimum argon2id parameters: 19 MiB of memory, 2 passes, 1 lane.
const MEMORY_KIB: u32 = 19_456;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;

fn hasher() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .expect("the OWASP parameters are valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashing failed (the blocking pool went away, or argon2 refused its input).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// Hashes `password` into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`).
#[tracing::instrument(skip_all)]
pub async fn hash(password: SecretString) -> Result<String, HashError> {
    blocking(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        hasher()
            .hash_password(password.expose_secret().as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| HashError(e.to_string()))
    })
    .await?
}

/// True when `password` matches the PHC string `hash`. A malformed stored hash counts as no match
/// (and is logged), so a corrupt row locks one account instead of failing every login with a 500.
#[tracing::instrument(skip_all)]
pub async fn verify(password: SecretString, hash: String) -> Result<bool, HashError> {
    blocking(move || match PasswordHash::new(&hash) {
        // The parameters come from the stored string, so old hashes keep verifying after a
        // parameter upgrade.
        Ok(parsed) => hasher()
            .verify_password(password.expose_secret().as_bytes(), &parsed)
            .is_ok(),
        Err(error) => {
            tracing::error!(%error, "a stored password hash is not a valid PHC string");
            false
        }
    })
    .await
}

/// A hash of a random password, made once at start, to verify against when a login names an
/// unknown e-mail (same parameters, so the same cost).
pub async fn dummy_hash() -> Result<String, HashError> {
    let random = uuid::Uuid::new_v4().to_string();
    hash(SecretString::from(random)).await
}

/// Runs `work` on the blocking pool inside the caller's tracing span.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, HashError> {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(work))
        .await
        .map_err(|e| HashError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_with_at_least_the_owasp_parameters() {
        let hash = hash(SecretString::from("correct horse")).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "unexpected hash format: {hash}"
        );
        assert!(
            verify(SecretString::from("correct horse"), hash.clone())
                .await
                .unwrap()
        );
        assert!(
            !verify(SecretString::from("wrong horse"), hash)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn a_corrupt_stored_hash_is_no_match_not_an_error() {
        let ok = verify(SecretString::from("x"), "not-a-phc-string".into())
            .await
            .unwrap();
        assert!(!ok);
    }
}
