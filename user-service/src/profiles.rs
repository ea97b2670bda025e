//! The profile store: every SQL statement of the service, behind small typed functions.
//!
//! The stored profile is the source of truth for what the API shows about a user. It is written
//! only by [`provision`] (from the auth-service's account store: at registration, seeding and
//! each login — see [`shared::provisioning`]), [`insert_if_absent`] (seeding) and [`rename`] (the
//! user's own name). A token's claims never write it: a forged or stale token saying
//! `"role":"ADMIN"` must not change what every admin sees in the user list.

use serde::Serialize;
use shared::provisioning::ProfileRecord;
use sqlx::SqlitePool;

/// A user's profile as the API shows it: `{"id","email","name","role"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Profile {
    /// The account's id (a token's `sub`).
    pub id: String,
    /// The account's e-mail (`null` only for rows stored before it was known).
    pub email: Option<String>,
    /// Display name: the account's, unless the user renamed themself.
    pub name: String,
    /// `STUDENT` or `ADMIN`, as the account store says.
    pub role: String,
}

/// Creates or updates the profile of account `id` from the account store's record: e-mail and
/// role always follow the account (a role changes only there); the name only while the user has
/// not chosen their own.
pub async fn provision(
    pool: &SqlitePool,
    id: &str,
    record: &ProfileRecord,
) -> Result<Profile, sqlx::Error> {
    sqlx::query_as(
        "INSERT INTO users (id, email, name, role) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (id) DO UPDATE SET
             email = excluded.email,
             role  = excluded.role,
             name  = CASE WHEN users.name_is_custom = 1 THEN users.name ELSE excluded.name END
         RETURNING id, email, name, role",
    )
    .bind(id)
    .bind(&record.email)
    .bind(&record.name)
    .bind(record.role.as_str())
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
