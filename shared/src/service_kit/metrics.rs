//! `GET /metrics`: what a service counts, in Prometheus's text format.
//!
//! Every service counts its HTTP traffic the same way, here, and adds the counters of its own
//! domain (the auth-service counts logins by outcome and detected refresh-token reuse):
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `http_server_requests_total` | counter | `route`, `method`, `status_class` |
//! | `http_server_request_duration_seconds` | histogram | `route` |
//! | (the service's own, registered with [`ServiceMetrics::counter`]) | counter | fixed at start |
//!
//! Prometheus adds `job` and `instance` when it scrapes, so the names need no service prefix.
//! **Labels are bounded**: `route` is the route *template* axum matched (`/users/{id}`, never
//! `/users/42`), `(unmatched)` for paths no route serves; methods outside the standard nine are
//! `OTHER`. Each handle is registered once and then found by a short scan under a read lock, so a
//! request allocates nothing to be counted.
//!
//! **Who may read it.** A service sits behind the gateway, which never forwards `/metrics` (no
//! route maps it), so only hosts that reach the service directly can ask. With `[metrics] token`
//! set — as the compose file does, for Prometheus — a request must also carry
//! `Authorization: Bearer <token>`, else 401; the token is compared in constant time.
//!
//! The numbers live in a recorder the service's state owns, never in a global: the demo runs
//! three services in one process and each keeps its own counts.

use crate::{
    Problem,
    metric_labels::{class_label, method_label},
};
use axum::{
    Router,
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::get,
};
use http::{HeaderValue, Method, StatusCode, header};
use metrics::{Counter, Histogram, Key, KeyName, Label, Metadata, Recorder, SharedString};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use secrecy::SecretString;
use serde::Deserialize;
use std::{
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

/// Requests answered, by route template, method and status class.
pub const REQUESTS: &str = "http_server_requests_total";
/// Time from the request's arrival to its response head, by route template.
pub const REQUEST_DURATION: &str = "http_server_request_duration_seconds";

/// The route label of a request no route matched.
const UNMATCHED: &str = "(unmatched)";

/// Histogram buckets, in seconds: from an in-memory lookup to a slow database query.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));

/// `[metrics]`: who may read `GET /metrics`.
///
/// ```toml
/// [metrics]
/// token = "…"    # when set, `Authorization: Bearer <token>` is required
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// A bearer token every `/metrics` request must carry. Off by default (a service is
    /// reached only from inside the system); the compose file sets a DEMO ONLY one.
    pub token: Option<SecretString>,
}

/// A service's metrics: the recorder, the HTTP handles, and who may read them. Cheap to clone.
#[derive(Clone)]
pub struct ServiceMetrics {
    inner: Arc<Inner>,
}

struct Inner {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    token: Option<SecretString>,
    /// One entry per (route, method, status class) seen: a few dozen per service.
    requests: RwLock<Vec<RequestHandles>>,
    durations: RwLock<Vec<(SharedString, Histogram)>>,
}

struct RequestHandles {
    route: SharedString,
    method: &'static str,
    class: u16,
    counter: Counter,
}

impl std::fmt::Debug for ServiceMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceMetrics")
            .field("token", &self.inner.token.is_some())
            .finish_non_exhaustive()
    }
}

impl ServiceMetrics {
    /// Empty metrics, readable as `config` says.
    pub fn new(config: &MetricsConfig) -> ServiceMetrics {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&BUCKETS)
            .expect("the bucket list is not empty")
            .build_recorder();
        recorder.describe_counter(
            KeyName::from_const_str(REQUESTS),
            None,
            SharedString::const_str(
                "Requests answered, by route template, method and status class.",
            ),
        );
        recorder.describe_histogram(
            KeyName::from_const_str(REQUEST_DURATION),
            Some(metrics::Unit::Seconds),
            SharedString::const_str(
                "Time from a request's arrival to its response head, by route template.",
            ),
        );
        let handle = recorder.handle();
        ServiceMetrics {
            inner: Arc::new(Inner {
                recorder,
                handle,
                token: config.token.clone(),
                requests: RwLock::new(Vec::new()),
                durations: RwLock::new(Vec::new()),
            }),
        }
    }

    /// A counter of the service's own, described with `help`. Register each (name, labels)
    /// once, at start, and keep the handle: counting is then one atomic add.
    pub fn counter(
        &self,
        name: &'static str,
        help: &'static str,
        labels: &[(&'static str, &'static str)],
    ) -> Counter {
        let recorder = &self.inner.recorder;
        recorder.describe_counter(
            KeyName::from_const_str(name),
            None,
            SharedString::const_str(help),
        );
        let labels = labels
            .iter()
            .map(|&(k, v)| Label::from_static_parts(k, v))
            .collect::<Vec<_>>();
        let counter = recorder.register_counter(&Key::from_parts(name, labels), &METADATA);
        // Registered with 0, so the series exists (and `rate()` works) before the first event.
        counter.increment(0);
        counter
    }

    /// Everything, in the Prometheus text format.
    pub fn render(&self) -> String {
        self.inner.handle.run_upkeep();
        self.inner.handle.render()
    }

    /// Counts one answered request.
    fn record(&self, route: &str, method: &Method, status: StatusCode, elapsed: Duration) {
        let method = method_label(method);
        let class = status.as_u16() / 100;
        let inner = &self.inner;
        let counted = |handles: &[RequestHandles]| {
            handles
                .iter()
                .find(|h| h.class == class && h.method == method && &*h.route == route)
                .map(|h| h.counter.increment(1))
                .is_some()
        };
        if !counted(&inner.requests.read().unwrap_or_else(|e| e.into_inner())) {
            let mut handles = inner.requests.write().unwrap_or_else(|e| e.into_inner());
            if !counted(&handles) {
                let route = SharedString::from_owned(route.to_owned());
                let labels = vec![
                    Label::new("route", route.clone()),
                    Label::from_static_parts("method", method),
                    Label::from_static_parts("status_class", class_label(class)),
                ];
                let counter = inner
                    .recorder
                    .register_counter(&Key::from_parts(REQUESTS, labels), &METADATA);
                counter.increment(1);
                handles.push(RequestHandles {
                    route,
                    method,
                    class,
                    counter,
                });
            }
        }
        let timed = |durations: &[(SharedString, Histogram)]| {
            durations
                .iter()
                .find(|(r, _)| &**r == route)
                .map(|(_, h)| h.record(elapsed.as_secs_f64()))
                .is_some()
        };
        if !timed(&inner.durations.read().unwrap_or_else(|e| e.into_inner())) {
            let mut durations = inner.durations.write().unwrap_or_else(|e| e.into_inner());
            if !timed(&durations) {
                let route = SharedString::from_owned(route.to_owned());
                let histogram = inner.recorder.register_histogram(
                    &Key::from_parts(REQUEST_DURATION, vec![Label::new("route", route.clone())]),
                    &METADATA,
                );
                histogram.record(elapsed.as_secs_f64());
                durations.push((route, histogram));
            }
        }
    }
}

/// Adds `GET /metrics` to a service's finished router and counts every request that reaches
/// it (the metrics path too: a scrape is traffic).
pub fn wrap(router: Router, metrics: ServiceMetrics) -> Router {
    router
        .route("/metrics", get(serve).with_state(metrics.clone()))
        .layer(axum::middleware::from_fn_with_state(metrics, count))
}

async fn count(State(metrics): State<ServiceMetrics>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    // The template axum matched, copied out before the request moves on (an `Arc` clone).
    let route = request.extensions().get::<MatchedPath>().cloned();
    let response = next.run(request).await;
    let route = route.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
    metrics.record(route, &method, response.status(), started.elapsed());
    response
}

async fn serve(State(metrics): State<ServiceMetrics>, request: Request) -> Response {
    if let Some(token) = &metrics.inner.token {
        let matches = crate::bearer::carries_token(request.headers(), token);
        if !matches {
            return Problem::new(
                StatusCode::UNAUTHORIZED,
                "metrics_token_required",
                "`/metrics` needs `Authorization: Bearer <token>` ([metrics] token)",
            )
            .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))
            .into_response();
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        metrics.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    fn app(config: &MetricsConfig) -> (Router, ServiceMetrics) {
        let metrics = ServiceMetrics::new(config);
        let routes = Router::new().route("/items/{id}", get(|| async { "an item" }));
        (wrap(routes, metrics.clone()), metrics)
    }

    async fn get_text(app: &Router, path: &str, token: Option<&str>) -> (StatusCode, String) {
        let mut request = http::Request::get(path);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = app
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn requests_are_counted_by_route_template_never_by_raw_path() {
        let (app, metrics) = app(&MetricsConfig::default());
        for id in ["1", "2", "42"] {
            assert_eq!(get_text(&app, &format!("/items/{id}"), None).await.0, 200);
        }
        get_text(&app, "/nothing/here", None).await;
        let orders = metrics.counter("shop_orders_total", "Orders placed.", &[]);
        orders.increment(2);

        let (status, text) = get_text(&app, "/metrics", None).await;
        assert_eq!(status, 200);
        let line = |needle: &str| text.lines().find(|l| l.contains(needle)).map(str::to_owned);
        let items = line("route=\"/items/{id}\"").expect(&text);
        assert!(
            items.starts_with(REQUESTS) && items.ends_with(" 3"),
            "{items}"
        );
        assert!(items.contains("status_class=\"2xx\""), "{items}");
        assert!(
            !text.contains("/items/42"),
            "a raw path became a label:\n{text}"
        );
        assert!(line("route=\"(unmatched)\"").is_some(), "{text}");
        assert!(text.contains("shop_orders_total 2"), "{text}");
        assert!(
            text.contains("# HELP shop_orders_total Orders placed."),
            "{text}"
        );
    }

    #[tokio::test]
    async fn with_a_token_metrics_need_it() {
        let config = MetricsConfig {
            token: Some(SecretString::from("a-long-scrape-token-for-tests")),
        };
        let (app, _) = app(&config);
        let (status, body) = get_text(&app, "/metrics", None).await;
        assert_eq!(status, 401);
        assert!(body.contains("metrics_token_required"), "{body}");
        assert_eq!(get_text(&app, "/metrics", Some("wrong")).await.0, 401);
        let (status, text) =
            get_text(&app, "/metrics", Some("a-long-scrape-token-for-tests")).await;
        assert_eq!(status, 200);
        assert!(text.contains(REQUESTS), "{text}");
    }
}
