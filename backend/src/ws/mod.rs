//! The WebSocket endpoints, `/ws` (the echo) and `/ws/lab` (the echo plus
//! commands): the upgrade handshake and the whole life of a connection.
//!
//! A client that connects with the query key `inspect` first gets a report of
//! its own handshake (`report.rs`); others get nothing but echoes. On `/ws/lab`,
//! `?status=NNN` refuses the upgrade with that HTTP status, on purpose.
//!
//! This module takes the hyper upgrade itself (instead of going through warp's
//! `ws()` filter) so that the socket's buffers and limits come from the server's
//! configuration. Subprotocols: the server selects none. A client that offers
//! some still connects, with no `Sec-WebSocket-Protocol` in the answer (browsers
//! then fail the connection themselves; other clients carry on).

mod echo;
mod handshake;
mod keepalive;
mod lab;
mod protocol;
mod report;
mod stage;
mod utf8;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_rustls::server::TlsStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn, Instrument};

use crate::config::Config;
use crate::metrics::Metrics;
use echo::{Buffered, Limits, Start, Transport};
pub(crate) use handshake::HttpResponse;
use handshake::{check_handshake, Refusal};
use lab::Lab;
use stage::{Echo, Stage};

/// The two WebSocket endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// `/ws`: the echo.
    Echo,
    /// `/ws/lab`: the echo, obeying commands.
    Lab,
}

impl Route {
    /// The endpoint served at `path`, if one is.
    pub(crate) fn at(path: &str) -> Option<Route> {
        match path {
            "/ws" => Some(Route::Echo),
            "/ws/lab" => Some(Route::Lab),
            _ => None,
        }
    }
}

/// What the query string of an upgrade request asks for.
#[derive(Debug, Default, PartialEq, Eq)]
struct Asked {
    /// `inspect`: send the handshake report first.
    inspect: bool,
    /// `status=NNN` (lab only): refuse the upgrade with this status.
    refuse: Option<StatusCode>,
}

impl Asked {
    fn read(route: Route, query: Option<&str>) -> Result<Asked, Refusal> {
        let mut asked = Asked::default();
        for pair in query.unwrap_or_default().split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "inspect" => asked.inspect = true,
                "status" if route == Route::Lab => {
                    let status = value
                        .parse::<u16>()
                        .ok()
                        .filter(|code| (200..=599).contains(code))
                        .and_then(|code| StatusCode::from_u16(code).ok())
                        .ok_or_else(|| {
                            Refusal::new(
                                StatusCode::BAD_REQUEST,
                                "bad_request",
                                "lab: ?status= takes an HTTP status from 200 to 599",
                            )
                        })?;
                    asked.refuse = Some(status);
                }
                _ => {}
            }
        }
        Ok(asked)
    }
}

/// What every WebSocket connection shares: limits, the shutdown signal and the
/// tracker that lets shutdown wait for the close handshakes.
pub(crate) struct Endpoint {
    limits: Limits,
    metrics: Arc<Metrics>,
    allowed_origins: Vec<String>,
    slots: Arc<Semaphore>,
    max_connections: usize,
    shutdown: CancellationToken,
    tracker: TaskTracker,
    next_id: AtomicU64,
}

impl Endpoint {
    pub(crate) fn new(
        config: &Config,
        metrics: Arc<Metrics>,
        shutdown: CancellationToken,
        tracker: TaskTracker,
    ) -> Endpoint {
        Endpoint {
            metrics,
            limits: Limits {
                max_message_bytes: u64::from(config.max_message_bytes),
                ping_interval: config.ping_interval,
                ping_timeout: config.ping_timeout,
                close_timeout: config.shutdown_grace,
            },
            allowed_origins: config.allowed_origin.clone(),
            slots: Arc::new(Semaphore::new(config.max_connections as usize)),
            max_connections: config.max_connections as usize,
            shutdown,
            tracker,
            next_id: AtomicU64::new(1),
        }
    }

    /// Answers an upgrade request on `/ws` or `/ws/lab`: either `101 Switching
    /// Protocols`, with the echo running on the upgraded connection, or an HTTP
    /// error that says what was wrong with the request.
    pub(crate) fn upgrade(
        self: &Arc<Self>,
        mut request: Request<Incoming>,
        peer: SocketAddr,
        route: Route,
    ) -> HttpResponse {
        let admitted = self.admit(&request).and_then(|admitted| {
            let asked = Asked::read(route, request.uri().query())?;
            match asked.refuse {
                Some(status) => Err(Refusal::new(
                    status,
                    "lab",
                    format!("lab: refusing the upgrade with {status}, as ?status= asked"),
                )),
                None => Ok((admitted, asked)),
            }
        });
        let ((accept, permit), asked) = match admitted {
            Ok(admitted) => admitted,
            Err(refusal) => {
                info!(%peer, status = refusal.status.as_u16(), reason = refusal.reason, "upgrade refused: {}", refusal.message);
                self.metrics.refused(refusal.reason);
                return refusal.into_response();
            }
        };

        let mut response = HttpResponse::new("".into());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
        let greeting = if asked.inspect {
            // Set here rather than by hyper, so that the report shows every
            // header that goes out.
            if let Ok(date) = HeaderValue::from_str(&httpdate::fmt_http_date(std::time::SystemTime::now())) {
                headers.insert(header::DATE, date);
            }
            report::handshake(&request, "HTTP/1.1 101 Switching Protocols", headers)
        } else {
            Vec::new()
        };

        let requested = Instant::now();
        let on_upgrade = hyper::upgrade::on(&mut request);
        let endpoint = Arc::clone(self);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let span = tracing::info_span!("ws", id, %peer);
        let task = async move {
            let upgraded = match on_upgrade.await {
                Ok(upgraded) => upgraded,
                Err(err) => return warn!(%err, "upgrade failed"),
            };
            // Taking the TCP stream back out of hyper's wrapper drops hyper's
            // buffers; bytes it had already read belong to the WebSocket.
            let upgraded = match upgraded.downcast::<TokioIo<TcpStream>>() {
                Ok(parts) => {
                    endpoint.metrics.opened(requested.elapsed());
                    let (stream, early) = into_stream(parts);
                    return endpoint.route(route, stream, Start { early, greeting }, permit).await;
                }
                Err(upgraded) => upgraded,
            };
            match upgraded.downcast::<TokioIo<TlsStream<TcpStream>>>() {
                Ok(parts) => {
                    endpoint.metrics.opened(requested.elapsed());
                    let (stream, early) = into_stream(parts);
                    // Boxed: a TLS stream is several kilobytes, and inline it would
                    // enlarge every connection's task, plain ones included.
                    let start = Start { early, greeting };
                    Box::pin(endpoint.route(route, Buffered::new(stream), start, permit)).await;
                }
                Err(_) => warn!("upgraded connection is neither TCP nor TLS"),
            }
        }
        .instrument(span);
        self.tracker.spawn(task);
        response
    }

    /// WebSocket connections open now.
    pub(crate) fn open_connections(&self) -> usize {
        self.max_connections - self.slots.available_permits()
    }

    /// Decides whether an upgrade may go ahead; on success it holds a connection slot.
    fn admit(&self, request: &Request<Incoming>) -> Result<(HeaderValue, OwnedSemaphorePermit), Refusal> {
        let accept = check_handshake(request.method(), request.headers(), &self.allowed_origins)?;
        if self.shutdown.is_cancelled() {
            return Err(Refusal::new(StatusCode::SERVICE_UNAVAILABLE, "shutting_down", "the server is shutting down"));
        }
        let permit = self.slots.clone().try_acquire_owned().map_err(|_| {
            Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "connection_limit",
                "the server is at its connection limit; try again later",
            )
        })?;
        Ok((accept, permit))
    }

    async fn route<T: Transport>(&self, route: Route, stream: T, start: Start, slot: OwnedSemaphorePermit) {
        match route {
            Route::Echo => self.serve(stream, start, Echo, slot).await,
            // Boxed, so that the lab's state does not enlarge every echo task.
            Route::Lab => Box::pin(self.serve(stream, start, Lab::default(), slot)).await,
        }
    }

    async fn serve<T: Transport, S: Stage>(&self, stream: T, start: Start, stage: S, _slot: OwnedSemaphorePermit) {
        info!("connection opened");
        let summary = echo::echo(stream, start, stage, self.limits, &self.metrics, &self.shutdown).await;
        self.metrics.closed(summary.close_code);
        info!(
            messages = summary.messages,
            close_code = summary.close_code,
            closed_by = summary.closed_by.as_str(),
            "connection closed"
        );
    }
}

/// The stream inside hyper's upgrade, and a copy of the bytes hyper had read
/// past the request. hyper's read buffer (8 KiB, usually empty) is dropped here,
/// so that it does not live as long as the connection.
fn into_stream<S>(parts: hyper::upgrade::Parts<TokioIo<S>>) -> (S, Vec<u8>) {
    let hyper::upgrade::Parts { io, read_buf, .. } = parts;
    (io.into_inner(), read_buf.to_vec())
}
