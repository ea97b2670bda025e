//! The `[database]` section, and opening a backend's SQLite store.
//!
//! An in-memory SQLite database lives exactly as long as a connection to it is open, and each
//! connection to `sqlite::memory:` would otherwise be a database of its own. So an in-memory store
//! gets a pool of exactly **one** connection that never expires: every query sees the same data,
//! and the data lives as long as the pool. (The alternative, `mode=memory&cache=shared` with
//! several connections, brings SQLite's table-level locking errors under concurrent writes.)
//! A file database gets a normal pool, WAL journaling and a busy timeout so readers and the
//! writer do not trip over each other.

use serde::Deserialize;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use std::{str::FromStr, time::Duration};

/// The `[database]` section every service has.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite::memory:` (the default: nothing touches the disk) or `sqlite://path/to/file.db`;
    /// the auth-service, whose store speaks sqlx `Any`, also takes `postgres://user@host/db`.
    pub url: String,
    /// Connections in the pool for a file or Postgres database (an in-memory one always has
    /// exactly one).
    pub max_connections: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: "sqlite::memory:".to_owned(),
            max_connections: 5,
        }
    }
}

/// True for URLs that name an in-memory database.
pub fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// Opens the pool `config` describes. Migrations are the caller's (each service embeds its own).
pub async fn connect(config: &DatabaseConfig) -> Result<SqlitePool, sqlx::Error> {
    let options = SqliteConnectOptions::from_str(&config.url)?
        .create_if_missing(true)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5));
    let pool_options = SqlitePoolOptions::new().acquire_timeout(Duration::from_secs(5));
    if is_in_memory(&config.url) {
        pool_options
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
    } else {
        pool_options
            .max_connections(config.max_connections.max(1))
            .connect_with(options.journal_mode(SqliteJournalMode::Wal))
            .await
    }
}

/// Opens the pool `config` describes and applies a service's migrations (each service embeds its
/// own with `sqlx::migrate!`).
pub async fn open(
    config: &DatabaseConfig,
    migrations: &Migrator,
) -> Result<SqlitePool, sqlx::Error> {
    let pool = connect(config).await?;
    migrations.run(&pool).await?;
    Ok(pool)
}

/// One cheap round trip, for readiness probes.
pub async fn ping(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(pool).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_in_memory_pool_keeps_its_data_across_queries() {
        let pool = connect(&DatabaseConfig::default()).await.unwrap();
        sqlx::query("CREATE TABLE t (x INTEGER)")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO t VALUES (1)")
            .execute(&pool)
            .await
            .unwrap();
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(count, 1);
    }

    #[tokio::test]
    async fn two_in_memory_pools_are_two_databases() {
        let a = connect(&DatabaseConfig::default()).await.unwrap();
        let b = connect(&DatabaseConfig::default()).await.unwrap();
        sqlx::query("CREATE TABLE only_in_a (x INTEGER)")
            .execute(&a)
            .await
            .unwrap();
        assert!(
            sqlx::query("SELECT * FROM only_in_a")
                .execute(&b)
                .await
                .is_err()
        );
    }
}
