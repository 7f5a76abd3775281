//! Counters for `/metrics`, in the Prometheus text format, and the routes that
//! let operators watch the server: `/healthz` and `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::header::{self, HeaderValue};
use hyper::StatusCode;
use tokio_util::sync::CancellationToken;
use warp::filters::BoxedFilter;
use warp::Filter;

use crate::ws::HttpResponse;

/// Upper bounds of the handshake-duration histogram, in seconds.
const HANDSHAKE_BUCKETS: [f64; 11] = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1];

/// Why upgrades are refused, as the `reason` label says it.
pub(crate) const REFUSAL_REASONS: [&str; 7] =
    ["method", "not_websocket", "bad_request", "origin", "connection_limit", "shutting_down", "lab"];

/// What a message was.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    Text = 0,
    Binary = 1,
}

/// Everything counted since start.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    open: AtomicI64,
    total: AtomicU64,
    messages: [AtomicU64; 2],
    bytes: [AtomicU64; 2],
    closes: Mutex<BTreeMap<Option<u16>, u64>>,
    refused: [AtomicU64; REFUSAL_REASONS.len()],
    handshake_buckets: [AtomicU64; HANDSHAKE_BUCKETS.len()],
    handshake_count: AtomicU64,
    handshake_micros: AtomicU64,
}

impl Metrics {
    /// A WebSocket connection opened after a handshake that took `duration`.
    pub(crate) fn opened(&self, duration: Duration) {
        self.open.fetch_add(1, Ordering::Relaxed);
        self.total.fetch_add(1, Ordering::Relaxed);
        let seconds = duration.as_secs_f64();
        for (bucket, bound) in self.handshake_buckets.iter().zip(HANDSHAKE_BUCKETS) {
            if seconds <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.handshake_count.fetch_add(1, Ordering::Relaxed);
        self.handshake_micros.fetch_add(duration.as_micros() as u64, Ordering::Relaxed);
    }

    /// A connection closed with `code` (`None`: without a close handshake).
    pub(crate) fn closed(&self, code: Option<u16>) {
        self.open.fetch_sub(1, Ordering::Relaxed);
        if let Ok(mut closes) = self.closes.lock() {
            *closes.entry(code).or_default() += 1;
        }
    }

    /// Messages and bytes echoed.
    pub(crate) fn echoed(&self, kind: Kind, messages: u64, bytes: u64) {
        self.messages[kind as usize].fetch_add(messages, Ordering::Relaxed);
        self.bytes[kind as usize].fetch_add(bytes, Ordering::Relaxed);
    }

    /// An upgrade refused for `reason` (one of [`REFUSAL_REASONS`]).
    pub(crate) fn refused(&self, reason: &str) {
        if let Some(index) = REFUSAL_REASONS.iter().position(|known| *known == reason) {
            self.refused[index].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The Prometheus text exposition of every counter.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP websocket_connections_open WebSocket connections open now.\n\
             # TYPE websocket_connections_open gauge\n\
             websocket_connections_open {}\n\
             # HELP websocket_connections_total WebSocket connections accepted since start.\n\
             # TYPE websocket_connections_total counter\n\
             websocket_connections_total {}",
            self.open.load(Ordering::Relaxed).max(0),
            load(&self.total)
        );
        let _ = writeln!(
            out,
            "# HELP websocket_messages_total Messages echoed, by type.\n# TYPE websocket_messages_total counter"
        );
        for (kind, index) in [("text", 0), ("binary", 1)] {
            let _ = writeln!(out, "websocket_messages_total{{type=\"{kind}\"}} {}", load(&self.messages[index]));
        }
        let _ = writeln!(
            out,
            "# HELP websocket_bytes_total Payload bytes echoed, by type.\n# TYPE websocket_bytes_total counter"
        );
        for (kind, index) in [("text", 0), ("binary", 1)] {
            let _ = writeln!(out, "websocket_bytes_total{{type=\"{kind}\"}} {}", load(&self.bytes[index]));
        }
        let _ = writeln!(
            out,
            "# HELP websocket_closes_total Connections ended, by close code (\"none\": no close handshake).\n\
             # TYPE websocket_closes_total counter"
        );
        if let Ok(closes) = self.closes.lock() {
            for (code, count) in closes.iter() {
                let code = code.map_or_else(|| "none".to_owned(), |code| code.to_string());
                let _ = writeln!(out, "websocket_closes_total{{code=\"{code}\"}} {count}");
            }
        }
        let _ = writeln!(
            out,
            "# HELP websocket_upgrades_refused_total Upgrade requests refused, by reason.\n\
             # TYPE websocket_upgrades_refused_total counter"
        );
        for (reason, counter) in REFUSAL_REASONS.iter().zip(&self.refused) {
            let _ = writeln!(out, "websocket_upgrades_refused_total{{reason=\"{reason}\"}} {}", load(counter));
        }
        let _ = writeln!(
            out,
            "# HELP websocket_handshake_duration_seconds From the upgrade request to the socket being handed over.\n\
             # TYPE websocket_handshake_duration_seconds histogram"
        );
        for (bound, bucket) in HANDSHAKE_BUCKETS.iter().zip(&self.handshake_buckets) {
            let _ = writeln!(out, "websocket_handshake_duration_seconds_bucket{{le=\"{bound}\"}} {}", load(bucket));
        }
        let count = load(&self.handshake_count);
        let _ = writeln!(out, "websocket_handshake_duration_seconds_bucket{{le=\"+Inf\"}} {count}");
        let sum = load(&self.handshake_micros) as f64 / 1e6;
        let _ = writeln!(out, "websocket_handshake_duration_seconds_sum {sum}");
        let _ = writeln!(out, "websocket_handshake_duration_seconds_count {count}");
        out
    }
}

/// `GET /healthz` (200 while serving, 503 once shutdown has begun) and
/// `GET /metrics`.
pub(crate) fn routes(metrics: Arc<Metrics>, stopping: CancellationToken) -> BoxedFilter<(HttpResponse,)> {
    let health = warp::path!("healthz").map(move || {
        let (status, body) = if stopping.is_cancelled() {
            (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n")
        } else {
            (StatusCode::OK, "ok\n")
        };
        text(status, body.to_owned(), "text/plain; charset=utf-8")
    });
    let exposition = warp::path!("metrics")
        .map(move || text(StatusCode::OK, metrics.render(), "text/plain; version=0.0.4; charset=utf-8"));
    warp::get().or(warp::head()).unify().and(health.or(exposition).unify()).boxed()
}

fn text(status: StatusCode, body: String, content_type: &'static str) -> HttpResponse {
    let mut response = HttpResponse::new(body.into());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    crate::assets::security_headers(headers);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_family_in_the_text_format() {
        let metrics = Metrics::default();
        metrics.opened(Duration::from_micros(300));
        metrics.echoed(Kind::Text, 2, 10);
        metrics.echoed(Kind::Binary, 1, 4);
        metrics.closed(Some(1000));
        metrics.opened(Duration::from_millis(30));
        metrics.closed(None);
        metrics.refused("origin");
        let text = metrics.render();
        for line in [
            "websocket_connections_open 0",
            "websocket_connections_total 2",
            "websocket_messages_total{type=\"text\"} 2",
            "websocket_bytes_total{type=\"binary\"} 4",
            "websocket_closes_total{code=\"1000\"} 1",
            "websocket_closes_total{code=\"none\"} 1",
            "websocket_upgrades_refused_total{reason=\"origin\"} 1",
            "websocket_upgrades_refused_total{reason=\"connection_limit\"} 0",
            "websocket_handshake_duration_seconds_bucket{le=\"0.0005\"} 1",
            "websocket_handshake_duration_seconds_bucket{le=\"0.05\"} 2",
            "websocket_handshake_duration_seconds_bucket{le=\"+Inf\"} 2",
            "websocket_handshake_duration_seconds_count 2",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
        assert!(text.contains("# TYPE websocket_handshake_duration_seconds histogram"));
    }
}
