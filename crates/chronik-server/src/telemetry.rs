//! Tracing setup, the request span, the correlation id and the request metrics.
//!
//! [`track`] wraps every request: it makes one UUID, scopes it in a task-local (so
//! `ApiError` bodies and log lines carry the same value as the `X-HubSpot-Correlation-Id`
//! header), opens a span with the method and route template, and records the request counter
//! and latency histogram labelled by route template and status, never by raw path or account.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing::Instrument;
use uuid::Uuid;

/// HubSpot's response header for the correlation id.
pub const CORRELATION_HEADER: &str = "x-hubspot-correlation-id";

tokio::task_local! {
    static CORRELATION_ID: Uuid;
}

/// The current request's correlation id (a fresh one outside a request).
pub fn correlation_id() -> Uuid {
    CORRELATION_ID
        .try_with(|id| *id)
        .unwrap_or_else(|_| Uuid::new_v4())
}

/// Latency buckets in seconds, from 100 µs to 10 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    10.0,
];

/// Jobs per SQLite group commit.
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// The process-wide Prometheus recorder, installed on first use. Metrics are process-wide by
/// nature (the `metrics` facade has one global recorder); several servers in one test process
/// share it.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Suffix("_seconds".into()),
                    LATENCY_BUCKETS,
                )
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        metrics_exporter_prometheus::Matcher::Full(
                            "chronik_store_group_commit_jobs".into(),
                        ),
                        BATCH_BUCKETS,
                    )
                })
                .expect("bucket lists are non-empty constants")
                .build_recorder();
            let handle = recorder.handle();
            // Fails only when another recorder is already installed; then ours stays unused
            // and /metrics shows only what the handle sees.
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed");
            }
            handle
        })
        .clone()
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

/// Installs the global tracing subscriber (for the binary). `RUST_LOG` picks levels; the default
/// is `info`.
pub fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// The middleware around every request: correlation id, span, metrics, one log line.
pub async fn track(request: Request, next: Next) -> Response {
    let id = Uuid::new_v4();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().clone();
    let span = tracing::info_span!(
        "request",
        method = %method,
        route = %route,
        correlation_id = %id,
        account = tracing::field::Empty,
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    );
    let started = Instant::now();
    let mut response = CORRELATION_ID
        .scope(id, next.run(request).instrument(span.clone()))
        .await;
    let elapsed = started.elapsed();
    let status = response.status();
    span.record("status", status.as_u16());
    span.record("latency_ms", elapsed.as_secs_f64() * 1000.0);
    if let Ok(value) = HeaderValue::from_str(&id.to_string()) {
        response.headers_mut().insert(CORRELATION_HEADER, value);
    }
    let labels = [
        ("method", method.as_str().to_owned()),
        ("route", route),
        ("status", status.as_u16().to_string()),
    ];
    metrics::counter!("chronik_http_requests_total", &labels).increment(1);
    metrics::histogram!("chronik_http_request_duration_seconds", &labels)
        .record(elapsed.as_secs_f64());
    span.in_scope(|| {
        if status.is_server_error() {
            tracing::error!("request failed");
        } else {
            tracing::debug!("request served");
        }
    });
    response
}
