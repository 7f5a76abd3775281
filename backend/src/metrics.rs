//! Counters for `/metrics`, in the Prometheus text format, and the routes that
//! let operators watch the server: `/healthz` and `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::StatusCode;
use tokio_util::sync::CancellationToken;
use warp::filters::BoxedFilter;
use warp::Filter;

use crate::budget::MemoryBudget;
use crate::http::{self, HttpResponse};
use crate::refusal::Refused;

/// Upper bounds of the handshake-duration histogram, in seconds.
const HANDSHAKE_BUCKETS: [f64; 11] = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1];

/// Why the server closed a connection that was not a WebSocket: shed at the
/// limit, a phase's deadline passed, or a request body too slow (answered
/// with 408).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CutReason {
    Shed,
    Opening,
    Request,
    Idle,
    Body,
}

impl CutReason {
    /// Every reason, in the order `/metrics` lists them.
    const ALL: [CutReason; 5] =
        [CutReason::Shed, CutReason::Opening, CutReason::Request, CutReason::Idle, CutReason::Body];

    /// The `reason` label.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CutReason::Shed => "shed",
            CutReason::Opening => "opening",
            CutReason::Request => "request",
            CutReason::Idle => "idle",
            CutReason::Body => "body",
        }
    }
}
/// What a message was.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    Text = 0,
    Binary = 1,
}

/// Everything counted since start.
#[derive(Debug)]
pub(crate) struct Metrics {
    /// What the lab connections hold together, shown as a gauge.
    lab_memory: Arc<MemoryBudget>,
    open: AtomicI64,
    total: AtomicU64,
    messages: [AtomicU64; 2],
    bytes: [AtomicU64; 2],
    closes: Mutex<BTreeMap<Option<u16>, u64>>,
    refused: [AtomicU64; Refused::ALL.len()],
    handshake_buckets: [AtomicU64; HANDSHAKE_BUCKETS.len()],
    handshake_count: AtomicU64,
    handshake_micros: AtomicU64,
    http_open: AtomicI64,
    http_total: AtomicU64,
    http_cuts: [AtomicU64; CutReason::ALL.len()],
    /// Failed accepts: for want of descriptors, and for any other reason.
    accept_errors: [AtomicU64; 2],
}

impl Metrics {
    /// Counters at zero; `lab_memory` is the budget every lab connection draws from.
    pub(crate) fn new(lab_memory: Arc<MemoryBudget>) -> Metrics {
        Metrics {
            lab_memory,
            open: AtomicI64::default(),
            total: AtomicU64::default(),
            messages: Default::default(),
            bytes: Default::default(),
            closes: Mutex::default(),
            refused: Default::default(),
            handshake_buckets: Default::default(),
            handshake_count: AtomicU64::default(),
            handshake_micros: AtomicU64::default(),
            http_open: AtomicI64::default(),
            http_total: AtomicU64::default(),
            http_cuts: Default::default(),
            accept_errors: Default::default(),
        }
    }

    /// The lab connections' shared memory budget.
    pub(crate) fn lab_memory(&self) -> Arc<MemoryBudget> {
        Arc::clone(&self.lab_memory)
    }

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

    /// An upgrade refused for `reason`.
    pub(crate) fn refused(&self, reason: Refused) {
        self.refused[reason.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// A connection was accepted (it is not a WebSocket yet).
    pub(crate) fn http_connection_opened(&self) {
        self.http_open.fetch_add(1, Ordering::Relaxed);
        self.http_total.fetch_add(1, Ordering::Relaxed);
    }

    /// A connection that was not a WebSocket closed or became one.
    pub(crate) fn http_connection_closed(&self) {
        self.http_open.fetch_sub(1, Ordering::Relaxed);
    }

    /// The server closed a connection for `reason`.
    pub(crate) fn http_connection_cut(&self, reason: CutReason) {
        self.http_cuts[reason as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// An accept failed; `out_of_descriptors` when for want of a file descriptor.
    pub(crate) fn accept_failed(&self, out_of_descriptors: bool) {
        self.accept_errors[usize::from(!out_of_descriptors)].fetch_add(1, Ordering::Relaxed);
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
            "# HELP websocket_lab_memory_bytes Memory held by /ws/lab connections (reassembly and delayed echoes), \
             of websocket_lab_memory_limit_bytes.\n\
             # TYPE websocket_lab_memory_bytes gauge\n\
             websocket_lab_memory_bytes {}\n\
             # HELP websocket_lab_memory_limit_bytes The most /ws/lab connections may hold together (--lab-memory).\n\
             # TYPE websocket_lab_memory_limit_bytes gauge\n\
             websocket_lab_memory_limit_bytes {}",
            self.lab_memory.used(),
            self.lab_memory.limit()
        );
        let _ = writeln!(
            out,
            "# HELP websocket_upgrades_refused_total Upgrade requests refused, by reason.\n\
             # TYPE websocket_upgrades_refused_total counter"
        );
        for (reason, counter) in Refused::ALL.iter().zip(&self.refused) {
            let _ =
                writeln!(out, "websocket_upgrades_refused_total{{reason=\"{}\"}} {}", reason.as_str(), load(counter));
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
        let _ = writeln!(
            out,
            "# HELP http_connections_open Connections open now that are not WebSockets (TLS handshakes, HTTP, idle).\n\
             # TYPE http_connections_open gauge\n\
             http_connections_open {}\n\
             # HELP http_connections_total Connections accepted since start.\n\
             # TYPE http_connections_total counter\n\
             http_connections_total {}",
            self.http_open.load(Ordering::Relaxed).max(0),
            load(&self.http_total)
        );
        let _ = writeln!(
            out,
            "# HELP http_connections_cut_total Connections the server closed before an upgrade, by reason.\n\
             # TYPE http_connections_cut_total counter"
        );
        for (reason, counter) in CutReason::ALL.iter().zip(&self.http_cuts) {
            let _ = writeln!(out, "http_connections_cut_total{{reason=\"{}\"}} {}", reason.as_str(), load(counter));
        }
        let _ = writeln!(
            out,
            "# HELP accept_errors_total Failed accepts, by cause (descriptors: EMFILE or ENFILE).\n\
             # TYPE accept_errors_total counter"
        );
        for (cause, counter) in ["descriptors", "other"].iter().zip(&self.accept_errors) {
            let _ = writeln!(out, "accept_errors_total{{cause=\"{cause}\"}} {}", load(counter));
        }
        out
    }
}

/// `GET /healthz` (200 while serving, 503 once shutdown has begun) and
/// `GET /metrics`.
pub(crate) fn routes(metrics: Arc<Metrics>, stopping: CancellationToken) -> BoxedFilter<(HttpResponse,)> {
    let health = warp::path!("healthz").map(move || {
        let (status, body) = if stopping.is_cancelled() {
            (StatusCode::SERVICE_UNAVAILABLE, "shutting down")
        } else {
            (StatusCode::OK, "ok")
        };
        http::plain(status, body)
    });
    let exposition = warp::path!("metrics")
        .map(move || http::text(StatusCode::OK, metrics.render(), "text/plain; version=0.0.4; charset=utf-8"));
    warp::get().or(warp::head()).unify().and(health.or(exposition).unify()).boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_family_in_the_text_format() {
        let metrics = Metrics::new(Arc::new(MemoryBudget::new(1 << 20)));
        metrics.opened(Duration::from_micros(300));
        metrics.echoed(Kind::Text, 2, 10);
        metrics.echoed(Kind::Binary, 1, 4);
        metrics.closed(Some(1000));
        metrics.opened(Duration::from_millis(30));
        metrics.closed(None);
        metrics.refused(Refused::Origin);
        metrics.http_connection_opened();
        metrics.http_connection_opened();
        metrics.http_connection_closed();
        metrics.http_connection_cut(CutReason::Shed);
        metrics.accept_failed(true);
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
            "http_connections_open 1",
            "http_connections_total 2",
            "http_connections_cut_total{reason=\"shed\"} 1",
            "http_connections_cut_total{reason=\"body\"} 0",
            "accept_errors_total{cause=\"descriptors\"} 1",
            "accept_errors_total{cause=\"other\"} 0",
            "websocket_lab_memory_bytes 0",
            "websocket_lab_memory_limit_bytes 1048576",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
        assert!(text.contains("# TYPE websocket_handshake_duration_seconds histogram"));
    }
}
