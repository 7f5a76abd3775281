//! The WebSocket endpoints, `/ws` (the echo) and `/ws/lab` (the echo plus
//! commands): the upgrade handshake and the whole life of a connection.
//!
//! A client that connects with the query key `inspect` first gets a report of
//! its own handshake (`report.rs`); others get nothing but echoes. On `/ws/lab`,
//! `?status=NNN` refuses the upgrade with that HTTP status, on purpose.
//!
//! This module takes the hyper upgrade itself (instead of going through warp's
//! `ws()` filter) so that the socket's buffers and limits come from the server's
//! configuration. It negotiates permessage-deflate (`deflate.rs`) and selects
//! a subprotocol: on `/ws` the first the client offers that `--subprotocol`
//! lists, on `/ws/lab` the client's first offer.

mod deflate;
mod echo;
mod frame;
mod handshake;
mod keepalive;
mod lab;
mod output;
mod protocol;
mod report;
mod stage;
mod transport;
mod utf8;

// The fuzzing facade lives inside `ws` so that it can reach the engine's
// private modules; `lib.rs` re-exports it as `backend::fuzzing`.
#[cfg(feature = "fuzzing")]
#[path = "../fuzzing.rs"]
pub mod fuzzing;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use hyper::header::{self, HeaderValue};
use hyper::upgrade::OnUpgrade;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_rustls::server::TlsStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn, Instrument};
use warp::filters::BoxedFilter;
use warp::path::FullPath;
use warp::Filter;

use crate::budget::MemoryBudget;
use crate::config::{Config, DeflateMode};
use crate::http::{HttpResponse, Peer};
use crate::metrics::Metrics;
use crate::refusal::Refused;
use echo::{Limits, Start};
use handshake::{check_handshake, select_subprotocol, Refusal};
use lab::Lab;
use stage::{Echo, Stage};
use transport::{Buffered, Transport};

/// The two WebSocket endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// `/ws`: the echo.
    Echo,
    /// `/ws/lab`: the echo, obeying commands.
    Lab,
}

/// `/ws` and `/ws/lab` as warp filters: every request to either, upgrade or
/// not, gets its answer here (`101`, or a refusal that says why).
pub(crate) fn routes(endpoint: Arc<Endpoint>) -> BoxedFilter<(HttpResponse,)> {
    let echo = warp::path!("ws").map(|| Route::Echo);
    let lab = warp::path!("ws" / "lab").map(|| Route::Lab);
    let query = warp::query::raw().map(Some).or(warp::any().map(|| None)).unify();
    echo.or(lab)
        .unify()
        .and(warp::method())
        .and(warp::path::full())
        .and(query)
        .and(warp::header::headers_cloned())
        // hyper leaves the means to take the connection over in the request's
        // extensions; it is `Clone`, so the filter can hand it on.
        .and(warp::ext::optional::<OnUpgrade>())
        .and(warp::ext::optional::<Peer>())
        .map(move |route, method, path: FullPath, query: Option<String>, headers, on_upgrade, peer: Option<Peer>| {
            let target = match query {
                Some(query) => format!("{}?{query}", path.as_str()),
                None => path.as_str().to_owned(),
            };
            let mut request = Request::new(());
            *request.method_mut() = method;
            *request.uri_mut() = target.parse().unwrap_or_default();
            *request.headers_mut() = headers;
            if let Some(on_upgrade) = on_upgrade {
                request.extensions_mut().insert::<OnUpgrade>(on_upgrade);
            }
            let peer = peer.map_or(SocketAddr::from(([0, 0, 0, 0], 0)), |Peer(peer)| peer);
            endpoint.upgrade(request, peer, route)
        })
        .boxed()
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
                    // Not 5xx: a proxy in front of this server counts those as the
                    // server failing, and may take it out of service for everyone.
                    let status = value
                        .parse::<u16>()
                        .ok()
                        .filter(|code| (200..=499).contains(code))
                        .and_then(|code| StatusCode::from_u16(code).ok())
                        .ok_or_else(|| {
                            Refusal::new(
                                StatusCode::BAD_REQUEST,
                                Refused::BadRequest,
                                "lab: ?status= takes an HTTP status from 200 to 499 (a 5xx would tell a proxy \
                                 that this server is failing)",
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
    /// The memory every lab connection draws from together.
    lab_memory: Arc<MemoryBudget>,
    deflate: DeflateMode,
    deflate_window_bits: u8,
    /// The subprotocols `/ws` may select.
    subprotocols: Vec<String>,
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
            lab_memory: metrics.lab_memory(),
            deflate: config.deflate,
            deflate_window_bits: config.deflate_window_bits,
            subprotocols: config.subprotocol.clone(),
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
    fn upgrade(self: &Arc<Self>, mut request: Request<()>, peer: SocketAddr, route: Route) -> HttpResponse {
        let admitted = self.admit(&request).and_then(|admitted| {
            let asked = Asked::read(route, request.uri().query())?;
            match asked.refuse {
                Some(status) => Err(Refusal::new(
                    status,
                    Refused::Lab,
                    format!("lab: refusing the upgrade with {status}, as ?status= asked"),
                )),
                None => Ok((admitted, asked)),
            }
        });
        let ((accept, permit), asked) = match admitted {
            Ok(admitted) => admitted,
            Err(refusal) => {
                info!(%peer, status = refusal.status.as_u16(), reason = refusal.reason.as_str(), "upgrade refused: {}", refusal.message);
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
        if let Some(protocol) = select_subprotocol(request.headers(), &self.subprotocols, route == Route::Lab) {
            headers.insert(header::SEC_WEBSOCKET_PROTOCOL, protocol);
        }
        let offers = request.headers().get_all(header::SEC_WEBSOCKET_EXTENSIONS);
        let offers = offers.iter().filter_map(|value| value.to_str().ok());
        let compression = match deflate::negotiate(offers, self.deflate, self.deflate_window_bits) {
            Some((agreement, answer)) => match HeaderValue::from_str(&answer) {
                Ok(answer) => {
                    headers.insert(header::SEC_WEBSOCKET_EXTENSIONS, answer);
                    Some(agreement)
                }
                Err(_) => None,
            },
            None => None,
        };
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
                    return endpoint.route(route, stream, Start { early, greeting, compression }, permit).await;
                }
                Err(upgraded) => upgraded,
            };
            match upgraded.downcast::<TokioIo<TlsStream<TcpStream>>>() {
                Ok(parts) => {
                    endpoint.metrics.opened(requested.elapsed());
                    let (stream, early) = into_stream(parts);
                    // Boxed: a TLS stream is several kilobytes, and inline it would
                    // enlarge every connection's task, plain ones included.
                    let start = Start { early, greeting, compression };
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
    fn admit(&self, request: &Request<()>) -> Result<(HeaderValue, OwnedSemaphorePermit), Refusal> {
        let accept = check_handshake(request.method(), request.headers(), &self.allowed_origins)?;
        if self.shutdown.is_cancelled() {
            return Err(Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                Refused::ShuttingDown,
                "the server is shutting down",
            ));
        }
        let permit = self.slots.clone().try_acquire_owned().map_err(|_| {
            Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                Refused::ConnectionLimit,
                "the server is at its connection limit; try again later",
            )
        })?;
        Ok((accept, permit))
    }

    async fn route<T: Transport>(&self, route: Route, stream: T, start: Start, slot: OwnedSemaphorePermit) {
        match route {
            Route::Echo => self.serve(stream, start, Echo, slot).await,
            // Boxed, so that the lab's state does not enlarge every echo task.
            Route::Lab => {
                let lab =
                    Lab::new(self.limits.max_message_bytes, Arc::clone(&self.lab_memory), tokio::time::Instant::now());
                Box::pin(self.serve(stream, start, lab, slot)).await
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint() -> Arc<Endpoint> {
        let config = Config::new("127.0.0.1:0".parse().unwrap(), "/nonexistent");
        let metrics = Arc::new(Metrics::new(Arc::new(MemoryBudget::new(1 << 20))));
        Arc::new(Endpoint::new(&config, metrics, CancellationToken::new(), TaskTracker::new()))
    }

    #[tokio::test]
    async fn ws_and_the_lab_are_warp_routes_that_answer_every_request_to_them() {
        let routes = routes(endpoint());
        let plain_get = warp::test::request().path("/ws").reply(&routes).await;
        assert_eq!(plain_get.status(), StatusCode::UPGRADE_REQUIRED);
        assert_eq!(plain_get.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "refusals carry the safety headers");
        let post = warp::test::request().method("POST").path("/ws/lab").reply(&routes).await;
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
        let upgrade = warp::test::request()
            .path("/ws/lab?inspect")
            .header("connection", "Upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("sec-websocket-protocol", "chat")
            .reply(&routes)
            .await;
        assert_eq!(upgrade.status(), StatusCode::SWITCHING_PROTOCOLS);
        assert_eq!(upgrade.headers()[header::SEC_WEBSOCKET_PROTOCOL], "chat");
        // Other paths are not these routes' to answer.
        assert!(warp::test::request().path("/ws/other").filter(&routes).await.is_err());
        assert!(warp::test::request().path("/").filter(&routes).await.is_err());
    }
}
