//! The Redis backend: the same GCRA, run inside Redis so every replica shares one counter.
//!
//! One check is one round trip: `EVALSHA` of the script below (the `redis` crate's `Script`
//! falls back to `EVAL` once if the server does not know the script yet, e.g. after a restart).
//! The script reads the TAT, decides and writes the new TAT atomically — Redis runs a script
//! with nothing interleaved, so two replicas can never both spend the last request.
//!
//! "Now" is the Redis server's `TIME`, not the gateway's clock: replicas whose clocks disagree
//! by a second would otherwise hand out a second's worth of extra requests to one another.
//! (Reading `TIME` before a write is allowed: Redis replicates a script's effects, not the
//! script, since 5.0.) Keys expire once their bucket is full again, so idle keys cost nothing.
//!
//! Redis can be down. Each check is bounded by `[redis] timeout_ms`; on an error or timeout the
//! caller applies the policy's `on_redis_error` (fail open or closed), counts it, and logs it
//! at most once per [`LOG_EVERY`] so an outage does not flood the log.

use super::gcra::{Gcra, Outcome};
use crate::config::RedisConfig;
use redis::{
    Script,
    aio::{ConnectionManager, ConnectionManagerConfig},
};
use secrecy::ExposeSecret;
use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

/// GCRA in Lua. KEYS[1] the key; ARGV[1] the emission interval and ARGV[2] the capacity, both in
/// microseconds. Returns `{allowed (0/1), reset_us, retry_after_us}`.
const GCRA_LUA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local emission = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local new_tat = tat + emission
local debt = new_tat - now
if debt > capacity then
  return {0, tat - now, debt - capacity}
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil(debt / 1000))
return {1, debt, 0}
";

/// How often, at most, a Redis failure is logged.
pub const LOG_EVERY: Duration = Duration::from_secs(10);

/// The shared connection and script.
pub struct RedisStore {
    connection: ConnectionManager,
    script: Script,
    timeout: Duration,
    prefix: String,
    /// Checks that failed (error or timeout), for `/ratelimitz`.
    pub errors: AtomicU64,
    /// Unix seconds of the last failure logged.
    last_logged: AtomicU64,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No URL: it may carry a password.
        f.debug_struct("RedisStore")
            .field("timeout", &self.timeout)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// Why a check did not get an answer from Redis.
#[derive(Debug, thiserror::Error)]
pub enum RedisFailure {
    /// No answer within `timeout_ms`.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The connection or the command failed.
    #[error(transparent)]
    Redis(#[from] redis::RedisError),
}

impl RedisStore {
    /// Prepares the connection without connecting: the gateway starts even when Redis is
    /// down (the policies' `on_redis_error` then decide), and connects on the first check.
    pub fn new(config: &RedisConfig) -> anyhow::Result<RedisStore> {
        let client = redis::Client::open(config.url.expose_secret())
            .map_err(|e| anyhow::anyhow!("[redis] url: {e}"))?;
        let timeout = Duration::from_millis(config.timeout_ms);
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            // Reconnecting happens in the background between checks, not inside one.
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let connection = ConnectionManager::new_lazy_with_config(client, manager_config)
            .map_err(|e| anyhow::anyhow!("[redis]: {e}"))?;
        Ok(RedisStore {
            connection,
            script: Script::new(GCRA_LUA),
            timeout,
            prefix: config.key_prefix.clone(),
            errors: AtomicU64::new(0),
            last_logged: AtomicU64::new(0),
        })
    }

    /// Checks one request against `limit` for `key`, in one round trip.
    pub async fn check(&self, limit: &Gcra, key: &str) -> Result<Outcome, RedisFailure> {
        let mut connection = self.connection.clone();
        let (emission_us, capacity_us) = limit.micros();
        let mut invocation = self.script.prepare_invoke();
        invocation
            .key(format!("{}{key}", self.prefix))
            .arg(emission_us)
            .arg(capacity_us);
        let call = invocation.invoke_async::<(u8, i64, i64)>(&mut connection);
        let result = match tokio::time::timeout(self.timeout, call).await {
            Err(_) => Err(RedisFailure::Timeout(self.timeout)),
            Ok(Err(e)) => Err(RedisFailure::Redis(e)),
            Ok(Ok((allowed, reset, retry))) => Ok(limit.from_redis(
                allowed == 1,
                u64::try_from(reset).unwrap_or(0),
                u64::try_from(retry).unwrap_or(0),
            )),
        };
        if let Err(e) = &result {
            self.failed(e);
        }
        result
    }

    /// Counts a failure and logs it unless one was logged within [`LOG_EVERY`].
    fn failed(&self, error: &RedisFailure) {
        let total = self.errors.fetch_add(1, Ordering::Relaxed) + 1;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let last = self.last_logged.load(Ordering::Relaxed);
        if now >= last + LOG_EVERY.as_secs()
            && self
                .last_logged
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(error = %error, failures_so_far = total, "rate limiter: Redis check failed");
        }
    }
}
