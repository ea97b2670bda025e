//! [`RedisServer`]: a private `redis-server` for one test, on a free port, killed on drop.
//!
//! The gateway's cluster-wide rate limits keep their counters in Redis. Tests that need a real
//! one — the gateway's own (`gateway/tests/api/redis.rs`) and the fault runs (`tests/faults/`)
//! — start one here: `redis-server` from `PATH`, no persistence, in a temporary folder. Without
//! `redis-server` the test says `skipping: redis-server not installed` and returns, except in CI
//! (`CI=true`), where a missing server is a failure (`scripts/install-redis.sh` installs it).
//!
//! [`RedisServer::stop`] and [`RedisServer::restart`] are the "Redis went away" and "Redis came
//! back" halves of a fault test: the server comes back on the **same port**, as a restarted
//! container or a failed-over address would, empty (no persistence).

use std::{
    net::SocketAddr,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// A private `redis-server`, killed on drop.
#[derive(Debug)]
pub struct RedisServer {
    /// Where it listens (loopback).
    pub addr: SocketAddr,
    child: Option<Child>,
    dir: PathBuf,
}

impl RedisServer {
    /// Starts one, or returns `None` (after saying so) when `redis-server` is not installed.
    /// Panics under `CI=true` when it is not: CI must run the Redis tests.
    pub async fn start() -> Option<RedisServer> {
        let installed = Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !installed {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "redis-server is not installed, and CI needs these tests (scripts/install-redis.sh)"
            );
            println!("skipping: redis-server not installed");
            return None;
        }
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        let dir = std::env::temp_dir().join(format!("gw-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut server = RedisServer {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            child: None,
            dir,
        };
        server.spawn().await;
        Some(server)
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    /// Stops the server now (the "Redis is down" half of a test). Its port stays free: nothing
    /// answers there until [`RedisServer::restart`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts a stopped server again on the same port (empty: it persists nothing) and waits
    /// until it accepts connections.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "restart a stopped server only");
        self.spawn().await;
    }

    async fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.addr.port().to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        // Readiness: poll until it accepts connections (this waits for a process, not for time
        // logic, so a bounded poll is the right tool).
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(self.addr).await.is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
