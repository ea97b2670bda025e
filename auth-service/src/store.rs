//! Storage: users, refresh tokens, the records of issued access tokens and authorization codes,
//! in SQLite or Postgres through one set of queries.
//!
//! sqlx's `Any` driver picks the database from the URL (`sqlite:…` or `postgres:…`). The SQL is
//! kept portable — TEXT ids, BIGINT epoch seconds, `$1` placeholders (both databases accept them)
//! — so there is one set of queries and one folder of migrations (`migrations/`), embedded in the
//! binary by `sqlx::migrate!` and applied at start.

use shared::Role;
use shared::service_kit::db::{DatabaseConfig, is_in_memory};
use sqlx::{
    AnyPool, Row,
    any::{AnyPoolOptions, AnyRow},
};

/// A user as stored.
#[derive(Debug, Clone)]
pub struct User {
    /// Stable id (`sub` of their tokens).
    pub id: String,
    /// Lower-case e-mail.
    pub email: String,
    /// Display name.
    pub name: String,
    /// STUDENT or ADMIN.
    pub role: Role,
    /// argon2id PHC string.
    pub password_hash: String,
}

/// A refresh token as stored (its hash, never the token).
#[derive(Debug, Clone)]
pub struct RefreshRecord {
    /// Hex SHA-256 of the token.
    pub token_hash: String,
    /// The login session it belongs to.
    pub family_id: String,
    /// Whose it is.
    pub user_id: String,
    /// The client it was issued to: the only one that may redeem it.
    pub client_id: String,
    /// OAuth scope granted with it.
    pub scope: Option<String>,
    /// Epoch seconds.
    pub created_at: i64,
    /// Epoch seconds.
    pub expires_at: i64,
    /// When it was rotated, if it was.
    pub used_at: Option<i64>,
    /// When its family was revoked, if it was.
    pub revoked_at: Option<i64>,
}

/// An issued access token as recorded (its `jti`, never the token).
#[derive(Debug, Clone)]
pub struct AccessRecord {
    /// The token's `jti`.
    pub jti: String,
    /// The client it was issued to.
    pub client_id: String,
    /// Its `sub`.
    pub subject: String,
    /// The refresh-token family it was issued with (`None` for `client_credentials`).
    pub family_id: Option<String>,
    /// Its OAuth scope.
    pub scope: Option<String>,
    /// Epoch seconds.
    pub issued_at: i64,
    /// Epoch seconds.
    pub expires_at: i64,
    /// When it was revoked, if it was.
    pub revoked_at: Option<i64>,
}

/// An authorization code as stored (its hash, never the code).
#[derive(Debug, Clone)]
pub struct CodeRecord {
    /// Hex SHA-256 of the code.
    pub code_hash: String,
    /// The client it was issued to: the only one that may redeem it.
    pub client_id: String,
    /// The user who signed in.
    pub user_id: String,
    /// The `redirect_uri` of the authorization request, if it had one: the token request must
    /// repeat it (RFC 6749 §4.1.3).
    pub redirect_uri: Option<String>,
    /// The PKCE `code_challenge` (S256).
    pub code_challenge: String,
    /// The scope granted.
    pub scope: Option<String>,
    /// Epoch seconds.
    pub created_at: i64,
    /// Epoch seconds.
    pub expires_at: i64,
    /// When it was redeemed, if it was.
    pub used_at: Option<i64>,
    /// The refresh-token family its redemption started.
    pub family_id: Option<String>,
    /// When a second redemption revoked it, if one did.
    pub revoked_at: Option<i64>,
}

/// Inserting a user failed.
#[derive(Debug, thiserror::Error)]
pub enum InsertUserError {
    /// The e-mail is already registered (unique constraint).
    #[error("the e-mail is already registered")]
    EmailTaken,
    /// Anything else.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The database handle (cheap to clone: a pool).
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
}

impl Store {
    /// Opens the database `[database]` names (SQLite or Postgres) and applies the migrations.
    pub async fn connect(config: &DatabaseConfig) -> anyhow::Result<Store> {
        let url = config.url.as_str();
        sqlx::any::install_default_drivers();
        let options = if is_in_memory(url) {
            // Each connection to `sqlite::memory:` is its own empty database, so the pool must
            // hold exactly one connection, forever (closing it would drop every table).
            AnyPoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            AnyPoolOptions::new().max_connections(config.max_connections.max(1))
        };
        let pool = options
            .connect(url)
            .await
            .map_err(|e| anyhow::anyhow!("cannot open the database (key `database.url`): {e}"))?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|e| anyhow::anyhow!("database migrations failed: {e}"))?;
        Ok(Store { pool })
    }

    /// Readiness: the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Adds a user. A duplicate e-mail is [`InsertUserError::EmailTaken`].
    pub async fn insert_user(&self, user: &User, now: i64) -> Result<(), InsertUserError> {
        let result = sqlx::query(
            "INSERT INTO users (id, email, name, role, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&user.id)
        .bind(&user.email)
        .bind(&user.name)
        .bind(user.role.as_str())
        .bind(&user.password_hash)
        .bind(now)
        .execute(&self.pool)
        .await;
        match result {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(InsertUserError::EmailTaken)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Replaces a user's password hash (classroom mode: the instructor's admin password replaces
    /// the public demo one on an account seeded earlier). `false` when no user has this id.
    pub async fn set_password_hash(&self, id: &str, hash: &str) -> Result<bool, sqlx::Error> {
        let result = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() == 1)
    }

    /// The user with this (lower-case) e-mail.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>, sqlx::Error> {
        let row =
            sqlx::query("SELECT id, email, name, role, password_hash FROM users WHERE email = $1")
                .bind(email)
                .fetch_optional(&self.pool)
                .await?;
        row.map(user_from_row).transpose()
    }

    /// The user with this id.
    pub async fn user_by_id(&self, id: &str) -> Result<Option<User>, sqlx::Error> {
        let row =
            sqlx::query("SELECT id, email, name, role, password_hash FROM users WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(user_from_row).transpose()
    }

    /// Stores a new refresh token.
    pub async fn insert_refresh(&self, record: &RefreshRecord) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO refresh_tokens \
             (token_hash, family_id, user_id, client_id, scope, created_at, expires_at, used_at, \
             revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL)",
        )
        .bind(&record.token_hash)
        .bind(&record.family_id)
        .bind(&record.user_id)
        .bind(&record.client_id)
        .bind(record.scope.as_deref())
        .bind(record.created_at)
        .bind(record.expires_at)
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    /// The stored record for a token hash.
    pub async fn refresh_by_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<RefreshRecord>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT token_hash, family_id, user_id, client_id, scope, created_at, expires_at, \
             used_at, revoked_at FROM refresh_tokens WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(RefreshRecord {
                token_hash: row.try_get("token_hash")?,
                family_id: row.try_get("family_id")?,
                user_id: row.try_get("user_id")?,
                client_id: row.try_get("client_id")?,
                scope: row.try_get("scope")?,
                created_at: row.try_get("created_at")?,
                expires_at: row.try_get("expires_at")?,
                used_at: row.try_get("used_at")?,
                revoked_at: row.try_get("revoked_at")?,
            })
        })
        .transpose()
    }

    /// Marks a token used, only if it is still unused and unrevoked. Returns false when another
    /// request got there first: the conditional UPDATE makes rotation atomic, so two concurrent
    /// refreshes with one token cannot both succeed.
    pub async fn mark_refresh_used(&self, token_hash: &str, now: i64) -> Result<bool, sqlx::Error> {
        let result = sqlx::query(
            "UPDATE refresh_tokens SET used_at = $1 \
             WHERE token_hash = $2 AND used_at IS NULL AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(token_hash)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Revokes every token of a family (a logout, a detected reuse, a revocation): its refresh
    /// tokens, and the access tokens issued with them.
    pub async fn revoke_family(&self, family_id: &str, now: i64) -> Result<u64, sqlx::Error> {
        let result = sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = $1 \
             WHERE family_id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(family_id)
        .execute(&self.pool)
        .await?;
        sqlx::query(
            "UPDATE access_tokens SET revoked_at = $1 \
             WHERE family_id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(family_id)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }

    /// Records an issued access token, and forgets the records of tokens that have expired (no
    /// answer about them needs the record any more).
    pub async fn insert_access(&self, record: &AccessRecord) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM access_tokens WHERE expires_at < $1")
            .bind(record.issued_at)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO access_tokens \
             (jti, client_id, subject, family_id, scope, issued_at, expires_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)",
        )
        .bind(&record.jti)
        .bind(&record.client_id)
        .bind(&record.subject)
        .bind(record.family_id.as_deref())
        .bind(record.scope.as_deref())
        .bind(record.issued_at)
        .bind(record.expires_at)
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    /// The record of the access token with this `jti`.
    pub async fn access_by_jti(&self, jti: &str) -> Result<Option<AccessRecord>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT jti, client_id, subject, family_id, scope, issued_at, expires_at, revoked_at \
             FROM access_tokens WHERE jti = $1",
        )
        .bind(jti)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(AccessRecord {
                jti: row.try_get("jti")?,
                client_id: row.try_get("client_id")?,
                subject: row.try_get("subject")?,
                family_id: row.try_get("family_id")?,
                scope: row.try_get("scope")?,
                issued_at: row.try_get("issued_at")?,
                expires_at: row.try_get("expires_at")?,
                revoked_at: row.try_get("revoked_at")?,
            })
        })
        .transpose()
    }

    /// Revokes one access token.
    pub async fn revoke_access(&self, jti: &str, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE access_tokens SET revoked_at = $1 WHERE jti = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(jti)
        .execute(&self.pool)
        .await
        .map(|_| ())
    }
}

impl Store {
    /// Stores a new authorization code, and forgets codes nobody can use any more: unused ones
    /// past their expiry, and used ones older than `keep_used_until` (kept until then so that a
    /// replay is recognised and answered by revoking what the code gave).
    pub async fn insert_code(
        &self,
        record: &CodeRecord,
        keep_used_until: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "DELETE FROM authorization_codes \
             WHERE (used_at IS NULL AND expires_at < $1) OR expires_at < $2",
        )
        .bind(record.created_at)
        .bind(keep_used_until)
        .execute(&self.pool)
        .await?;
        sqlx::query(
            "INSERT INTO authorization_codes \
             (code_hash, client_id, user_id, redirect_uri, code_challenge, scope, created_at, \
             expires_at, used_at, family_id, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL, NULL)",
        )
        .bind(&record.code_hash)
        .bind(&record.client_id)
        .bind(&record.user_id)
        .bind(record.redirect_uri.as_deref())
        .bind(&record.code_challenge)
        .bind(record.scope.as_deref())
        .bind(record.created_at)
        .bind(record.expires_at)
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    /// The stored record for a code hash.
    pub async fn code_by_hash(&self, code_hash: &str) -> Result<Option<CodeRecord>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT code_hash, client_id, user_id, redirect_uri, code_challenge, scope, \
             created_at, expires_at, used_at, family_id, revoked_at \
             FROM authorization_codes WHERE code_hash = $1",
        )
        .bind(code_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(CodeRecord {
                code_hash: row.try_get("code_hash")?,
                client_id: row.try_get("client_id")?,
                user_id: row.try_get("user_id")?,
                redirect_uri: row.try_get("redirect_uri")?,
                code_challenge: row.try_get("code_challenge")?,
                scope: row.try_get("scope")?,
                created_at: row.try_get("created_at")?,
                expires_at: row.try_get("expires_at")?,
                used_at: row.try_get("used_at")?,
                family_id: row.try_get("family_id")?,
                revoked_at: row.try_get("revoked_at")?,
            })
        })
        .transpose()
    }

    /// Redeems a code: marks it used and records the family its tokens will belong to, only if
    /// it is unused and unrevoked. False when another request got there first — the conditional
    /// UPDATE is what makes redemption happen at most once, even for two requests at once.
    pub async fn mark_code_used(
        &self,
        code_hash: &str,
        family_id: &str,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let result = sqlx::query(
            "UPDATE authorization_codes SET used_at = $1, family_id = $2 \
             WHERE code_hash = $3 AND used_at IS NULL AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(family_id)
        .bind(code_hash)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Marks a code revoked (a second redemption was attempted).
    pub async fn revoke_code(&self, code_hash: &str, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE authorization_codes SET revoked_at = $1 \
             WHERE code_hash = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(code_hash)
        .execute(&self.pool)
        .await
        .map(|_| ())
    }
}

fn user_from_row(row: AnyRow) -> Result<User, sqlx::Error> {
    let role: String = row.try_get("role")?;
    Ok(User {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        role: Role::parse(&role).ok_or_else(|| {
            sqlx::Error::Decode(format!("unknown role {role:?} in users.role").into())
        })?,
        password_hash: row.try_get("password_hash")?,
    })
}
