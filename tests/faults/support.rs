//! What every fault run shares: an open-loop load, the tally of what came back, the gateway as a
//! child process (so its memory and its signals are its own), and the one line of figures each
//! run prints.
//!
//! # Open loop
//!
//! Real clients do not wait for each other: they arrive on their own schedule, whether the
//! gateway is fast or slow. [`Load`] sends a request every `1/rate` seconds on a fixed schedule
//! and never waits for an answer before sending the next (a "closed loop" would slow down with
//! the system under test and hide its stalls). Each latency is measured from when the request
//! was *due*, not from when the generator got round to it, so a stall of the test process
//! counts against the latency instead of silently lowering the rate ("coordinated omission").
//!
//! # Real time, on purpose
//!
//! Everything else in the suite moves an injectable clock; these runs cannot. What they prove
//! is how real processes behave over real seconds — a socket that stops answering, a breaker
//! timing out, memory over minutes — so they sleep and poll with bounds, and they are
//! `#[ignore]`d: `.ci/run` runs them in a step of their own.

use api_gateway_pattern::Demo;
use reqwest::{RequestBuilder, header::CONTENT_TYPE};
use serde_json::{Value, json};
use std::{
    net::SocketAddr,
    path::PathBuf,
    process::ExitStatus,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};
use tokio::{sync::watch, task::JoinHandle, time::MissedTickBehavior};

/// No request of a fault run may take longer: a hang is a failure, never a stuck suite.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

/// The demo gateway's configuration file; the runs override addresses and limits with
/// `GATEWAY__…` variables, as an operator would.
const DEMO_CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/gateway/gateway.demo.toml");

/// A client for the load: no redirects followed, bounded by [`CLIENT_TIMEOUT`].
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(CLIENT_TIMEOUT)
        .build()
        .expect("a reqwest client builds")
}

/// What came back for one request.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// What the request was (`me`, `dashboard`, …): each run says what each kind must get.
    pub kind: &'static str,
    /// When it was due (for the load, its slot in the schedule).
    pub due: Instant,
    /// From `due` to the whole body read (or the failure).
    pub latency: Duration,
    /// The answer, or why there was none.
    pub answer: Answer,
}

/// An HTTP answer, or its absence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A response arrived.
    Status {
        /// Its status code.
        status: u16,
        /// The problem+json `reason`, for an error.
        reason: Option<String>,
        /// `X-Gateway-Partial` of an aggregate.
        partial: Option<bool>,
    },
    /// No response: refused, reset, or timed out.
    Failed {
        /// The connection could not be opened (refused): the request never left.
        connect: bool,
        /// The error and its causes.
        error: String,
    },
}

impl Outcome {
    /// The status, if a response arrived.
    pub fn status(&self) -> Option<u16> {
        match self.answer {
            Answer::Status { status, .. } => Some(status),
            Answer::Failed { .. } => None,
        }
    }

    /// The problem's reason, if a problem arrived.
    pub fn reason(&self) -> Option<&str> {
        match &self.answer {
            Answer::Status { reason, .. } => reason.as_deref(),
            Answer::Failed { .. } => None,
        }
    }

    /// `X-Gateway-Partial`, if an aggregate answered.
    pub fn partial(&self) -> Option<bool> {
        match self.answer {
            Answer::Status { partial, .. } => partial,
            Answer::Failed { .. } => None,
        }
    }

    /// True when it got `status` (and, for an error, `reason`).
    pub fn is(&self, status: u16, reason: Option<&str>) -> bool {
        self.status() == Some(status) && (reason.is_none() || self.reason() == reason)
    }

    /// True when the connection was refused (the request never left).
    pub fn refused(&self) -> bool {
        matches!(self.answer, Answer::Failed { connect: true, .. })
    }
}

/// Sends `request` and reads the whole answer. `due` is when it should have left.
pub async fn send(kind: &'static str, due: Instant, request: RequestBuilder) -> Outcome {
    let answer = async {
        let response = request.send().await?;
        let status = response.status().as_u16();
        let partial = response
            .headers()
            .get("x-gateway-partial")
            .map(|v| v.as_bytes() == b"true");
        let problem = response
            .headers()
            .get(CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
        let body = response.bytes().await?;
        let reason = problem
            .then(|| serde_json::from_slice::<Value>(&body).ok())
            .flatten()
            .and_then(|v| v["reason"].as_str().map(str::to_owned));
        Ok::<_, reqwest::Error>(Answer::Status {
            status,
            reason,
            partial,
        })
    }
    .await
    .unwrap_or_else(|error| Answer::Failed {
        connect: error.is_connect(),
        error: error_chain(&error),
    });
    Outcome {
        kind,
        due,
        latency: due.elapsed(),
        answer,
    }
}

/// `a: b: c` — an error with its causes (reqwest's own message alone rarely says "reset").
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

/// What the load sends for its `n`th request: a kind and the request.
pub type MakeRequest = Box<dyn Fn(u64) -> (&'static str, RequestBuilder) + Send + Sync>;

/// An open-loop load running on its own task (see the module's doc).
pub struct Load {
    /// When the first request was due.
    pub started: Instant,
    stop: watch::Sender<bool>,
    pacer: JoinHandle<()>,
    outcomes: Arc<Mutex<Vec<Outcome>>>,
    outstanding: Arc<AtomicUsize>,
}

impl Load {
    /// Starts sending `rate` requests a second, the `n`th made by `make(n)`.
    pub fn start(rate: f64, make: MakeRequest) -> Load {
        let (stop, mut stopped) = watch::channel(false);
        let outcomes = Arc::new(Mutex::new(Vec::new()));
        let outstanding = Arc::new(AtomicUsize::new(0));
        let period = Duration::from_secs_f64(1.0 / rate);
        let started = Instant::now();
        let pacer = {
            let outcomes = Arc::clone(&outcomes);
            let outstanding = Arc::clone(&outstanding);
            tokio::spawn(async move {
                let mut schedule = tokio::time::interval(period);
                // Behind schedule (the test process stalled)? Send the missed requests at once:
                // the rate stays what was asked, as real clients' would.
                schedule.set_missed_tick_behavior(MissedTickBehavior::Burst);
                for n in 0.. {
                    let due = tokio::select! {
                        due = schedule.tick() => due.into_std(),
                        _ = stopped.changed() => break,
                    };
                    let (kind, request) = make(n);
                    outstanding.fetch_add(1, Ordering::SeqCst);
                    let outcomes = Arc::clone(&outcomes);
                    let outstanding = Arc::clone(&outstanding);
                    tokio::spawn(async move {
                        let outcome = send(kind, due, request).await;
                        outcomes.lock().unwrap().push(outcome);
                        outstanding.fetch_sub(1, Ordering::SeqCst);
                    });
                }
            })
        };
        Load {
            started,
            stop,
            pacer,
            outcomes,
            outstanding,
        }
    }

    /// The answers so far, in the order they arrived.
    pub fn snapshot(&self) -> Vec<Outcome> {
        self.outcomes.lock().unwrap().clone()
    }

    /// Stops sending, waits for every request in flight, and returns every outcome sorted by
    /// due time.
    pub async fn stop(self) -> Vec<Outcome> {
        let _ = self.stop.send(true);
        self.pacer.await.expect("the pacer does not panic");
        let deadline = Instant::now() + CLIENT_TIMEOUT + Duration::from_secs(5);
        while self.outstanding.load(Ordering::SeqCst) > 0 {
            assert!(
                Instant::now() < deadline,
                "requests still in flight past the timeout"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut outcomes = std::mem::take(&mut *self.outcomes.lock().unwrap());
        outcomes.sort_by_key(|o| o.due);
        outcomes
    }
}

/// Counts of a set of outcomes, for the figures line.
#[derive(Debug, Default)]
pub struct Tally {
    /// Requests sent.
    pub sent: usize,
    /// Answers by status class: `[1xx, 2xx, 3xx, 4xx, 5xx]`.
    pub classes: [usize; 5],
    /// No answer (refused, reset, timed out).
    pub failed: usize,
    /// Outcomes the run did not expect.
    pub unexpected: usize,
    latencies: Vec<Duration>,
}

impl Tally {
    /// Tallies `outcomes`; `expected` says which outcome is right for its kind and moment.
    pub fn of<'a>(
        outcomes: impl IntoIterator<Item = &'a Outcome>,
        expected: impl Fn(&Outcome) -> bool,
    ) -> Tally {
        let mut tally = Tally::default();
        for outcome in outcomes {
            tally.sent += 1;
            match outcome.status() {
                Some(status) => tally.classes[usize::from(status / 100).clamp(1, 5) - 1] += 1,
                None => tally.failed += 1,
            }
            if !expected(outcome) {
                tally.unexpected += 1;
            }
            tally.latencies.push(outcome.latency);
        }
        tally.latencies.sort();
        tally
    }

    /// The `q` quantile of the latencies (0.5 = median).
    pub fn quantile(&self, q: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let at = ((self.latencies.len() as f64 - 1.0) * q).round() as usize;
        self.latencies[at]
    }

    /// `sent=… 2xx=… 4xx=… 5xx=… failed=… unexpected=… p50=…ms p99=…ms max=…ms`.
    pub fn figures(&self) -> String {
        let ms = |d: Duration| format!("{:.1}ms", d.as_secs_f64() * 1000.0);
        format!(
            "sent={} 2xx={} 3xx={} 4xx={} 5xx={} failed={} unexpected={} p50={} p99={} max={}",
            self.sent,
            self.classes[1],
            self.classes[2],
            self.classes[3],
            self.classes[4],
            self.failed,
            self.unexpected,
            ms(self.quantile(0.5)),
            ms(self.quantile(0.99)),
            ms(self.latencies.last().copied().unwrap_or_default()),
        )
    }
}

/// Prints a run's figures on one line that `.ci/run` collects: `FAULT <run>: <figures>`.
pub fn report(run: &str, figures: &str) {
    println!("FAULT {run}: {figures}");
}

/// The first few outcomes `expected` refuses, for an assertion's message.
pub fn unexpected_sample(outcomes: &[Outcome], expected: impl Fn(&Outcome) -> bool) -> String {
    let bad: Vec<String> = outcomes
        .iter()
        .filter(|o| !expected(o))
        .take(8)
        .map(|o| format!("{} {:?}", o.kind, o.answer))
        .collect();
    bad.join("\n  ")
}

/// Logs in through `gateway` (`http://host:port`) and returns the login's JSON body.
pub async fn login(client: &reqwest::Client, gateway: &str, email: &str, password: &str) -> Value {
    let response = client
        .post(format!("{gateway}/api/auth/login"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "login of {email}");
    response.json().await.unwrap()
}

/// The access token of a login or refresh body.
pub fn access_token(body: &Value) -> String {
    body["access_token"].as_str().unwrap().to_owned()
}

/// Sets a backend's teaching toggles (`PUT /admin/toggles`, an ADMIN token).
pub async fn toggles(client: &reqwest::Client, backend: SocketAddr, admin: &str, latency_ms: u64) {
    let response = client
        .put(format!("http://{backend}/admin/toggles"))
        .bearer_auth(admin)
        .json(&json!({ "latency_ms": latency_ms, "error_rate": 0.0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "toggles on {backend}");
}

/// One value of a `/metrics` page (0 when the sample is absent: not counted yet).
pub async fn metric(
    client: &reqwest::Client,
    metrics_url: &str,
    name: &str,
    labels: &[(&str, &str)],
) -> f64 {
    let page = client
        .get(metrics_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    test_support::prometheus_sample(&page, name, labels).unwrap_or(0.0)
}

/// The `gateway` binary in front of a [`Demo`]'s services, as a child process: its memory is
/// its own (`/proc/<pid>/status`), and `SIGTERM` reaches it alone, as `docker stop` would.
///
/// It runs `gateway/gateway.demo.toml` with the addresses the demo really bound, given as
/// `GATEWAY__…` variables (both listeners on port 0; the log line `gateway listening` says
/// where). Its log goes to a file, kept when the test fails. Killed on drop.
pub struct GatewayProcess {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// Its process id.
    pub pid: u32,
    child: tokio::process::Child,
    log: PathBuf,
}

impl GatewayProcess {
    /// The binary: `FAULT_GATEWAY_BIN`, or `gateway` beside this package's `demo` binary in the
    /// same target directory (`cargo build -p gateway --bin gateway` builds it; `.ci/run` does
    /// before this step).
    pub fn binary() -> PathBuf {
        if let Ok(path) = std::env::var("FAULT_GATEWAY_BIN") {
            return path.into();
        }
        let path = std::path::Path::new(env!("CARGO_BIN_EXE_demo"))
            .with_file_name(format!("gateway{}", std::env::consts::EXE_SUFFIX));
        assert!(
            path.exists(),
            "{} is missing: build it first with `cargo build -p gateway --bin gateway`",
            path.display()
        );
        path
    }

    /// Starts the gateway in front of `demo`, with `overrides` (`GATEWAY__…` variables) on top.
    pub async fn start(run: &str, demo: &Demo, overrides: &[(&str, String)]) -> GatewayProcess {
        let log = std::env::temp_dir().join(format!("fault-{run}-{}.log", std::process::id()));
        let file = std::fs::File::create(&log).unwrap();
        let a = &demo.addresses;
        let mut command = tokio::process::Command::new(Self::binary());
        command
            .arg("--config")
            .arg(DEMO_CONFIG)
            .env("GATEWAY__SERVER__LISTEN", "127.0.0.1:0")
            .env("GATEWAY__ADMIN__LISTEN", "127.0.0.1:0")
            // The issuer the demo's auth-service signs with and its backends expect.
            .env("GATEWAY__AUTH__ISSUER", &demo.public_url)
            // gateway.demo.toml lists the upstreams in this order: auth, users, billing.
            .env("GATEWAY__UPSTREAMS__0__TARGETS", targets(&[a.auth]))
            .env("GATEWAY__UPSTREAMS__1__TARGETS", targets(&[a.users]))
            .env("GATEWAY__UPSTREAMS__2__TARGETS", targets(&[a.billing]))
            // One line at start (the address), warnings and errors; no access log per request.
            .env("RUST_LOG", "warn,gateway=info,gateway::access=warn")
            .env("LOG_FORMAT", "json")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .kill_on_drop(true);
        for (key, value) in overrides {
            command.env(key, value);
        }
        let child = command.spawn().expect("the gateway binary starts");
        let pid = child.id().expect("a running child has a pid");
        let deadline = Instant::now() + Duration::from_secs(30);
        let line = loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(line) = text.lines().find(|l| l.contains("gateway listening")) {
                break line.to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "no `gateway listening` line in {}:\n{text}",
                log.display()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let fields: Value = serde_json::from_str(&line).expect("a JSON log line");
        let address = |key: &str| -> SocketAddr {
            fields[key]
                .as_str()
                .and_then(|a| a.parse().ok())
                .unwrap_or_else(|| panic!("no `{key}` in {line}"))
        };
        GatewayProcess {
            url: format!("http://{}", address("address")),
            pid,
            child,
            log,
        }
    }

    /// `url` + `path`.
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// The address of its public listener.
    pub fn addr(&self) -> SocketAddr {
        self.url["http://".len()..].parse().unwrap()
    }

    /// Its resident memory now (`VmRSS`), in bytes.
    pub fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .expect("the gateway process is running (Linux /proc)");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kib| kib * 1024)
            .expect("a VmRSS line")
    }

    /// Sends it a signal (`TERM`, `HUP`, …) with `kill -s`.
    pub fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .args(["-s", signal, &self.pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -s {signal} {}", self.pid);
    }

    /// Waits for it to exit, at most `within`; `None` when it is still running.
    pub async fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        tokio::time::timeout(within, self.child.wait())
            .await
            .ok()
            .map(|status| status.expect("waiting for the gateway"))
    }

    /// Its log so far (for a failure's message).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        // Kept for a failed test to read; removed otherwise.
        if std::thread::panicking() {
            eprintln!("the gateway's log: {}", self.log.display());
        } else {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// A TOML array of `http://` targets, as a `GATEWAY__…` value.
fn targets(addrs: &[SocketAddr]) -> String {
    let quoted: Vec<String> = addrs.iter().map(|a| format!("\"http://{a}\"")).collect();
    format!("[{}]", quoted.join(", "))
}

/// Megabytes, for the figures (MiB, one decimal).
pub fn mib(bytes: u64) -> String {
    format!("{:.1}MiB", bytes as f64 / (1024.0 * 1024.0))
}
