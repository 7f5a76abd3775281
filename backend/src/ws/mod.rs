//! The `/ws` endpoint: the upgrade handshake and the echo, the whole life of a
//! WebSocket connection.
//!
//! This module takes the hyper upgrade itself (instead of going through warp's
//! `ws()` filter) so that the socket's buffers and limits come from the server's
//! configuration. Subprotocols: the server selects none. A client that offers
//! some still connects, with no `Sec-WebSocket-Protocol` in the answer (browsers
//! then fail the connection themselves; other clients carry on).

mod echo;
mod handshake;
mod keepalive;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn, Instrument};

use crate::config::Config;
use echo::Limits;
pub(crate) use handshake::HttpResponse;
use handshake::{check_handshake, Refusal};

/// What every WebSocket connection shares: limits, the shutdown signal and the
/// tracker that lets shutdown wait for the close handshakes.
pub(crate) struct Endpoint {
    socket_config: WebSocketConfig,
    limits: Limits,
    allowed_origins: Vec<String>,
    slots: Arc<Semaphore>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
    next_id: AtomicU64,
}

impl Endpoint {
    pub(crate) fn new(config: &Config, shutdown: CancellationToken, tracker: TaskTracker) -> Endpoint {
        let max_message_bytes = config.max_message_bytes as usize;
        // Small buffers keep an idle connection cheap; a message larger than the
        // read buffer simply takes several reads. The write buffer is bounded so a
        // client that never reads stalls its own echo instead of growing memory.
        let socket_config = WebSocketConfig::default()
            .read_buffer_size(4 * 1024)
            .write_buffer_size(8 * 1024)
            .max_write_buffer_size(max_message_bytes + 64 * 1024)
            .max_message_size(Some(max_message_bytes))
            .max_frame_size(Some(max_message_bytes));
        Endpoint {
            socket_config,
            limits: Limits {
                max_message_bytes,
                ping_interval: config.ping_interval,
                ping_timeout: config.ping_timeout,
                close_timeout: config.shutdown_grace,
            },
            allowed_origins: config.allowed_origin.clone(),
            slots: Arc::new(Semaphore::new(config.max_connections as usize)),
            shutdown,
            tracker,
            next_id: AtomicU64::new(1),
        }
    }

    /// Answers an upgrade request on `/ws`: either `101 Switching Protocols`, with
    /// the echo running on the upgraded connection, or an HTTP error that says
    /// what was wrong with the request.
    pub(crate) fn upgrade(self: &Arc<Self>, mut request: Request<Incoming>, peer: SocketAddr) -> HttpResponse {
        let accept = match self.admit(&request) {
            Ok(admitted) => admitted,
            Err(refusal) => {
                info!(%peer, status = refusal.status.as_u16(), reason = refusal.reason(), "upgrade refused: {}", refusal.message);
                return refusal.into_response();
            }
        };
        let (accept, permit) = accept;

        let on_upgrade = hyper::upgrade::on(&mut request);
        let endpoint = Arc::clone(self);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let span = tracing::info_span!("ws", id, %peer);
        self.tracker.spawn(
            async move {
                match on_upgrade.await {
                    Ok(upgraded) => {
                        let stream = TokioIo::new(upgraded);
                        let socket =
                            WebSocketStream::from_raw_socket(stream, Role::Server, Some(endpoint.socket_config)).await;
                        endpoint.serve(socket, permit).await;
                    }
                    Err(err) => warn!(%err, "upgrade failed"),
                }
            }
            .instrument(span),
        );

        let mut response = HttpResponse::new("".into());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
        response
    }

    /// Decides whether an upgrade may go ahead; on success it holds a connection slot.
    fn admit(&self, request: &Request<Incoming>) -> Result<(HeaderValue, OwnedSemaphorePermit), Refusal> {
        let accept = check_handshake(request.method(), request.headers(), &self.allowed_origins)?;
        if self.shutdown.is_cancelled() {
            return Err(Refusal::new(StatusCode::SERVICE_UNAVAILABLE, "the server is shutting down"));
        }
        let permit = self.slots.clone().try_acquire_owned().map_err(|_| {
            Refusal::new(StatusCode::SERVICE_UNAVAILABLE, "the server is at its connection limit; try again later")
        })?;
        Ok((accept, permit))
    }

    async fn serve(&self, socket: WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>, _slot: OwnedSemaphorePermit) {
        info!("connection opened");
        let summary = echo::echo(socket, self.limits, &self.shutdown).await;
        info!(
            messages = summary.messages,
            close_code = summary.close_code.map(u16::from),
            closed_by = summary.closed_by.as_str(),
            "connection closed"
        );
    }
}
