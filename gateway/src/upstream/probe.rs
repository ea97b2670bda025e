//! Active health checks, and the readiness report built from them.
//!
//! For an upstream with `[upstreams.health_check]`, a background task asks every target
//! `GET path` every `interval_ms` (all targets at once, each within `timeout_ms`); a 2xx answer
//! marks the target healthy, anything else unhealthy. The balancer skips unhealthy targets, so a
//! dead instance stops getting traffic even when no request has failed on it yet, and gets it
//! back as soon as a check passes again. The task holds only a `Weak` reference to the
//! upstreams: it ends when the gateway that owns them is dropped.
//!
//! Upstreams without active checks are probed with a TCP connection when `/readyz` is asked.

use super::{Target, TargetState, Upstream, breaker::State};
use crate::limits::LimitedBody;
use http::{Request, header};
use serde_json::{Value, json};
use std::{
    sync::{Arc, Weak, atomic::Ordering},
    time::Duration,
};

/// Starts one checking task per upstream that has `health_check` configured. A task holds its
/// upstream weakly: it ends when no configuration uses that upstream any more (the gateway was
/// dropped, or a reload removed or changed it).
pub fn spawn<'a>(upstreams: impl IntoIterator<Item = &'a Arc<Upstream>>) {
    for upstream in upstreams {
        let Some(check) = &upstream.health_check else {
            continue;
        };
        let interval = Duration::from_millis(check.interval_ms);
        let weak: Weak<Upstream> = Arc::downgrade(upstream);
        tokio::spawn(async move {
            loop {
                let Some(upstream) = weak.upgrade() else {
                    break;
                };
                check_all(&upstream).await;
                drop(upstream);
                tokio::time::sleep(interval).await;
            }
        });
    }
}

/// Checks every target of `upstream` once, concurrently, and records the results.
pub async fn check_all(upstream: &Upstream) {
    let Some(check) = &upstream.health_check else {
        return;
    };
    let timeout = Duration::from_millis(check.timeout_ms);
    let checks = upstream.targets().iter().map(|state| async move {
        let healthy = check_one(state, &check.path, timeout).await;
        let was = state.healthy.swap(healthy, Ordering::Relaxed);
        if was != healthy {
            tracing::warn!(
                upstream = %upstream.name,
                target = %state.target.authority,
                healthy,
                "health check changed"
            );
        }
    });
    futures::future::join_all(checks).await;
}

async fn check_one(state: &TargetState, path: &str, timeout: Duration) -> bool {
    let target = &state.target;
    let Ok(uri) = path.parse::<http::Uri>() else {
        return false;
    };
    let Ok(request) = Request::get(uri)
        .header(header::HOST, target.host_header.clone())
        .body(LimitedBody::new(axum::body::Body::empty(), 0))
    else {
        return false;
    };
    matches!(
        tokio::time::timeout(timeout, state.pool.send(request)).await,
        Ok(Ok(response)) if response.status().is_success()
    )
}

/// Can a TCP connection be opened to `target` within 500 ms?
async fn connects(target: &Target) -> bool {
    let port = target.authority.port_u16().unwrap_or(80);
    let addr = format!("{}:{port}", target.authority.host());
    matches!(
        tokio::time::timeout(
            Duration::from_millis(500),
            tokio::net::TcpStream::connect(addr)
        )
        .await,
        Ok(Ok(_))
    )
}

/// One target's line in the report.
fn target_report(state: &TargetState, healthy: bool, now_ms: u64) -> (bool, Value) {
    let circuit = state.breaker.state();
    let usable = healthy && (circuit == State::Closed || state.breaker.would_admit(now_ms));
    let report = json!({
        "target": state.target.authority.as_str(),
        "healthy": healthy,
        "circuit": circuit.as_str(),
        "outstanding": state.outstanding.load(Ordering::Relaxed),
    });
    (usable, report)
}

/// The readiness of every upstream: `(all ready, report)`. An upstream is ready when at least
/// one target is healthy and its circuit is not open.
pub async fn report(upstreams: &[Arc<Upstream>]) -> (bool, Value) {
    let per_upstream = upstreams.iter().map(|upstream| async move {
        let now = upstream.now_ms();
        let checks = upstream.targets().iter().map(|state| async move {
            let healthy = if upstream.health_check.is_some() {
                state.healthy.load(Ordering::Relaxed)
            } else {
                connects(&state.target).await
            };
            target_report(state, healthy, now)
        });
        let targets = futures::future::join_all(checks).await;
        let usable = targets.iter().filter(|(ok, _)| *ok).count();
        let ready = usable > 0;
        let value = json!({
            "ready": ready,
            "usable_targets": usable,
            "checks": if upstream.health_check.is_some() { "active" } else { "connect" },
            "targets": targets.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
        });
        (upstream.name.to_string(), ready, value)
    });
    let results = futures::future::join_all(per_upstream).await;
    let all_ready = results.iter().all(|(_, ready, _)| *ready);
    let upstreams: serde_json::Map<String, Value> = results
        .into_iter()
        .map(|(name, _, value)| (name, value))
        .collect();
    (all_ready, Value::Object(upstreams))
}
