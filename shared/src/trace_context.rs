//! W3C Trace Context: one trace id from the client's first hop to the last backend.
//!
//! A request that crosses the gateway and two backends leaves log lines in three processes. The
//! `traceparent` header (W3C Trace Context, level 1) ties them together:
//!
//! ```text
//! traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
//!              │  │                                │                └ flags: 01 = sampled
//!              │  │                                └ parent id: the span (hop) that sent this request
//!              │  └ trace id: the same on every hop of one request's journey
//!              └ version (00)
//! ```
//!
//! Every hop keeps the **trace id**, makes its own **span id**, and sends that span id as the
//! parent id of each call it makes. So `grep <trace id>` over every service's logs finds the
//! whole journey, and the parent ids say who called whom. `tracestate` carries vendors' extra
//! data; it is passed on unchanged when it is well-formed and small, and dropped otherwise.
//!
//! A malformed `traceparent` is never an error: the request is served and a new trace started,
//! as the W3C rules say. The gateway may also be told to ignore the client's trace context
//! altogether (`[tracing] accept_incoming = false`).
//!
//! # Why by hand
//!
//! Parsing and formatting run on every request at every hop. The format is fixed-width hex, a
//! few dozen lines with no allocation: ids are byte arrays, formatting goes through a stack
//! buffer. `opentelemetry`'s propagator works on `String` maps and its own context type, which
//! would cost allocations per request for something this small. Random ids come from `rand`'s
//! thread-local generator (already in the tree; a cryptographic generator, so ids cannot be
//! predicted by a client).
//!
//! The current request's trace id also lives in a task-local, like the request id
//! ([`crate::request_id`]), so a [`crate::Problem`] built anywhere can quote it.

use http::{HeaderMap, HeaderName, HeaderValue};
use rand::RngCore;
use std::fmt;

/// `traceparent`, lower-case as HTTP/2 requires.
pub static TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
/// `tracestate`.
pub static TRACESTATE: HeaderName = HeaderName::from_static("tracestate");

/// The longest `tracestate` passed on. W3C asks for at least 512 characters to be propagated;
/// longer lists are dropped whole rather than cut, which could break a vendor's entry.
pub const MAX_TRACESTATE_LEN: usize = 512;
/// The most list members a `tracestate` may hold (W3C: 32).
const MAX_TRACESTATE_MEMBERS: usize = 32;

/// A trace's 16-byte id, never all zeros.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceId([u8; 16]);

/// A span's (one hop's) 8-byte id, never all zeros.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpanId([u8; 8]);

impl TraceId {
    /// A random id (never all zeros).
    pub fn random() -> TraceId {
        let mut bytes = [0u8; 16];
        loop {
            rand::thread_rng().fill_bytes(&mut bytes);
            if bytes != [0; 16] {
                return TraceId(bytes);
            }
        }
    }

    /// The id's bytes (for exporters).
    pub fn to_bytes(self) -> [u8; 16] {
        self.0
    }

    /// The id as 32 lower-case hex digits, in a stack buffer.
    pub fn to_hex(self) -> Hex<32> {
        Hex::encode(&self.0)
    }
}

impl SpanId {
    /// A random id (never all zeros).
    pub fn random() -> SpanId {
        let mut bytes = [0u8; 8];
        loop {
            rand::thread_rng().fill_bytes(&mut bytes);
            if bytes != [0; 8] {
                return SpanId(bytes);
            }
        }
    }

    /// The id's bytes (for exporters).
    pub fn to_bytes(self) -> [u8; 8] {
        self.0
    }

    /// The id as 16 lower-case hex digits, in a stack buffer.
    pub fn to_hex(self) -> Hex<16> {
        Hex::encode(&self.0)
    }
}

/// `N` lower-case hex digits on the stack: displaying an id never allocates.
#[derive(Clone, Copy)]
pub struct Hex<const N: usize>([u8; N]);

impl<const N: usize> Hex<N> {
    fn encode(bytes: &[u8]) -> Hex<N> {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; N];
        for (i, b) in bytes.iter().enumerate() {
            out[2 * i] = DIGITS[usize::from(b >> 4)];
            out[2 * i + 1] = DIGITS[usize::from(b & 0x0f)];
        }
        Hex(out)
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits are ever written.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.to_hex().as_str())
    }
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceId({self})")
    }
}

impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.to_hex().as_str())
    }
}

impl fmt::Debug for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpanId({self})")
    }
}

impl serde::Serialize for TraceId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.to_hex().as_str())
    }
}

/// A parsed `traceparent` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    /// The trace this request belongs to.
    pub trace_id: TraceId,
    /// The span (hop) that sent it.
    pub parent_id: SpanId,
    /// Trace flags; bit 0 is "sampled".
    pub flags: u8,
}

/// The fixed length of a version-00 `traceparent`: `vv-` + 32 + `-` + 16 + `-` + 2.
const TRACEPARENT_LEN: usize = 55;

impl TraceParent {
    /// Parses a `traceparent` value by the W3C rules, or `None` when it is malformed:
    ///
    /// - version: 2 lower-case hex digits, not `ff`; version `00` is exactly 55 characters;
    /// - a later version is parsed for its first four fields, and may carry more after a `-`
    ///   (forward compatibility: a new version only appends fields);
    /// - trace id: 32 lower-case hex digits, not all zero; parent id: 16, not all zero;
    ///   flags: 2 lower-case hex digits.
    pub fn parse(value: &[u8]) -> Option<TraceParent> {
        if value.len() < TRACEPARENT_LEN {
            return None;
        }
        let version = hex_byte(value[0], value[1])?;
        if version == 0xff || value[2] != b'-' || value[35] != b'-' || value[52] != b'-' {
            return None;
        }
        match (version, value.get(TRACEPARENT_LEN)) {
            (0, None) => {}
            (0, Some(_)) => return None,
            (_, None | Some(b'-')) => {}
            (_, Some(_)) => return None,
        }
        let mut trace_id = [0u8; 16];
        decode_hex(&value[3..35], &mut trace_id)?;
        let mut parent_id = [0u8; 8];
        decode_hex(&value[36..52], &mut parent_id)?;
        let flags = hex_byte(value[53], value[54])?;
        if trace_id == [0; 16] || parent_id == [0; 8] {
            return None;
        }
        Some(TraceParent {
            trace_id: TraceId(trace_id),
            parent_id: SpanId(parent_id),
            // Of a later version's flags, only those this version defines are kept (W3C).
            flags: if version == 0 { flags } else { flags & 0x01 },
        })
    }
}

/// One lower-case hex digit's value.
fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

fn hex_byte(high: u8, low: u8) -> Option<u8> {
    Some(hex_digit(high)? << 4 | hex_digit(low)?)
}

fn decode_hex(digits: &[u8], out: &mut [u8]) -> Option<()> {
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = hex_byte(pair[0], pair[1])?;
    }
    Some(())
}

/// Whether a `tracestate` value is one W3C allows and small enough to pass on: at most
/// [`MAX_TRACESTATE_LEN`] bytes and 32 `key=value` members, keys and values of the allowed
/// characters. Empty members (`a=1,,b=2`) are allowed, as the W3C grammar does.
pub fn tracestate_is_valid(value: &[u8]) -> bool {
    if value.is_empty() || value.len() > MAX_TRACESTATE_LEN {
        return false;
    }
    let mut members = 0;
    for member in value.split(|&b| b == b',') {
        let member = member.trim_ascii();
        if member.is_empty() {
            continue;
        }
        members += 1;
        if members > MAX_TRACESTATE_MEMBERS {
            return false;
        }
        let Some(eq) = member.iter().position(|&b| b == b'=') else {
            return false;
        };
        let (key, value) = (&member[..eq], &member[eq + 1..]);
        if !key_is_valid(key) || !value_is_valid(value) {
            return false;
        }
    }
    members > 0
}

/// `simple-key` or `tenant@system`: lower-case letters, digits, `_ - * /`, starting with a
/// letter (or a digit for a tenant), at most 256 characters.
fn key_is_valid(key: &[u8]) -> bool {
    let allowed = |b: &u8| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'*' | b'/');
    match key.iter().position(|&b| b == b'@') {
        None => {
            key.len() <= 256 && key.first().is_some_and(u8::is_ascii_lowercase) && {
                key.iter().all(allowed)
            }
        }
        Some(at) => {
            let (tenant, system) = (&key[..at], &key[at + 1..]);
            (1..=241).contains(&tenant.len())
                && (1..=14).contains(&system.len())
                && tenant
                    .first()
                    .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                && system.first().is_some_and(u8::is_ascii_lowercase)
                && tenant.iter().all(allowed)
                && system.iter().all(allowed)
        }
    }
}

/// Printable ASCII but `,` and `=`, at most 256 characters, not ending in a space.
fn value_is_valid(value: &[u8]) -> bool {
    (1..=256).contains(&value.len())
        && value.last() != Some(&b' ')
        && value
            .iter()
            .all(|&b| (0x20..=0x7e).contains(&b) && b != b',' && b != b'=')
}

/// One hop's place in a trace: the trace id, this hop's own span id, the span it continues (if
/// any), the flags, and the `tracestate` to pass on.
#[derive(Debug, Clone)]
pub struct TraceContext {
    trace_id: TraceId,
    span_id: SpanId,
    parent_id: Option<SpanId>,
    flags: u8,
    tracestate: Option<HeaderValue>,
}

/// The sampled flag: this project records every request it serves (logs, decision records,
/// spans when exported), so the traces it starts are sampled.
const SAMPLED: u8 = 0x01;

impl TraceContext {
    /// A new trace with this hop as its root.
    pub fn start() -> TraceContext {
        TraceContext {
            trace_id: TraceId::random(),
            span_id: SpanId::random(),
            parent_id: None,
            flags: SAMPLED,
            tracestate: None,
        }
    }

    /// Continues the trace of an incoming request when `accept` is true and its `traceparent`
    /// is well-formed; otherwise starts a new one (a malformed header is ignored, never an
    /// error). This hop always gets its own new span id. `tracestate` is kept only with a valid
    /// `traceparent` (W3C), and only when it is valid and small; several `tracestate` headers
    /// are one list, joined (the only case that allocates).
    pub fn from_headers(headers: &HeaderMap, accept: bool) -> TraceContext {
        if !accept {
            return TraceContext::start();
        }
        let mut parents = headers.get_all(&TRACEPARENT).iter();
        // Two `traceparent` headers are ambiguous: neither is believed.
        let parent = match (parents.next(), parents.next()) {
            (Some(value), None) => TraceParent::parse(value.as_bytes()),
            _ => None,
        };
        let Some(parent) = parent else {
            return TraceContext::start();
        };
        TraceContext {
            trace_id: parent.trace_id,
            span_id: SpanId::random(),
            parent_id: Some(parent.parent_id),
            flags: parent.flags,
            tracestate: tracestate(headers),
        }
    }

    /// The trace id, the same on every hop.
    pub fn trace_id(&self) -> TraceId {
        self.trace_id
    }

    /// This hop's span id.
    pub fn span_id(&self) -> SpanId {
        self.span_id
    }

    /// The span this hop continues, when the request came with a trace context.
    pub fn parent_id(&self) -> Option<SpanId> {
        self.parent_id
    }

    /// The trace flags.
    pub fn flags(&self) -> u8 {
        self.flags
    }

    /// The `tracestate` passed on, if any.
    pub fn tracestate(&self) -> Option<&HeaderValue> {
        self.tracestate.as_ref()
    }

    /// The `traceparent` value for a call this hop makes as span `span`: same trace id and
    /// flags, `span` as the parent id. Formatted in a stack buffer.
    pub fn traceparent_for(&self, span: SpanId) -> HeaderValue {
        let mut buffer = [0u8; TRACEPARENT_LEN];
        buffer[..3].copy_from_slice(b"00-");
        buffer[3..35].copy_from_slice(&self.trace_id.to_hex().0);
        buffer[35] = b'-';
        buffer[36..52].copy_from_slice(&span.to_hex().0);
        buffer[52] = b'-';
        buffer[53..].copy_from_slice(&Hex::<2>::encode(&[self.flags]).0);
        HeaderValue::from_bytes(&buffer).expect("hex digits and dashes are header-safe")
    }

    /// Sets the trace headers of an outgoing call made as span `span`: `traceparent` with `span`
    /// as the parent id, `tracestate` as received (or none). Whatever the client sent under these
    /// names is replaced.
    pub fn stamp(&self, headers: &mut HeaderMap, span: SpanId) {
        headers.insert(TRACEPARENT.clone(), self.traceparent_for(span));
        match &self.tracestate {
            Some(state) => {
                headers.insert(TRACESTATE.clone(), state.clone());
            }
            None => {
                headers.remove(&TRACESTATE);
            }
        }
    }
}

/// The valid `tracestate` of `headers`, several header lines joined as one list.
fn tracestate(headers: &HeaderMap) -> Option<HeaderValue> {
    let mut values = headers.get_all(&TRACESTATE).iter();
    let first = values.next()?;
    let value = match values.next() {
        None => first.clone(),
        Some(second) => {
            let mut joined = Vec::with_capacity(MAX_TRACESTATE_LEN);
            for part in [first, second].into_iter().chain(values) {
                if !joined.is_empty() {
                    joined.push(b',');
                }
                joined.extend_from_slice(part.as_bytes());
                if joined.len() > MAX_TRACESTATE_LEN {
                    return None;
                }
            }
            HeaderValue::from_bytes(&joined).ok()?
        }
    };
    tracestate_is_valid(value.as_bytes()).then_some(value)
}

tokio::task_local! {
    static CURRENT: TraceId;
}

/// The trace id of the request being handled on this task, if one was set with [`scope`].
pub fn current() -> Option<TraceId> {
    CURRENT.try_with(|id| *id).ok()
}

/// Runs `fut` with `id` as the current trace id (the request's handling, and tests).
pub async fn scope<F: Future>(id: TraceId, fut: F) -> F::Output {
    CURRENT.scope(id, fut).await
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_traceparent_is_parsed() {
        let parent = TraceParent::parse(VALID.as_bytes()).unwrap();
        assert_eq!(
            parent.trace_id.to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(parent.parent_id.to_string(), "00f067aa0ba902b7");
        assert_eq!(parent.flags, 1);
    }

    #[test]
    fn malformed_traceparents_are_refused() {
        let cases = [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",
            // Upper-case hex.
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            // All-zero trace id, all-zero parent id.
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            // Version ff is forbidden; version 00 has no more fields.
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            // Wrong separators, non-hex characters.
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",
            "zz-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ];
        for case in cases {
            assert!(TraceParent::parse(case.as_bytes()).is_none(), "{case:?}");
        }
    }

    #[test]
    fn a_future_version_is_parsed_for_its_first_fields() {
        let longer = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03-what-comes-next";
        let parent = TraceParent::parse(longer.as_bytes()).unwrap();
        assert_eq!(
            parent.trace_id.to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(parent.flags, 1, "only the flags version 00 knows are kept");
        // A later version must still separate its extra fields with a dash.
        let glued = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x";
        assert!(TraceParent::parse(glued.as_bytes()).is_none());
    }

    #[test]
    fn a_continued_trace_keeps_the_trace_id_and_makes_its_own_span() {
        let mut headers = HeaderMap::new();
        headers.insert(&TRACEPARENT, VALID.parse().unwrap());
        headers.insert(
            &TRACESTATE,
            "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7".parse().unwrap(),
        );
        let context = TraceContext::from_headers(&headers, true);
        assert_eq!(
            context.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(context.parent_id().unwrap().to_string(), "00f067aa0ba902b7");
        assert_ne!(context.span_id().to_string(), "00f067aa0ba902b7");

        let mut outgoing = HeaderMap::new();
        let span = SpanId::random();
        context.stamp(&mut outgoing, span);
        assert_eq!(
            outgoing[&TRACEPARENT],
            format!("00-4bf92f3577b34da6a3ce929d0e0e4736-{span}-01").as_str()
        );
        assert_eq!(
            outgoing[&TRACESTATE],
            "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
        );
    }

    #[test]
    fn a_bad_or_refused_traceparent_starts_a_new_trace_without_tracestate() {
        let mut headers = HeaderMap::new();
        headers.insert(&TRACEPARENT, "00-garbage".parse().unwrap());
        headers.insert(&TRACESTATE, "congo=t61rcWkgMzE".parse().unwrap());
        let context = TraceContext::from_headers(&headers, true);
        assert!(context.parent_id().is_none());
        assert!(context.tracestate().is_none());

        headers.insert(&TRACEPARENT, VALID.parse().unwrap());
        let refused = TraceContext::from_headers(&headers, false);
        assert_ne!(
            refused.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        let mut outgoing = headers.clone();
        refused.stamp(&mut outgoing, refused.span_id());
        assert!(
            !outgoing.contains_key(&TRACESTATE),
            "the client's is removed"
        );
    }

    #[test]
    fn tracestate_is_checked_and_bounded() {
        assert!(tracestate_is_valid(
            b"rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"
        ));
        assert!(tracestate_is_valid(b"tenant@vendor=x, ,b=2"));
        assert!(!tracestate_is_valid(b""));
        assert!(!tracestate_is_valid(b"Upper=1"));
        assert!(!tracestate_is_valid(b"novalue"));
        assert!(!tracestate_is_valid(b"a=b=c"));
        let long = format!("a={}", "x".repeat(MAX_TRACESTATE_LEN));
        assert!(!tracestate_is_valid(long.as_bytes()));
        let many: Vec<String> = (0..33).map(|i| format!("k{i}=v")).collect();
        assert!(!tracestate_is_valid(many.join(",").as_bytes()));
    }

    #[test]
    fn several_tracestate_headers_are_one_list() {
        let mut headers = HeaderMap::new();
        headers.insert(&TRACEPARENT, VALID.parse().unwrap());
        headers.append(&TRACESTATE, "a=1".parse().unwrap());
        headers.append(&TRACESTATE, "b=2".parse().unwrap());
        let context = TraceContext::from_headers(&headers, true);
        assert_eq!(context.tracestate().unwrap(), "a=1,b=2");
    }

    #[test]
    fn new_ids_are_random_and_well_formed() {
        let (a, b) = (TraceContext::start(), TraceContext::start());
        assert_ne!(a.trace_id(), b.trace_id());
        let header = a.traceparent_for(a.span_id());
        let parsed = TraceParent::parse(header.as_bytes()).unwrap();
        assert_eq!(parsed.trace_id, a.trace_id());
        assert_eq!(parsed.parent_id, a.span_id());
        assert_eq!(parsed.flags, SAMPLED);
    }
}
