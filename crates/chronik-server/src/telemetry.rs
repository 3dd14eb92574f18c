//! Tracing setup, the request span, the correlation id and the request metrics.
//!
//! [`track`] wraps every request: it makes one UUID, scopes it in a task-local (so
//! `ApiError` bodies and log lines carry the same value as the `X-HubSpot-Correlation-Id`
//! header), opens a span with the method and route template, and records the request counter
//! and latency histogram labelled by route template and status, never by raw path or account.
//!
//! [`METRICS`] lists every other metric the server and the store record, and
//! [`metrics_handle_for`] registers each of them (at zero) when the server starts, so `/metrics`
//! shows every counter, gauge and histogram from the first scrape, not only after the first
//! write that touches it: a dashboard or alert then sees 0, not a missing series.

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

/// What a metric is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// `metrics::counter!`.
    Counter,
    /// `metrics::gauge!`.
    Gauge,
    /// `metrics::histogram!`.
    Histogram,
}

/// On which backends a metric is recorded, which decides its labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricScope {
    /// On every backend, without labels.
    Unlabelled,
    /// Only on this backend, without labels.
    UnlabelledOn(&'static str),
    /// On these backends, labelled `backend="<name>"`.
    PerBackend(&'static [&'static str]),
}

/// A metric recorded outside the request middleware.
#[derive(Debug, Clone, Copy)]
pub struct Metric {
    /// Its name.
    pub name: &'static str,
    /// Counter, gauge or histogram.
    pub kind: MetricKind,
    /// Where it is recorded.
    pub scope: MetricScope,
    /// The `# HELP` text.
    pub help: &'static str,
}

const SQLITE: &[&str] = &["sqlite"];
const BOTH: &[&str] = &["sqlite", "postgres"];

/// Every metric recorded outside [`track`] (whose two are labelled by route and status, so they
/// have no series before the first request). A test checks that every `metrics::counter!`,
/// `gauge!` and `histogram!` in the workspace's sources is listed here.
pub const METRICS: &[Metric] = &[
    Metric {
        name: "chronik_store_commits_total",
        kind: MetricKind::Counter,
        scope: MetricScope::PerBackend(BOTH),
        help: "Write transactions committed.",
    },
    Metric {
        name: "chronik_store_rows_written_total",
        kind: MetricKind::Counter,
        scope: MetricScope::PerBackend(BOTH),
        help: "Rows written by committed transactions.",
    },
    Metric {
        name: "chronik_store_group_commit_jobs",
        kind: MetricKind::Histogram,
        scope: MetricScope::PerBackend(SQLITE),
        help: "Requests committed together in one SQLite transaction.",
    },
    Metric {
        name: "chronik_store_staged_completions",
        kind: MetricKind::Gauge,
        scope: MetricScope::PerBackend(SQLITE),
        help: "Completions staged in SQLite's log, not yet copied into their indexed table.",
    },
    Metric {
        name: "chronik_store_merged_completions_total",
        kind: MetricKind::Counter,
        scope: MetricScope::PerBackend(SQLITE),
        help: "Staged completions copied into their indexed table.",
    },
    Metric {
        name: "chronik_store_wal_pages",
        kind: MetricKind::Gauge,
        scope: MetricScope::PerBackend(SQLITE),
        help: "Pages in SQLite's write-ahead log at the last checkpoint.",
    },
    Metric {
        name: "chronik_store_checkpointed_pages_total",
        kind: MetricKind::Counter,
        scope: MetricScope::PerBackend(SQLITE),
        help: "Write-ahead log pages copied into the database by checkpoints.",
    },
    Metric {
        name: "chronik_store_wal_restarts_total",
        kind: MetricKind::Counter,
        scope: MetricScope::PerBackend(SQLITE),
        help: "Write-ahead log restarts (RESTART checkpoints).",
    },
    Metric {
        name: "chronik_custom_event_completions_total",
        kind: MetricKind::Counter,
        scope: MetricScope::Unlabelled,
        help: "Custom event completions stored.",
    },
    Metric {
        name: "chronik_custom_event_duplicates_total",
        kind: MetricKind::Counter,
        scope: MetricScope::Unlabelled,
        help: "Custom event completions dropped as repeats of a stored uuid.",
    },
    Metric {
        name: "chronik_custom_event_settings_changed_total",
        kind: MetricKind::Counter,
        scope: MetricScope::Unlabelled,
        help: "Sends checked again because the account's definitions or tokens changed.",
    },
    Metric {
        name: "chronik_custom_event_single_send_group",
        kind: MetricKind::Histogram,
        scope: MetricScope::UnlabelledOn("postgres"),
        help: "Single custom event sends stored together in one PostgreSQL transaction.",
    },
];

/// Describes and registers every metric of [`METRICS`] that `backend` records, without
/// changing a value already recorded (a gauge the store set while opening stays as it is).
pub fn register_metrics(backend: &str) {
    for m in METRICS {
        let label = match m.scope {
            MetricScope::Unlabelled => None,
            MetricScope::UnlabelledOn(only) if only == backend => None,
            MetricScope::UnlabelledOn(_) => continue,
            MetricScope::PerBackend(backends) if backends.contains(&backend) => {
                Some(("backend", backend.to_owned()))
            }
            MetricScope::PerBackend(_) => continue,
        };
        let labels: Vec<(&'static str, String)> = label.into_iter().collect();
        match m.kind {
            MetricKind::Counter => {
                metrics::describe_counter!(m.name, m.help);
                metrics::counter!(m.name, &labels).increment(0);
            }
            MetricKind::Gauge => {
                metrics::describe_gauge!(m.name, m.help);
                metrics::gauge!(m.name, &labels).increment(0.0);
            }
            MetricKind::Histogram => {
                metrics::describe_histogram!(m.name, m.help);
                // Taking the handle registers it; it renders with empty buckets.
                let _ = metrics::histogram!(m.name, &labels);
            }
        }
    }
}

/// [`metrics_handle`], with every metric `backend` records registered ([`register_metrics`]).
pub fn metrics_handle_for(backend: &str) -> PrometheusHandle {
    let handle = metrics_handle();
    register_metrics(backend);
    handle
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(backend: &str) -> String {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || register_metrics(backend));
        handle.render()
    }

    #[test]
    fn every_metric_of_a_backend_is_rendered_before_anything_is_recorded() {
        for backend in ["sqlite", "postgres"] {
            let text = rendered(backend);
            for m in METRICS {
                let (expected, label) = match m.scope {
                    MetricScope::Unlabelled => (true, String::new()),
                    MetricScope::UnlabelledOn(only) => (only == backend, String::new()),
                    MetricScope::PerBackend(backends) => (
                        backends.contains(&backend),
                        format!("{{backend=\"{backend}\"}}"),
                    ),
                };
                let series = match m.kind {
                    MetricKind::Histogram => format!("{}_count{label} 0", m.name),
                    _ => format!("{}{label} 0", m.name),
                };
                assert_eq!(
                    text.lines().any(|l| l == series),
                    expected,
                    "{backend}: {series}\n{text}"
                );
                if expected {
                    assert!(
                        text.contains(&format!("# HELP {} {}", m.name, m.help)),
                        "{text}"
                    );
                }
            }
        }
    }

    /// Every `metrics::counter!`/`gauge!`/`histogram!` with a literal name in the workspace's
    /// sources, as (file, kind, name, backend label).
    fn recorded_in_sources() -> Vec<(String, MetricKind, String, Option<String>)> {
        let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("crates/");
        let mut files = Vec::new();
        let mut dirs = vec![crates.to_path_buf()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                if path.is_dir() && name != "target" && name != "tests" {
                    dirs.push(path);
                } else if name.ends_with(".rs") {
                    files.push(path);
                }
            }
        }
        let mut found = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for (macro_name, kind) in [
                ("metrics::counter!(\"", MetricKind::Counter),
                ("metrics::gauge!(\"", MetricKind::Gauge),
                ("metrics::histogram!(\"", MetricKind::Histogram),
            ] {
                for (at, _) in text.match_indices(macro_name) {
                    let rest = &text[at + macro_name.len()..];
                    let name = &rest[..rest.find('"').unwrap()];
                    let call = &rest[..rest.find(')').unwrap()];
                    let backend = call
                        .split_once("\"backend\" => \"")
                        .map(|(_, b)| b[..b.find('"').unwrap()].to_owned());
                    found.push((file.display().to_string(), kind, name.to_owned(), backend));
                }
            }
        }
        found
    }

    #[test]
    fn every_metric_recorded_in_the_sources_is_listed() {
        let found = recorded_in_sources();
        assert!(
            found
                .iter()
                .any(|f| f.2 == "chronik_store_staged_completions"),
            "the scan finds the store's metrics: {found:?}"
        );
        for (file, kind, name, backend) in found {
            if name.starts_with("chronik_http_") {
                continue; // labelled by route and status: see `track`.
            }
            let listed = METRICS.iter().find(|m| m.name == name);
            let Some(m) = listed else {
                panic!("{file}: {name} is recorded but not listed in METRICS");
            };
            assert_eq!(m.kind, kind, "{file}: {name}");
            match (m.scope, backend) {
                (MetricScope::PerBackend(backends), Some(b)) => {
                    assert!(backends.contains(&b.as_str()), "{file}: {name} on {b}")
                }
                (MetricScope::Unlabelled | MetricScope::UnlabelledOn(_), None) => {}
                (scope, backend) => panic!("{file}: {name}: {scope:?} but label {backend:?}"),
            }
        }
    }
}
