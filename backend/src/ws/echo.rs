//! The echo loop: every text and binary message goes back as it came, and every
//! ending is a close handshake with the right code where one is possible.

use std::time::Duration;

use futures_util::{FutureExt, Sink, SinkExt, Stream, StreamExt};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use super::keepalive::{Due, KeepAlive};

/// The per-connection limits and timers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Larger messages get close 1009.
    pub(crate) max_message_bytes: usize,
    /// How often a quiet peer is pinged.
    pub(crate) ping_interval: Duration,
    /// How long a ping may go unanswered.
    pub(crate) ping_timeout: Duration,
    /// How long to wait for the peer's reply to a close frame the server sent.
    pub(crate) close_timeout: Duration,
}

/// Who ended a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClosedBy {
    /// The client sent a close frame and the server answered it.
    Client,
    /// The server closed: the client broke a rule, stopped answering pings, or
    /// the server is shutting down.
    Server,
    /// The TCP connection ended without a close handshake.
    Network,
}

impl ClosedBy {
    pub(crate) fn as_str(self) -> &'static str {
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
/// tungstenite messages. Echoes of messages that arrived together are written
/// together, but everything is flushed before waiting for more input, so a
/// client that never reads stalls its own connection (the sink's bounded write
/// buffer stops the loop) instead of growing the server's memory.
pub(crate) async fn echo<S>(mut socket: S, limits: Limits, shutdown: &CancellationToken) -> Summary
where
    S: Stream<Item = Result<Message, WsError>> + Sink<Message, Error = WsError> + Unpin,
{
    let mut messages = 0;
    let mut keepalive = KeepAlive::new(limits.ping_interval, limits.ping_timeout, Instant::now());
    let (close_code, closed_by) = loop {
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
                        break (Some(finish(&mut socket, frame, limits.close_timeout).await), ClosedBy::Server);
                    }
                    () = tokio::time::sleep_until(keepalive.deadline()) => {
                        match keepalive.due(Instant::now()) {
                            Due::Ping => {
                                if socket.send(Message::Ping(Default::default())).await.is_err() {
                                    break (None, ClosedBy::Network);
                                }
                            }
                            Due::TimedOut => {
                                // A peer that stopped answering will not answer a close
                                // frame either: send it for the record, then hang up.
                                let frame = close_frame(CloseCode::Away, "no pong within the ping timeout".into());
                                break (Some(finish(&mut socket, frame, Duration::ZERO).await), ClosedBy::Server);
                            }
                            Due::Nothing => {}
                        }
                        continue;
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
            Some(Ok(Message::Pong(_))) => keepalive.pong(Instant::now()),
            // Pings are answered by tungstenite itself.
            Some(Ok(Message::Ping(_) | Message::Frame(_))) => {}
            Some(Err(err)) => match close_for_error(&err, limits.max_message_bytes) {
                Some(frame) => break (Some(finish(&mut socket, frame, limits.close_timeout).await), ClosedBy::Server),
                None => break (None, ClosedBy::Network),
            },
            None => break (None, ClosedBy::Network),
        }
    };
    Summary { messages, close_code, closed_by }
}

/// Sends the server's close frame, then waits (at most `timeout`) for the
/// client's reply so that the client sees a clean close before TCP ends.
async fn finish<S>(socket: &mut S, frame: CloseFrame, timeout: Duration) -> CloseCode
where
    S: Stream<Item = Result<Message, WsError>> + Sink<Message, Error = WsError> + Unpin,
{
    let code = frame.code;
    let send = socket.send(Message::Close(Some(frame)));
    // Bounded too: a peer that does not read must not hold up shutdown.
    let sent = tokio::time::timeout(timeout.max(Duration::from_millis(100)), send).await;
    if matches!(sent, Ok(Ok(()))) {
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
    use tokio_tungstenite::tungstenite::error::ProtocolError;

    #[test]
    fn errors_map_to_the_close_codes_browsers_show() {
        let code = |err: WsError| close_for_error(&err, 10).map(|frame| u16::from(frame.code));
        let too_long = CapacityError::MessageTooLong { size: 11, max_size: 10 };
        assert_eq!(code(WsError::Capacity(too_long)), Some(1009));
        assert_eq!(code(WsError::Utf8("bad".into())), Some(1007));
        assert_eq!(code(WsError::Protocol(ProtocolError::UnmaskedFrameFromClient)), Some(1002));
        assert_eq!(code(WsError::ConnectionClosed), None);
    }

    #[test]
    fn close_reasons_are_cut_at_a_character_boundary() {
        let frame = close_frame(CloseCode::Normal, "é".repeat(100));
        assert_eq!(frame.reason.len(), 122);
    }
}
