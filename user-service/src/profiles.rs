//! The profile store: every SQL statement of the service, behind small typed functions.
//!
//! Profiles are created and kept in sync *from the verified token*: the auth-service owns
//! registration, and this service learns about a user the first time their token arrives. No
//! call between the two services is needed, so either can be down without breaking the other.

use serde::Serialize;
use shared::Claims;
use sqlx::SqlitePool;

/// A user's profile as the API shows it: `{"id","email","name","role"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Profile {
    /// The token's `sub`.
    pub id: String,
    /// `null` until a token carries an `email` claim.
    pub email: Option<String>,
    /// Display name: the token's, unless the user renamed themself.
    pub name: String,
    /// `STUDENT`, `ADMIN` or `SERVICE`, always the latest token's.
    pub role: String,
}

/// Creates the caller's profile on first sight, or brings it in line with their current token:
/// the role and e-mail always follow the token (an admin promoted at the auth-service is an admin
/// here on their next request), the name only while the user has not chosen their own.
///
/// This writes on every call. For a stand-in backend that is the simple, obviously-correct
/// choice; a busy service would compare first and write only when something changed.
pub async fn sync_from_claims(pool: &SqlitePool, claims: &Claims) -> Result<Profile, sqlx::Error> {
    sqlx::query_as(
        "INSERT INTO users (id, email, name, role) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (id) DO UPDATE SET
             email = COALESCE(excluded.email, users.email),
             role  = excluded.role,
             name  = CASE WHEN users.name_is_custom = 1 THEN users.name ELSE excluded.name END
         RETURNING id, email, name, role",
    )
    .bind(&claims.sub)
    .bind(&claims.email)
    .bind(&claims.name)
    .bind(claims.role.as_str())
    .fetch_one(pool)
    .await
}

/// The profile with this id, if any.
pub async fn find(pool: &SqlitePool, id: &str) -> Result<Option<Profile>, sqlx::Error> {
    sqlx::query_as("SELECT id, email, name, role FROM users WHERE id = ?1")
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// Every profile, ordered by id so the listing is stable.
pub async fn list(pool: &SqlitePool) -> Result<Vec<Profile>, sqlx::Error> {
    sqlx::query_as("SELECT id, email, name, role FROM users ORDER BY id")
        .fetch_all(pool)
        .await
}

/// Sets a user's own name and marks it as chosen, so later tokens no longer overwrite it.
pub async fn rename(
    pool: &SqlitePool,
    id: &str,
    name: &str,
) -> Result<Option<Profile>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE users SET name = ?2, name_is_custom = 1 WHERE id = ?1
         RETURNING id, email, name, role",
    )
    .bind(id)
    .bind(name)
    .fetch_optional(pool)
    .await
}

/// Inserts a profile unless one with its id exists (seeding is safe to repeat on a file database).
pub async fn insert_if_absent(pool: &SqlitePool, profile: &Profile) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT OR IGNORE INTO users (id, email, name, role) VALUES (?1, ?2, ?3, ?4)")
        .bind(&profile.id)
        .bind(&profile.email)
        .bind(&profile.name)
        .bind(&profile.role)
        .execute(pool)
        .await
        .map(|_| ())
}
