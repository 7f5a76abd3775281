//! The `/ws` endpoint: the upgrade handshake and the echo loop.
//!
//! This module owns the whole life of a WebSocket connection, from checking the
//! HTTP upgrade request to the last close frame. It takes the hyper upgrade
//! itself (instead of going through warp's `ws()` filter) so that the socket's
//! buffers and limits are set here, by the server's configuration.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, Sink, SinkExt, Stream, StreamExt};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn, Instrument};

use crate::config::Config;

/// Every response this server sends, `/ws` refusals included, has warp's type.
pub(crate) type HttpResponse = warp::reply::Response;

/// What every WebSocket connection shares: limits, the shutdown signal and the
/// tracker that lets shutdown wait for the close handshakes.
pub(crate) struct Endpoint {
    socket_config: WebSocketConfig,
    max_message_bytes: usize,
    slots: Arc<Semaphore>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
    close_timeout: Duration,
    next_id: AtomicU64,
}

impl Endpoint {
    pub(crate) fn new(config: &Config, shutdown: CancellationToken, tracker: TaskTracker) -> Endpoint {
        let max_message_bytes = config.max_message_bytes as usize;
        // Small buffers keep an idle connection cheap; a message larger than the
        // read buffer simply takes several reads.
        let socket_config = WebSocketConfig::default()
            .read_buffer_size(4 * 1024)
            .write_buffer_size(0)
            .max_write_buffer_size(max_message_bytes + 64 * 1024)
            .max_message_size(Some(max_message_bytes))
            .max_frame_size(Some(max_message_bytes));
        Endpoint {
            socket_config,
            max_message_bytes,
            slots: Arc::new(Semaphore::new(config.max_connections as usize)),
            shutdown,
            tracker,
            close_timeout: config.shutdown_grace,
            next_id: AtomicU64::new(1),
        }
    }

    /// Answers an upgrade request on `/ws`: either `101 Switching Protocols`, with
    /// the echo running on the upgraded connection, or an HTTP error that says
    /// what was wrong with the request.
    pub(crate) fn upgrade(self: &Arc<Self>, mut request: Request<Incoming>, peer: SocketAddr) -> HttpResponse {
        let accept = match check_handshake(request.method(), request.headers()) {
            Ok(accept) => accept,
            Err(refusal) => {
                info!(%peer, status = refusal.status.as_u16(), reason = refusal.message, "upgrade refused");
                return refusal.into_response();
            }
        };
        if self.shutdown.is_cancelled() {
            return Refusal::new(StatusCode::SERVICE_UNAVAILABLE, "the server is shutting down").into_response();
        }
        let Ok(permit) = self.slots.clone().try_acquire_owned() else {
            info!(%peer, "upgrade refused: connection limit reached");
            return Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the server is at its connection limit; try again later",
            )
            .into_response();
        };

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

    async fn serve<S>(&self, socket: S, _permit: OwnedSemaphorePermit)
    where
        S: Stream<Item = Result<Message, WsError>> + Sink<Message, Error = WsError> + Unpin,
    {
        info!("connection opened");
        let summary = echo(socket, self.max_message_bytes, &self.shutdown, self.close_timeout).await;
        info!(
            messages = summary.messages,
            close_code = summary.close_code.map(u16::from),
            closed_by = summary.closed_by.as_str(),
            "connection closed"
        );
    }
}

// ---------------------------------------------------------------------------
// The handshake
// ---------------------------------------------------------------------------

/// Why an upgrade request was refused, as the HTTP answer to send.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) status: StatusCode,
    pub(crate) message: &'static str,
}

impl Refusal {
    fn new(status: StatusCode, message: &'static str) -> Refusal {
        Refusal { status, message }
    }

    fn into_response(self) -> HttpResponse {
        let mut response = HttpResponse::new(format!("{}\n", self.message).into());
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
        if self.status == StatusCode::UPGRADE_REQUIRED {
            headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
            headers.insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        }
        response
    }
}

/// Checks an upgrade request against RFC 6455 section 4.2.1 and returns the
/// `Sec-WebSocket-Accept` value to answer with.
pub(crate) fn check_handshake(method: &Method, headers: &HeaderMap) -> Result<HeaderValue, Refusal> {
    if method != Method::GET {
        return Err(Refusal::new(StatusCode::METHOD_NOT_ALLOWED, "a WebSocket upgrade must be a GET request"));
    }
    let is_upgrade = header_has_token(headers, header::CONNECTION, "upgrade")
        && header_has_token(headers, header::UPGRADE, "websocket");
    if !is_upgrade {
        return Err(Refusal::new(
            StatusCode::UPGRADE_REQUIRED,
            "this is a WebSocket endpoint: connect with a WebSocket client (Upgrade: websocket)",
        ));
    }
    if headers.get(header::SEC_WEBSOCKET_VERSION).map(HeaderValue::as_bytes) != Some(b"13") {
        return Err(Refusal::new(
            StatusCode::UPGRADE_REQUIRED,
            "unsupported Sec-WebSocket-Version: this server speaks version 13",
        ));
    }
    let key = headers.get(header::SEC_WEBSOCKET_KEY).map(HeaderValue::as_bytes).unwrap_or_default();
    if !is_valid_key(key) {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "missing or malformed Sec-WebSocket-Key: it must be 16 bytes in base64",
        ));
    }
    let accept = derive_accept_key(key);
    // The accept key is base64, which is always a valid header value.
    HeaderValue::from_str(&accept)
        .map_err(|_| Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, "could not encode Sec-WebSocket-Accept"))
}

fn header_has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| item.trim().eq_ignore_ascii_case(token))
}

/// A key is the base64 encoding of 16 bytes: 22 base64 characters and `==`.
fn is_valid_key(key: &[u8]) -> bool {
    key.len() == 24
        && key.ends_with(b"==")
        && key[..22].iter().all(|byte| byte.is_ascii_alphanumeric() || *byte == b'+' || *byte == b'/')
}

// ---------------------------------------------------------------------------
// The echo loop
// ---------------------------------------------------------------------------

/// Who ended a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClosedBy {
    /// The client sent a close frame and the server answered it.
    Client,
    /// The server closed: the client broke a rule or the server is shutting down.
    Server,
    /// The TCP connection ended without a close handshake.
    Network,
}

impl ClosedBy {
    fn as_str(self) -> &'static str {
        match self {
            ClosedBy::Client => "client",
            ClosedBy::Server => "server",
            ClosedBy::Network => "network",
        }
    }
}

/// What happened on one connection, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Summary {
    pub(crate) messages: u64,
    pub(crate) close_code: Option<CloseCode>,
    pub(crate) closed_by: ClosedBy,
}

/// Echoes every text and binary message until the connection closes.
///
/// Generic over the socket so it can be driven by anything that speaks
/// tungstenite messages. Each echo is flushed before the next message is read
/// whenever no further message is already waiting, so a client that never reads
/// stalls its own connection instead of growing the server's memory.
pub(crate) async fn echo<S>(
    mut socket: S,
    max_message_bytes: usize,
    shutdown: &CancellationToken,
    close_timeout: Duration,
) -> Summary
where
    S: Stream<Item = Result<Message, WsError>> + Sink<Message, Error = WsError> + Unpin,
{
    let mut messages = 0;
    let (close_code, closed_by) = loop {
        // Reading whatever is already buffered before flushing batches the
        // writes of pipelined messages into fewer system calls.
        let next = match socket.next().now_or_never() {
            Some(next) => next,
            None => {
                if socket.flush().await.is_err() {
                    break (None, ClosedBy::Network);
                }
                tokio::select! {
                    biased;
                    () = shutdown.cancelled() => {
                        let frame = close_frame(CloseCode::Away, "server shutting down".into());
                        break (Some(finish(&mut socket, frame, close_timeout).await), ClosedBy::Server);
                    }
                    next = socket.next() => next,
                }
            }
        };
        match next {
            Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => {
                messages += 1;
                if socket.feed(message).await.is_err() {
                    break (None, ClosedBy::Network);
                }
            }
            Some(Ok(Message::Close(frame))) => {
                // tungstenite has queued the reply, echoing the client's code;
                // flushing sends it, and the stream then ends.
                let code = frame.map_or(CloseCode::Status, |frame| frame.code);
                let _ = socket.flush().await;
                break (Some(code), ClosedBy::Client);
            }
            // Pings are answered by tungstenite itself; pongs need no answer.
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
            Some(Err(err)) => match close_for_error(&err, max_message_bytes) {
                Some(frame) => break (Some(finish(&mut socket, frame, close_timeout).await), ClosedBy::Server),
                None => break (None, ClosedBy::Network),
            },
            None => break (None, ClosedBy::Network),
        }
    };
    Summary { messages, close_code, closed_by }
}

/// Sends our close frame, then waits (at most `timeout`) for the client's reply
/// so that the client sees a clean close before TCP ends.
async fn finish<S>(socket: &mut S, frame: CloseFrame, timeout: Duration) -> CloseCode
where
    S: Stream<Item = Result<Message, WsError>> + Sink<Message, Error = WsError> + Unpin,
{
    let code = frame.code;
    if socket.send(Message::Close(Some(frame))).await.is_ok() {
        let drain = async { while let Some(Ok(_)) = socket.next().await {} };
        let _ = tokio::time::timeout(timeout, drain).await;
    }
    code
}

/// The close frame owed to a client whose frames broke the protocol, or `None`
/// when the connection is already gone and no frame can be sent.
pub(crate) fn close_for_error(err: &WsError, max_message_bytes: usize) -> Option<CloseFrame> {
    match err {
        WsError::Capacity(CapacityError::MessageTooLong { .. }) => {
            Some(close_frame(CloseCode::Size, format!("message too big: the limit is {max_message_bytes} bytes")))
        }
        WsError::Capacity(_) => Some(close_frame(CloseCode::Size, "message too big".into())),
        WsError::Utf8(_) => Some(close_frame(CloseCode::Invalid, "text message is not valid UTF-8".into())),
        WsError::Protocol(violation) => Some(close_frame(CloseCode::Protocol, violation.to_string())),
        _ => None,
    }
}

/// A close frame whose reason fits the 123 bytes a control frame allows.
fn close_frame(code: CloseCode, mut reason: String) -> CloseFrame {
    if reason.len() > 123 {
        let mut end = 123;
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason.truncate(end);
    }
    CloseFrame { code, reason: reason.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| (header::HeaderName::from_static(name), HeaderValue::from_static(value)))
            .collect()
    }

    const GOOD: &[(&str, &str)] = &[
        ("connection", "keep-alive, Upgrade"),
        ("upgrade", "WebSocket"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];

    fn check(method: Method, pairs: &[(&'static str, &'static str)]) -> Result<HeaderValue, StatusCode> {
        check_handshake(&method, &headers(pairs)).map_err(|refusal| refusal.status)
    }

    #[test]
    fn accepts_the_rfc_example_and_derives_its_accept_key() {
        assert_eq!(check(Method::GET, GOOD).unwrap(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn refuses_what_is_not_an_upgrade() {
        let with = |name: &'static str, value: &'static str| {
            let mut pairs: Vec<_> = GOOD.iter().copied().filter(|(n, _)| *n != name).collect();
            if !value.is_empty() {
                pairs.push((name, value));
            }
            pairs
        };
        assert_eq!(check(Method::POST, GOOD), Err(StatusCode::METHOD_NOT_ALLOWED));
        assert_eq!(check(Method::GET, &[]), Err(StatusCode::UPGRADE_REQUIRED));
        assert_eq!(check(Method::GET, &with("upgrade", "h2c")), Err(StatusCode::UPGRADE_REQUIRED));
        assert_eq!(check(Method::GET, &with("sec-websocket-version", "8")), Err(StatusCode::UPGRADE_REQUIRED));
        assert_eq!(check(Method::GET, &with("sec-websocket-key", "")), Err(StatusCode::BAD_REQUEST));
        assert_eq!(check(Method::GET, &with("sec-websocket-key", "short==")), Err(StatusCode::BAD_REQUEST));
    }

    #[test]
    fn errors_map_to_the_close_codes_browsers_show() {
        let code = |err: WsError| close_for_error(&err, 10).map(|frame| u16::from(frame.code));
        let too_long = CapacityError::MessageTooLong { size: 11, max_size: 10 };
        assert_eq!(code(WsError::Capacity(too_long)), Some(1009));
        assert_eq!(code(WsError::Utf8("bad".into())), Some(1007));
        let violation = tokio_tungstenite::tungstenite::error::ProtocolError::UnmaskedFrameFromClient;
        assert_eq!(code(WsError::Protocol(violation)), Some(1002));
        assert_eq!(code(WsError::ConnectionClosed), None);
    }

    #[test]
    fn close_reasons_are_cut_at_a_character_boundary() {
        let frame = close_frame(CloseCode::Normal, "é".repeat(100));
        assert!(frame.reason.len() <= 123);
        assert_eq!(frame.reason.len(), 122);
    }
}
