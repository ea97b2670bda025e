//! OTLP export: each request's span, sent to an OpenTelemetry collector when one is configured.
//!
//! Off by default — the demo needs no collector. With `[tracing] otlp_endpoint =
//! "http://collector:4318"` (or the standard `OTEL_EXPORTER_OTLP_ENDPOINT`), the gateway sends
//! one server span per request it handled to `<endpoint>/v1/traces` (OTLP over HTTP, protobuf),
//! in batches, from a background thread: a request never waits for the collector, and a
//! collector that is down costs dropped spans, not failed requests.
//!
//! The span carries the request's W3C ids exactly ([`shared::trace_context`]): its trace id, the
//! gateway's own span id, and the client's span as its parent when the client sent a
//! `traceparent`. So what the collector shows matches the logs, the problem bodies and the
//! decision records.
//!
//! A leaf: the pipeline hands it what it learned ([`RequestSpan`]), it imports nothing above it.
//! The `opentelemetry` SDK and its OTLP exporter do the protocol and the batching (an
//! established implementation of a protocol with many details); building a span allocates, so it
//! happens only when export is on.

use opentelemetry::{
    Context, KeyValue,
    trace::{
        SpanBuilder, SpanContext, SpanId, SpanKind, TraceContextExt, TraceFlags, TraceId,
        TraceState, Tracer as _, TracerProvider as _,
    },
};
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::{
    Resource,
    trace::{SdkTracer, SdkTracerProvider},
};
use shared::trace_context::TraceContext;
use std::time::{Duration, SystemTime};

/// The standard variable naming the collector when the configuration does not.
pub const ENDPOINT_ENV: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// Sends request spans to a collector.
pub struct Exporter {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
}

impl std::fmt::Debug for Exporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exporter").finish_non_exhaustive()
    }
}

/// What the pipeline learned about one request, for its span.
pub struct RequestSpan<'a> {
    /// The request's place in its trace.
    pub trace: &'a TraceContext,
    /// When it arrived.
    pub started: SystemTime,
    /// Arrival to response head.
    pub latency: Duration,
    /// Method.
    pub method: &'a str,
    /// The normalised path.
    pub path: &'a str,
    /// The route or aggregate it took.
    pub route: Option<&'a str>,
    /// The response status.
    pub status: u16,
    /// The request id.
    pub request_id: &'a str,
    /// The gateway's reason when it answered itself.
    pub reason: Option<&'static str>,
}

impl Exporter {
    /// An exporter to `endpoint` (the collector's base URL, `http://host:4318`), or the
    /// reason it cannot be built. Needs no running runtime: the batches leave from a thread of
    /// their own.
    pub fn new(endpoint: &str) -> Result<Exporter, String> {
        let base = endpoint.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(format!(
                "`{endpoint}` is not an http:// or https:// URL (the collector's OTLP/HTTP address, e.g. http://localhost:4318)"
            ));
        }
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .with_endpoint(format!("{base}/v1/traces"))
            .build()
            .map_err(|e| format!("the OTLP exporter cannot be built: {e}"))?;
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(Resource::builder().with_service_name("gateway").build())
            .build();
        let tracer = provider.tracer("gateway");
        Ok(Exporter { provider, tracer })
    }

    /// Records one request's span; it leaves with the next batch.
    pub fn record(&self, span: &RequestSpan<'_>) {
        let trace_id = TraceId::from_bytes(span.trace.trace_id().to_bytes());
        let flags = TraceFlags::new(span.trace.flags()) | TraceFlags::SAMPLED;
        // The client's span, when it sent one, is the parent; otherwise this is the trace's root.
        let parent = match span.trace.parent_id() {
            Some(parent) => Context::new().with_remote_span_context(SpanContext::new(
                trace_id,
                SpanId::from_bytes(parent.to_bytes()),
                flags,
                true,
                TraceState::default(),
            )),
            None => Context::new(),
        };
        let name = match span.route {
            Some(route) => format!("{} {route}", span.method),
            None => span.method.to_owned(),
        };
        let mut attributes = vec![
            KeyValue::new("http.request.method", span.method.to_owned()),
            KeyValue::new("url.path", span.path.to_owned()),
            KeyValue::new("http.response.status_code", i64::from(span.status)),
            KeyValue::new("gateway.request_id", span.request_id.to_owned()),
        ];
        if let Some(route) = span.route {
            attributes.push(KeyValue::new("http.route", route.to_owned()));
        }
        if let Some(reason) = span.reason {
            attributes.push(KeyValue::new("gateway.reason", reason));
        }
        let builder = SpanBuilder::from_name(name)
            .with_kind(SpanKind::Server)
            .with_trace_id(trace_id)
            .with_span_id(SpanId::from_bytes(span.trace.span_id().to_bytes()))
            .with_start_time(span.started)
            .with_attributes(attributes);
        let mut otel_span = self.tracer.build_with_context(builder, &parent);
        opentelemetry::trace::Span::end_with_timestamp(&mut otel_span, span.started + span.latency);
    }

    /// Sends what is batched now (tests; and at shutdown).
    pub fn flush(&self) {
        if let Err(error) = self.provider.force_flush() {
            tracing::warn!(%error, "spans could not be sent to the OTLP collector");
        }
    }
}
