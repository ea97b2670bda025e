//! Merging: every call's outcome into one JSON answer with a `_meta` report.

use super::{Outcome, table::Aggregate};
use crate::{context::X_GATEWAY_PARTIAL, state::Gateway};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};
use serde_json::{Map, Value, json};
use std::time::Duration;

/// Builds the 200 answer from every call's outcome; `began[i]` is when call `i` started, from
/// the aggregate's start (`started_ms`).
///
/// The answer is written here, not built as a `serde_json::Value`: each section is the text its
/// backend sent ([`serde_json::value::RawValue`]), copied in unchanged, so the gateway never
/// alters a number or a string it passes on. Only the keys (from the configuration) and `_meta`
/// are encoded here.
pub fn merge(
    gateway: &Gateway,
    aggregate: &Aggregate,
    outcomes: Vec<Option<Outcome>>,
    began: &[Duration],
    elapsed: Duration,
) -> Response {
    let mut body = String::with_capacity(256);
    let mut calls = Map::new();
    let mut partial = false;
    body.push('{');
    for ((call, outcome), began) in aggregate.calls.iter().zip(outcomes).zip(began) {
        let Some(outcome) = outcome else { continue };
        let mut meta = json!({
            "upstream": &*gateway.upstreams[call.upstream].name,
            "required": call.required,
            "status": outcome.status,
            "started_ms": millis(*began),
            "latency_ms": millis(outcome.latency),
        });
        push_key(&mut body, &call.key);
        match outcome.result {
            Ok(section) => body.push_str(section.get()),
            Err(failure) => {
                partial = true;
                meta["reason"] = failure.reason.into();
                meta["detail"] = failure.detail.into();
                body.push_str("null");
            }
        }
        body.push(',');
        calls.insert(call.key.to_string(), meta);
    }
    push_key(&mut body, "_meta");
    body.push_str(
        &json!({
            "partial": partial,
            "latency_ms": millis(elapsed),
            "budget_ms": aggregate.budget.as_millis(),
            "calls": calls,
        })
        .to_string(),
    );
    body.push('}');
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(
        X_GATEWAY_PARTIAL.clone(),
        HeaderValue::from_static(if partial { "true" } else { "false" }),
    );
    // Per-user data is never for shared caches; a partial answer is not for any cache, or the
    // missing sections would outlive the outage.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if partial {
            "no-store"
        } else {
            "private, no-cache"
        }),
    );
    response
}

/// `"key":`, the key JSON-escaped.
fn push_key(body: &mut String, key: &str) {
    body.push_str(&Value::String(key.to_owned()).to_string());
    body.push(':');
}

fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}
