//! The throttle's records in Redis, so that every auth-service replica counts the same failures:
//! an attacker spreading guesses over N replicas gets no more than one replica would allow.
//!
//! A record is a Redis hash per key (`failures`, `last`, `locked`), changed by one Lua script
//! per failure, so two replicas recording at once cannot lose a count (Redis runs a script with
//! nothing interleaved). The times are the service's clock (`now` from the caller, not Redis's
//! `TIME`), the same clock the in-memory records use, so both behave alike and tests can move
//! time. Each record expires once it can no longer lock anyone. Keys are SHA-256 of the e-mail
//! or client id: Redis never holds an address.
//!
//! Every call is bounded by `[redis] timeout_ms`; the caller falls back to its own memory when
//! Redis does not answer ([`super::Throttle`]).

use crate::config::{RedisConfig, ThrottleConfig};
use redis::{
    Script,
    aio::{ConnectionManager, ConnectionManagerConfig},
};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use std::time::Duration;

/// One failure: KEYS[1] the record; ARGV now, window, max_failures, base_lock, max_lock (the
/// same rule as the in-memory record, `super::Throttle::record_failure`).
const RECORD_FAILURE_LUA: &str = r"
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local max_failures = tonumber(ARGV[3])
local base_lock = tonumber(ARGV[4])
local max_lock = tonumber(ARGV[5])
local r = redis.call('HMGET', KEYS[1], 'failures', 'last', 'locked')
local failures = tonumber(r[1]) or 0
local last = tonumber(r[2]) or now
local locked = tonumber(r[3]) or 0
if now - last > window then failures = 0 end
failures = failures + 1
if failures >= max_failures then
  local doublings = math.min(failures - max_failures, 32)
  locked = now + math.floor(math.min(base_lock * 2 ^ doublings, max_lock))
end
redis.call('HSET', KEYS[1], 'failures', failures, 'last', now, 'locked', locked)
redis.call('EXPIRE', KEYS[1], math.max(window, locked - now) + 1)
return failures
";

/// The connection, the script and the key prefix.
pub struct RedisRecords {
    connection: ConnectionManager,
    script: Script,
    timeout: Duration,
    prefix: String,
}

impl std::fmt::Debug for RedisRecords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No URL: it may hold a password.
        f.debug_struct("RedisRecords")
            .field("timeout", &self.timeout)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// Why Redis gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum RedisFailure {
    /// No answer within `timeout_ms`.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The connection or the command failed.
    #[error(transparent)]
    Redis(#[from] redis::RedisError),
}

impl RedisRecords {
    /// Prepares the connection without connecting: the service starts while Redis is down
    /// (the throttle counts in memory meanwhile) and connects on first use. `namespace` keeps
    /// the accounts' records apart from the clients'.
    pub fn new(config: &RedisConfig, namespace: &str) -> anyhow::Result<RedisRecords> {
        let client = redis::Client::open(config.url.expose_secret())
            .map_err(|e| anyhow::anyhow!("[redis] url: {e}"))?;
        let timeout = Duration::from_millis(config.timeout_ms);
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let connection = ConnectionManager::new_lazy_with_config(client, manager_config)
            .map_err(|e| anyhow::anyhow!("[redis]: {e}"))?;
        Ok(RedisRecords {
            connection,
            script: Script::new(RECORD_FAILURE_LUA),
            timeout,
            prefix: format!("{}{namespace}:", config.key_prefix),
        })
    }

    fn key(&self, key: &str) -> String {
        let digest = Sha256::digest(key.as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("{}{hex}", self.prefix)
    }

    async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, redis::RedisError>>,
    ) -> Result<T, RedisFailure> {
        match tokio::time::timeout(self.timeout, call).await {
            Err(_) => Err(RedisFailure::Timeout(self.timeout)),
            Ok(result) => Ok(result?),
        }
    }

    /// When `key`'s lock ends (epoch seconds; 0 when it has none).
    pub async fn locked_until(&self, key: &str) -> Result<u64, RedisFailure> {
        let mut connection = self.connection.clone();
        let key = self.key(key);
        let locked: Option<u64> = self
            .bounded(
                redis::cmd("HGET")
                    .arg(key)
                    .arg("locked")
                    .query_async(&mut connection),
            )
            .await?;
        Ok(locked.unwrap_or(0))
    }

    /// Records a failure on `key` at `now`.
    pub async fn record_failure(
        &self,
        key: &str,
        now: u64,
        config: &ThrottleConfig,
    ) -> Result<(), RedisFailure> {
        let mut connection = self.connection.clone();
        let mut invocation = self.script.prepare_invoke();
        invocation
            .key(self.key(key))
            .arg(now)
            .arg(config.window_secs)
            .arg(config.max_failures)
            .arg(config.base_lock_secs)
            .arg(config.max_lock_secs);
        let _: u64 = self
            .bounded(invocation.invoke_async(&mut connection))
            .await?;
        Ok(())
    }

    /// Forgets `key`'s record (a success).
    pub async fn clear(&self, key: &str) -> Result<(), RedisFailure> {
        let mut connection = self.connection.clone();
        let key = self.key(key);
        let _: u64 = self
            .bounded(redis::cmd("DEL").arg(key).query_async(&mut connection))
            .await?;
        Ok(())
    }
}
