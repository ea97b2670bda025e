//! The aggregate merger's properties, for any answers the backends give.
//!
//! The dashboard (`/api/dashboard` in the demo configuration) merges three calls into one JSON
//! object. Whatever each backend answers — any JSON, nothing, or a failure — the client gets:
//!
//! 1. no panic, and a body that is one JSON object (of valid JSON, though a section may hold
//!    numbers no `f64` can hold: they are the backend's, passed on as written);
//! 2. exactly one section per call, in the configured keys, plus `_meta`: a backend's JSON can
//!    never add, remove or overwrite a section (not even one called `_meta`);
//! 3. each section is the backend's JSON text byte for byte, or `null` when its call failed (the
//!    first run found numbers changed on the way: `999999999999900000000000012439761` came out
//!    as `9.999999999999001e32`; sections are now copied, never re-encoded);
//! 4. `_meta.partial`, the `X-Gateway-Partial` header and `Cache-Control: no-store` all agree on
//!    whether any call failed, `_meta.calls.<key>.reason` names each failure, and each call's
//!    `started_ms` is the offset it was given.
//!
//! The input is split at `0xFF` bytes (never part of valid UTF-8, so never inside JSON) into one
//! piece per call. A piece that is JSON is that call's answer, read as `fetch` reads it (a
//! `RawValue`: checked, kept as written); any other piece is a failed call, its first byte
//! choosing the failure.

use gateway::aggregate::{CallFailure, Outcome, merge::merge};
use gateway::{config::Config, state::Gateway};
use http::StatusCode;
use http_body_util::BodyExt;
use serde_json::{Value, value::RawValue};
use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

/// The failures a call can end with (`fetch` and `run_call` make these).
const FAILURES: [(StatusCode, &str); 5] = [
    (StatusCode::BAD_GATEWAY, "upstream_unavailable"),
    (StatusCode::BAD_GATEWAY, "not_json"),
    (StatusCode::BAD_GATEWAY, "response_too_large"),
    (StatusCode::GATEWAY_TIMEOUT, "upstream_timeout"),
    (StatusCode::SERVICE_UNAVAILABLE, "circuit_open"),
];

/// Checks every property for `data`; panics (a fuzzer finding) when one fails.
pub fn check(data: &[u8]) {
    let (runtime, gateway) = demo_gateway();
    let aggregate = gateway
        .aggregates
        .find("/api/dashboard")
        .expect("the demo configuration has the dashboard");
    let mut pieces = data.split(|&b| b == 0xFF);
    let mut expected = Vec::new();
    let outcomes = (0..aggregate.calls.len())
        .map(|index| {
            let piece = pieces.next().unwrap_or_default();
            let result = serde_json::from_slice::<Box<RawValue>>(piece).map_err(|_| {
                let (status, reason) =
                    FAILURES[usize::from(piece.first().copied().unwrap_or(0)) % FAILURES.len()];
                CallFailure {
                    status,
                    reason,
                    detail: format!("call {index} failed"),
                }
            });
            expected.push(result.as_ref().ok().cloned());
            Some(Outcome {
                index,
                status: result.is_ok().then_some(200),
                latency: Duration::from_millis(index as u64),
                result,
                attempts: Vec::new(),
            })
        })
        .collect();

    let began: Vec<Duration> = (0..aggregate.calls.len())
        .map(|index| Duration::from_micros(index as u64))
        .collect();
    let response = merge(
        gateway,
        aggregate,
        outcomes,
        &began,
        Duration::from_millis(7),
    );
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let partial_header = header("x-gateway-partial");
    let cache_control = header("cache-control");
    let body = runtime
        .block_on(response.into_body().collect())
        .expect("a merged body is in memory")
        .to_bytes();
    // Read as raw sections: a backend may send JSON that is valid but beyond what a client
    // parses into numbers (`1e400`); the gateway passes it on as it came.
    let sections: HashMap<String, Box<RawValue>> =
        serde_json::from_slice(&body).expect("the merged answer is a JSON object");
    assert_eq!(
        sections.len(),
        aggregate.calls.len() + 1,
        "sections: {}",
        String::from_utf8_lossy(&body)
    );
    let meta: Value = serde_json::from_str(sections["_meta"].get()).expect("`_meta` is JSON");
    let failed = expected.iter().any(Option::is_none);
    for (call, section) in aggregate.calls.iter().zip(&expected) {
        let key: &str = &call.key;
        assert_eq!(
            sections.get(key).map(|raw| raw.get()).unwrap_or_default(),
            section.as_ref().map_or("null", |raw| raw.get()),
            "section {key} changed on the way"
        );
        let reason = &meta["calls"][key]["reason"];
        let expected_start = (index_of(aggregate, key) as f64) / 1000.0;
        assert_eq!(
            meta["calls"][key]["started_ms"].as_f64(),
            Some(expected_start),
            "started_ms of {key}: {meta}"
        );
        assert_eq!(
            section.is_none(),
            reason.is_string(),
            "reason of {key}: {meta}"
        );
    }
    assert_eq!(meta["partial"], Value::Bool(failed), "{meta}");
    assert_eq!(partial_header, if failed { "true" } else { "false" });
    assert_eq!(cache_control == "no-store", failed, "{cache_control}");
}

fn index_of(aggregate: &gateway::aggregate::table::Aggregate, key: &str) -> usize {
    aggregate
        .calls
        .iter()
        .position(|call| &*call.key == key)
        .expect("a configured key")
}

/// The demo configuration's gateway, compiled once (inside a runtime, as the server does).
fn demo_gateway() -> &'static (tokio::runtime::Runtime, Gateway) {
    static GATEWAY: OnceLock<(tokio::runtime::Runtime, Gateway)> = OnceLock::new();
    GATEWAY.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let gateway = {
            let _inside = runtime.enter();
            Gateway::new(&Config::demo()).expect("the demo configuration compiles")
        };
        (runtime, gateway)
    })
}
