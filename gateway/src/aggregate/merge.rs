//! Merging: every call's outcome into one JSON answer with a `_meta` report.

use super::{Outcome, table::Aggregate};
use crate::{context::X_GATEWAY_PARTIAL, state::Gateway};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};
use serde_json::{Map, Value, json};
use std::time::Duration;

/// Builds the 200 answer from every call's outcome; `began[i]` is when call `i` started, from
/// the aggregate's start (`started_ms`).
pub fn merge(
    gateway: &Gateway,
    aggregate: &Aggregate,
    outcomes: Vec<Option<Outcome>>,
    began: &[Duration],
    elapsed: Duration,
) -> Response {
    let mut body = Map::new();
    let mut calls = Map::new();
    let mut partial = false;
    for ((call, outcome), began) in aggregate.calls.iter().zip(outcomes).zip(began) {
        let Some(outcome) = outcome else { continue };
        let mut meta = json!({
            "upstream": &*gateway.upstreams[call.upstream].name,
            "required": call.required,
            "status": outcome.status,
            "started_ms": millis(*began),
            "latency_ms": millis(outcome.latency),
        });
        let section = match outcome.result {
            Ok(value) => value,
            Err(failure) => {
                partial = true;
                meta["reason"] = failure.reason.into();
                meta["detail"] = failure.detail.into();
                Value::Null
            }
        };
        body.insert(call.key.to_string(), section);
        calls.insert(call.key.to_string(), meta);
    }
    body.insert(
        "_meta".to_owned(),
        json!({
            "partial": partial,
            "latency_ms": millis(elapsed),
            "budget_ms": aggregate.budget.as_millis(),
            "calls": calls,
        }),
    );
    let mut response = axum::Json(Value::Object(body)).into_response();
    let h = response.headers_mut();
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

fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}
