//! Explained decisions: for every request, a small record of *why* the gateway answered as it
//! did — the route it chose (or why none matched), each check in order with its outcome, and
//! each upstream attempt's target, status and latency.
//!
//! ```json
//! {"id": "5f1c0a9e00000007", "request_id": "0193…",
//!  "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "method": "GET", "path": "/api/users",
//!  "route": "users-list", "status": 403, "reason": "role_required", "latency_ms": 0.21,
//!  "caller": {"sub": "1905551042", "role": "STUDENT"},
//!  "checks": [{"check": "route", "outcome": "pass"},
//!             {"check": "token", "outcome": "pass", "detail": "verified"},
//!             {"check": "signature", "outcome": "pass"}, …,
//!             {"check": "role", "outcome": "fail", "detail": "role_required: needs ADMIN"}],
//!  "upstream_calls": []}
//! ```
//!
//! A leaf: [`Record`] is filled in by the pipeline (the route in `handler.rs`, the checks in
//! `admission.rs`, the attempts in `upstream/call.rs`) and kept in a [`Ring`] of the most recent
//! ones, which the admin listener serves by id (`GET /decisions/{id}`).
//!
//! **Keyed by the gateway's own id**, never by the client's `X-Request-Id`: a client could
//! choose an id another request already has, and read or push out its record. The id is in the
//! access log line and, for the requests the gateway refuses, in the `X-Gateway-Decision`
//! header.
//!
//! **Nothing secret in it.** Only facts the gateway decided on are written: reason codes, names
//! from the configuration, the verified `sub` and role. Never the token, the `Authorization`
//! header, a body, the query string (it may carry a token or a password) or an e-mail address —
//! a path segment containing `@` is written as `{redacted}`.
//!
//! **Bounded and cheap.** The ring holds [`RING_SIZE`] records; each request overwrites the
//! oldest slot (a slot per id, each behind its own lock, so two requests never wait on one
//! another). A record costs a few small allocations (the path, the check list) per request.

use http::Method;
use serde_json::{Value, json};
use shared::{
    Claims, TokenError,
    trace_context::{SpanId, TraceId},
};
use std::{
    borrow::Cow,
    fmt,
    hash::BuildHasher,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

/// How many recent records the gateway keeps.
pub const RING_SIZE: usize = 4096;

/// A decision's id: the gateway's own, unique within a gateway process, and shown as 16
/// hexadecimal digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DecisionId(pub u64);

impl fmt::Display for DecisionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl DecisionId {
    /// Parses the 16-hex-digit form.
    pub fn parse(text: &str) -> Option<DecisionId> {
        if text.len() != 16 {
            return None;
        }
        u64::from_str_radix(text, 16).ok().map(DecisionId)
    }
}

/// The token's checks, in the order the verifier runs them: the header and the algorithm, the
/// key (`kid`) and the signature, then the claims.
pub const TOKEN_STEPS: [&str; 6] = [
    "token",
    "signature",
    "expiry",
    "issuer",
    "audience",
    "claims",
];

/// What a check concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The request passed it.
    Pass,
    /// The request was refused by it (the record's last check).
    Fail,
    /// Not run: the route does not ask for it (a public route's token), or an earlier check
    /// already decided (a token that failed its signature has no expiry check).
    Skip,
}

impl Outcome {
    const fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Skip => "skip",
        }
    }
}

/// One check and its outcome.
#[derive(Debug, Clone)]
pub struct Check {
    /// Which check: `route`, `token`, `signature`, `expiry`, `issuer`, `audience`, `claims`,
    /// `role`, `scope`, `identity`, `rate_limit`; on routes with those features, `cors` (a
    /// preflight), `split` (the upstream chosen) and `cache` (hit, miss and why, bypass).
    pub check: &'static str,
    /// Its outcome.
    pub outcome: Outcome,
    /// What it found: a reason code, or a name from the configuration (a policy); static text
    /// costs no allocation.
    pub detail: Option<Cow<'static, str>>,
}

/// One upstream attempt.
#[derive(Debug, Clone)]
pub struct UpstreamCall {
    /// The upstream's name.
    pub upstream: Arc<str>,
    /// The target's `host:port` (from the configuration); none when every circuit was open.
    pub target: Option<http::uri::Authority>,
    /// The answer's status, if one came.
    pub status: Option<u16>,
    /// `ok`, or why there was no usable answer (`timeout`, `unavailable`, `circuit_open`).
    pub outcome: &'static str,
    /// Time to the response head (or to the failure).
    pub latency: Duration,
    /// True when this attempt was a retry.
    pub retry: bool,
    /// The attempt's W3C span id: the parent id its target received in `traceparent`, so the
    /// target's log lines can be matched to this attempt. None when nothing was sent.
    pub span_id: Option<SpanId>,
}

/// The record of one request.
#[derive(Debug, Clone)]
pub struct Record {
    /// The gateway's id for it.
    pub id: DecisionId,
    /// Its `X-Request-Id` (to find its log lines), which a client may have chosen.
    pub request_id: Arc<str>,
    /// Its W3C trace id (to find the log lines of every service it crossed).
    pub trace_id: TraceId,
    /// Milliseconds since the Unix epoch at arrival.
    pub at_unix_ms: u64,
    /// The method (standard ones by name, any other as `OTHER`).
    pub method: &'static str,
    /// The normalised path, without the query, segments with `@` redacted.
    pub path: Box<str>,
    /// The route or aggregate chosen.
    pub route: Option<Arc<str>>,
    /// The verified caller: `sub` and role.
    pub caller: Option<(Box<str>, &'static str)>,
    /// The checks, in the order they ran (the token's as one entry: see
    /// [`Record::token_checks`]).
    pub checks: Vec<Check>,
    /// Which of [`TOKEN_STEPS`] failed (their number when none did).
    pub token_failed_at: u8,
    /// Upstream attempts, in the order they ended.
    pub upstream_calls: Vec<UpstreamCall>,
    /// The response status.
    pub status: u16,
    /// The gateway's reason when it answered itself.
    pub reason: Option<&'static str>,
    /// From arrival to the response head.
    pub latency: Duration,
    /// A fingerprint of the request's credentials (demo mode: who may read the record on the
    /// public port). Never shown; a seeded hash, not the token.
    pub owner: Option<u64>,
}

impl Record {
    /// An empty record for a request that arrived now.
    pub fn new(id: DecisionId, request_id: Arc<str>, trace_id: TraceId, method: &Method) -> Record {
        Record {
            id,
            request_id,
            trace_id,
            at_unix_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            method: crate::metrics::method_label(method),
            path: Box::from(""),
            route: None,
            caller: None,
            checks: Vec::new(),
            token_failed_at: 0,
            upstream_calls: Vec::new(),
            status: 0,
            reason: None,
            latency: Duration::ZERO,
            owner: None,
        }
    }

    /// Sets the path, redacting any segment that holds an `@` (an e-mail address in a path).
    pub fn set_path(&mut self, path: &str) {
        self.path = if path.contains('@') {
            path.split('/')
                .map(|segment| {
                    if segment.contains('@') {
                        "{redacted}"
                    } else {
                        segment
                    }
                })
                .collect::<Vec<_>>()
                .join("/")
                .into()
        } else {
            path.into()
        };
    }

    /// Appends a check.
    pub fn check(
        &mut self,
        check: &'static str,
        outcome: Outcome,
        detail: Option<Cow<'static, str>>,
    ) {
        if self.checks.capacity() == 0 {
            // Enough for most requests: route, token, role, identity, a rate limit or two.
            self.checks.reserve_exact(6);
        }
        self.checks.push(Check {
            check,
            outcome,
            detail,
        });
    }

    /// Records `check` as the one that refused the request with `reason`, unless a check
    /// already failed (admission records its own).
    pub fn refused(&mut self, check: &'static str, reason: &'static str) {
        if !self.checks.iter().any(|c| c.outcome == Outcome::Fail) {
            self.check(check, Outcome::Fail, Some(reason.into()));
        }
    }

    /// Completes the record with what the client was answered.
    pub fn finish(
        &mut self,
        path: &str,
        status: http::StatusCode,
        reason: Option<&'static str>,
        latency: Duration,
    ) {
        self.set_path(path);
        self.status = status.as_u16();
        self.reason = reason;
        self.latency = latency;
    }

    /// Records the token's checks: `token` (present and well-formed), then `signature`,
    /// `expiry`, `issuer`, `audience` and `claims` — all passed for verified `claims` (`cached`
    /// when the token cache answered), or passed up to the one that failed and skipped after
    /// it. Kept as one entry and spelled out in [`Record::to_json`]: the request pays for one
    /// entry, the reader sees six.
    pub fn token_checks(&mut self, result: Result<(&Claims, bool), &TokenError>) {
        match result {
            Ok((claims, cached)) => {
                self.caller = Some((claims.sub.as_str().into(), claims.role.as_str()));
                let how = if cached {
                    "verified (cached)"
                } else {
                    "verified"
                };
                self.token_failed_at = TOKEN_STEPS.len() as u8;
                self.check("token", Outcome::Pass, Some(how.into()));
            }
            Err(error) => {
                self.token_failed_at = match error {
                    TokenError::Missing | TokenError::Malformed => 0,
                    TokenError::AlgorithmNotAllowed | TokenError::UnknownKid => 1,
                    TokenError::BadSignature => 1,
                    TokenError::Expired | TokenError::NotYetValid => 2,
                    TokenError::IssuerMismatch => 3,
                    TokenError::AudienceMismatch => 4,
                    _ => 5,
                };
                self.check("token", Outcome::Fail, Some(error.reason().into()));
            }
        }
    }

    /// The record as JSON (what `GET /decisions/{id}` answers).
    pub fn to_json(&self) -> Value {
        let entry = |check: &str, outcome: Outcome, detail: Option<&Cow<'static, str>>| {
            let mut entry = json!({"check": check, "outcome": outcome.as_str()});
            if let Some(detail) = detail {
                entry["detail"] = json!(detail);
            }
            entry
        };
        let mut checks: Vec<Value> = Vec::with_capacity(self.checks.len() + TOKEN_STEPS.len());
        for c in &self.checks {
            if c.check != "token" || c.outcome == Outcome::Skip {
                checks.push(entry(c.check, c.outcome, c.detail.as_ref()));
                continue;
            }
            // The token's one entry, spelled out step by step (see `token_checks`).
            let failed_at = usize::from(self.token_failed_at);
            for (i, step) in TOKEN_STEPS.iter().enumerate() {
                checks.push(match i.cmp(&failed_at) {
                    // `verified` (or `verified (cached)`) belongs to a token that passed every
                    // step; a failed one's detail is its reason, on the step that failed.
                    std::cmp::Ordering::Less if i == 0 && failed_at == TOKEN_STEPS.len() => {
                        entry(step, Outcome::Pass, c.detail.as_ref())
                    }
                    std::cmp::Ordering::Less => entry(step, Outcome::Pass, None),
                    std::cmp::Ordering::Equal => entry(step, Outcome::Fail, c.detail.as_ref()),
                    std::cmp::Ordering::Greater => entry(step, Outcome::Skip, None),
                });
            }
        }
        let calls: Vec<Value> = self
            .upstream_calls
            .iter()
            .map(|c| {
                json!({
                    "upstream": &*c.upstream,
                    "target": c.target.as_ref().map(http::uri::Authority::as_str),
                    "status": c.status,
                    "outcome": c.outcome,
                    "latency_ms": millis(c.latency),
                    "retry": c.retry,
                    "span_id": c.span_id.map(|id| id.to_string()),
                })
            })
            .collect();
        json!({
            "id": self.id.to_string(),
            "request_id": &*self.request_id,
            "trace_id": self.trace_id,
            "at_unix_ms": self.at_unix_ms,
            "method": self.method,
            "path": self.path,
            "route": self.route.as_deref(),
            "caller": self.caller.as_ref().map(|(sub, role)| json!({"sub": sub, "role": role})),
            "status": self.status,
            "reason": self.reason,
            "latency_ms": millis(self.latency),
            "checks": checks,
            "upstream_calls": calls,
        })
    }
}

fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// The most recent records, by id.
pub struct Ring {
    slots: Box<[Mutex<Option<Record>>]>,
    next: AtomicU64,
    /// Seeds the owner fingerprints: they mean nothing outside this process.
    owners: foldhash::quality::RandomState,
}

impl fmt::Debug for Ring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ring")
            .field("slots", &self.slots.len())
            .finish_non_exhaustive()
    }
}

impl Default for Ring {
    fn default() -> Self {
        Ring::new(RING_SIZE)
    }
}

impl Ring {
    /// A ring of `size` records (at least one). Ids start at a random point, so the ids of two
    /// runs of the gateway do not repeat one another.
    pub fn new(size: usize) -> Ring {
        let owners = foldhash::quality::RandomState::default();
        let start = owners.hash_one(0u8) >> 16;
        Ring {
            slots: (0..size.max(1)).map(|_| Mutex::new(None)).collect(),
            next: AtomicU64::new(start),
            owners,
        }
    }

    /// A fresh id.
    pub fn next_id(&self) -> DecisionId {
        DecisionId(self.next.fetch_add(1, Ordering::Relaxed))
    }

    /// The fingerprint of a request's credentials (the `Authorization` value).
    pub fn owner_of(&self, credentials: &[u8]) -> u64 {
        self.owners.hash_one(credentials)
    }

    fn slot(&self, id: DecisionId) -> &Mutex<Option<Record>> {
        &self.slots[(id.0 % self.slots.len() as u64) as usize]
    }

    /// Keeps `record`, pushing out the oldest in its slot.
    pub fn store(&self, record: Record) {
        let old = self
            .slot(record.id)
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .replace(record);
        // The old record is freed after the lock is released.
        drop(old);
    }

    /// The record `id` as JSON, if still kept; with `owner`, only if it was made for that
    /// owner.
    pub fn get(&self, id: DecisionId, owner: Option<u64>) -> Option<Value> {
        let slot = self.slot(id).lock().unwrap_or_else(|e| e.into_inner());
        let record = slot.as_ref().filter(|r| r.id == id)?;
        if owner.is_some() && record.owner != owner {
            return None;
        }
        Some(record.to_json())
    }

    /// The ids of the most recent records (newest first), at most `limit`.
    pub fn recent(&self, limit: usize) -> Vec<Value> {
        let last = self.next.load(Ordering::Relaxed);
        (1..=limit.min(self.slots.len()) as u64)
            .filter_map(|back| {
                let id = DecisionId(last.checked_sub(back)?);
                let slot = self.slot(id).lock().unwrap_or_else(|e| e.into_inner());
                let r = slot.as_ref().filter(|r| r.id == id)?;
                Some(json!({
                    "id": r.id.to_string(), "method": r.method, "path": r.path,
                    "route": r.route.as_deref(), "status": r.status, "reason": r.reason,
                }))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::Role;

    fn claims() -> Claims {
        Claims {
            sub: "42".into(),
            name: "Ada".into(),
            role: Role::Student,
            exp: 0,
            iat: 0,
            iss: String::new(),
            aud: String::new(),
            jti: String::new(),
            email: Some("ada@example.edu".into()),
            scope: None,
        }
    }

    #[test]
    fn ids_round_trip_and_the_ring_forgets_the_oldest() {
        let ring = Ring::new(2);
        let ids: Vec<DecisionId> = (0..3).map(|_| ring.next_id()).collect();
        assert_eq!(DecisionId::parse(&ids[0].to_string()), Some(ids[0]));
        for &id in &ids {
            ring.store(Record::new(id, "r".into(), TraceId::random(), &Method::GET));
        }
        assert!(ring.get(ids[0], None).is_none(), "pushed out");
        assert_eq!(ring.get(ids[2], None).unwrap()["id"], ids[2].to_string());
        assert_eq!(ring.recent(10).len(), 2);
    }

    #[test]
    fn a_failed_token_check_is_named_and_the_later_ones_skipped() {
        let mut record = Record::new(DecisionId(1), "r".into(), TraceId::random(), &Method::GET);
        record.token_checks(Err(&TokenError::Expired));
        let json = record.to_json();
        let outcomes: Vec<(&str, &str)> = json["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["check"].as_str().unwrap(), c["outcome"].as_str().unwrap()))
            .collect();
        assert_eq!(
            outcomes,
            [
                ("token", "pass"),
                ("signature", "pass"),
                ("expiry", "fail"),
                ("issuer", "skip"),
                ("audience", "skip"),
                ("claims", "skip")
            ]
        );
        assert_eq!(json["checks"][2]["detail"], "token_expired");
        assert!(
            json["checks"][0].get("detail").is_none(),
            "the reason is the failed step's, not the passed `token` step's: {json}"
        );
    }

    #[test]
    fn the_caller_is_named_by_sub_and_role_only() {
        let mut record = Record::new(DecisionId(1), "r".into(), TraceId::random(), &Method::GET);
        record.token_checks(Ok((&claims(), true)));
        let json = record.to_json();
        assert_eq!(json["caller"], json!({"sub": "42", "role": "STUDENT"}));
        assert!(!json.to_string().contains("Ada"));
        assert!(!json.to_string().contains('@'));
    }

    #[test]
    fn e_mail_addresses_in_paths_are_redacted() {
        let mut record = Record::new(DecisionId(1), "r".into(), TraceId::random(), &Method::GET);
        record.set_path("/api/users/by-email/ada@example.edu/x");
        assert_eq!(&*record.path, "/api/users/by-email/{redacted}/x");
    }

    #[test]
    fn an_owner_reads_only_their_own_records() {
        let ring = Ring::new(8);
        let id = ring.next_id();
        let mut record = Record::new(id, "r".into(), TraceId::random(), &Method::GET);
        record.owner = Some(ring.owner_of(b"Bearer a"));
        ring.store(record);
        assert!(ring.get(id, Some(ring.owner_of(b"Bearer a"))).is_some());
        assert!(ring.get(id, Some(ring.owner_of(b"Bearer b"))).is_none());
        assert!(
            ring.get(id, None).is_some(),
            "the admin listener reads every record"
        );
    }
}
