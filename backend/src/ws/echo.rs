//! The echo loop: drives one connection's [`Protocol`] over its socket, with
//! keep-alive pings, the server's own closes, and backpressure.
//!
//! An idle connection holds no buffer: the loop waits for the socket to become
//! readable first, and only then allocates a read buffer, which it frees again
//! once the socket has nothing more to give. Echoes are written before more is
//! read, so a client that does not read stalls only itself.

use std::future::Future;
use std::io;
use std::time::Duration;

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::keepalive::{Due, KeepAlive};
use super::protocol::{code, write_ping, Counts, Outcome, Protocol};
use super::stage::{Action, Stage};
use crate::metrics::{Kind as MessageKind, Metrics};

/// How much one read takes in.
const READ_BUFFER: usize = 16 * 1024;
/// Echoes are gathered up to this size before being written.
const WRITE_AT: usize = 16 * 1024;
/// Reads before the loop looks at its timers and the shutdown signal again, so
/// that a client sending without pause cannot starve them.
const READS_PER_TURN: usize = 32;

/// The per-connection limits and timers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Larger messages get close 1009.
    pub(crate) max_message_bytes: u64,
    /// How often a quiet peer is pinged.
    pub(crate) ping_interval: Duration,
    /// How long a ping may go unanswered.
    pub(crate) ping_timeout: Duration,
    /// How long to wait for the peer's reply to a close frame the server sent.
    pub(crate) close_timeout: Duration,
}

/// A socket the echo loop can wait on without holding a buffer.
pub(crate) trait Transport: AsyncWrite + Unpin + Send {
    /// Completes when a read may make progress.
    fn ready(&mut self) -> impl Future<Output = io::Result<()>> + Send + '_;
    /// Appends what is there to `buffer`, up to its spare capacity, without
    /// waiting (`WouldBlock` when nothing is).
    fn try_read_buf(&mut self, buffer: &mut Vec<u8>) -> io::Result<usize>;
}

impl Transport for TcpStream {
    fn ready(&mut self) -> impl Future<Output = io::Result<()>> + Send + '_ {
        // The poll-based API, unlike `readable()`, takes over the waker slot that
        // hyper's last read left behind; otherwise that stale waker would keep
        // hyper's finished connection task allocated for as long as the socket
        // stays idle.
        std::future::poll_fn(|cx| self.poll_read_ready(cx))
    }

    fn try_read_buf(&mut self, buffer: &mut Vec<u8>) -> io::Result<usize> {
        TcpStream::try_read_buf(self, buffer)
    }
}

/// A stream that can only be read by polling (TLS: rustls may hold decrypted
/// bytes the socket no longer signals), made a [`Transport`] by reading into a
/// buffer that exists only while it holds data.
pub(crate) struct Buffered<S> {
    inner: S,
    pending: BytesMut,
    eof: bool,
}

impl<S> Buffered<S> {
    pub(crate) fn new(inner: S) -> Buffered<S> {
        Buffered { inner, pending: BytesMut::new(), eof: false }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Transport for Buffered<S> {
    fn ready(&mut self) -> impl Future<Output = io::Result<()>> + Send + '_ {
        std::future::poll_fn(|cx| {
            if !self.pending.is_empty() || self.eof {
                return Poll::Ready(Ok(()));
            }
            // Read into spare capacity, not a zero-filled buffer (the same cost
            // the plain TCP path avoids).
            self.pending.reserve(READ_BUFFER);
            match tokio_util::io::poll_read_buf(Pin::new(&mut self.inner), cx, &mut self.pending) {
                Poll::Ready(Ok(0)) => {
                    self.eof = true;
                    Poll::Ready(Ok(()))
                }
                Poll::Ready(Ok(_)) => Poll::Ready(Ok(())),
                Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
                Poll::Pending => {
                    // Waiting holds no buffer.
                    self.pending = BytesMut::new();
                    Poll::Pending
                }
            }
        })
    }

    fn try_read_buf(&mut self, buffer: &mut Vec<u8>) -> io::Result<usize> {
        if self.pending.is_empty() {
            return if self.eof { Ok(0) } else { Err(io::ErrorKind::WouldBlock.into()) };
        }
        let taken = (buffer.capacity() - buffer.len()).min(self.pending.len());
        buffer.extend_from_slice(&self.pending.split_to(taken));
        if self.pending.is_empty() {
            self.pending = BytesMut::new();
        }
        Ok(taken)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Buffered<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Who ended a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClosedBy {
    /// The client sent a close frame and the server answered it.
    Client,
    /// The server closed: the client broke a rule, stopped answering pings or
    /// reading, or the server is shutting down.
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
    /// Data messages echoed in full.
    pub(crate) messages: u64,
    /// The close code of the handshake: the client's, or the server's when it closed.
    pub(crate) close_code: Option<u16>,
    pub(crate) closed_by: ClosedBy,
}

/// How a connection ended, once it has: the close code and who ended it.
type Ended = Option<(Option<u16>, ClosedBy)>;

/// Why writing stopped.
enum WriteStop {
    /// The socket failed.
    Broken,
    /// The client has not read for a ping interval and timeout together (it is
    /// not coming back), or not within the grace period of a shutdown.
    Stalled,
}

/// What one connection starts with besides its socket.
pub(crate) struct Start {
    /// Bytes that arrived with the upgrade request, which already belong to the WebSocket.
    pub(crate) early: Vec<u8>,
    /// Frames to send before anything else (the handshake report), or nothing.
    pub(crate) greeting: Vec<u8>,
}

/// Echoes until the connection ends, with `stage` looking at everything the
/// protocol sends (on `/ws` it does nothing; on `/ws/lab` it obeys commands).
pub(crate) async fn echo<T: Transport, S: Stage>(
    mut stream: T,
    start: Start,
    mut stage: S,
    limits: Limits,
    metrics: &Metrics,
    shutdown: &CancellationToken,
) -> Summary {
    let Start { mut early, greeting } = start;
    let mut protocol = Protocol::new(limits.max_message_bytes);
    let mut keepalive = KeepAlive::new(limits.ping_interval, limits.ping_timeout, Instant::now());
    // The greeting goes out before the first echo, in the same write.
    let mut out = greeting;
    // Set once the server has sent its close frame: its code and how long to
    // wait for the client's reply.
    let mut server_close: Option<(u16, Instant)> = None;

    let mut ended = if early.is_empty() {
        None
    } else {
        let from = out.len();
        let outcome = protocol.feed(&mut early, &mut out);
        let action = stage.outgoing(&mut out, from, &mut protocol, Instant::now());
        settle(outcome, &protocol, &mut server_close, limits.close_timeout)
            .or_else(|| act(action, &mut server_close, limits.close_timeout))
    };
    drop(early);

    let (close_code, closed_by) = loop {
        if !out.is_empty() {
            let written = write(&mut stream, &out, shutdown, &limits).await;
            // The next burst allocates again; an idle connection keeps nothing.
            out = Vec::new();
            if let Err(stop) = written {
                break match stop {
                    WriteStop::Broken => (None, ClosedBy::Network),
                    WriteStop::Stalled => (server_close.map(|(code, _)| code), ClosedBy::Server),
                };
            }
        }
        if let Some(ended) = ended {
            break ended;
        }

        let deadline = match server_close {
            Some((_, deadline)) => deadline,
            None => stage.deadline().map_or(keepalive.deadline(), |due| due.min(keepalive.deadline())),
        };
        tokio::select! {
            biased;
            () = shutdown.cancelled(), if server_close.is_none() => {
                protocol.close(code::GOING_AWAY, "server shutting down", &mut out);
                server_close = Some((code::GOING_AWAY, Instant::now() + limits.close_timeout));
                continue;
            }
            () = tokio::time::sleep_until(deadline) => {
                if let Some((code, _)) = server_close {
                    // The client never answered the server's close frame.
                    ended = Some((Some(code), ClosedBy::Server));
                    continue;
                }
                let action = stage.wake(&mut out, &mut protocol, Instant::now());
                ended = act(action, &mut server_close, limits.close_timeout);
                match keepalive.due(Instant::now()) {
                    Due::Ping => write_ping(&mut out),
                    Due::TimedOut => {
                        // A peer that stopped answering will not answer a close
                        // either: send it for the record, then hang up.
                        protocol.close(code::GOING_AWAY, "no pong within the ping timeout", &mut out);
                        ended = Some((Some(code::GOING_AWAY), ClosedBy::Server));
                    }
                    Due::Nothing => {}
                }
                continue;
            }
            ready = stream.ready() => {
                if ready.is_err() {
                    break (None, ClosedBy::Network);
                }
            }
        }

        // Not zero-filled: profiling showed that clearing 16 KiB on every wake-up
        // was half of the server's instructions under load.
        let mut buffer = Vec::with_capacity(READ_BUFFER);
        out.reserve(WRITE_AT);
        for _ in 0..READS_PER_TURN {
            buffer.clear();
            let read = match stream.try_read_buf(&mut buffer) {
                Ok(0) => {
                    ended = Some(match server_close {
                        Some((code, _)) => (Some(code), ClosedBy::Server),
                        None => (None, ClosedBy::Network),
                    });
                    break;
                }
                Ok(read) => read,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => {
                    ended = Some((None, ClosedBy::Network));
                    break;
                }
            };
            let from = out.len();
            let outcome = protocol.feed(&mut buffer[..read], &mut out);
            let action = stage.outgoing(&mut out, from, &mut protocol, Instant::now());
            ended = settle(outcome, &protocol, &mut server_close, limits.close_timeout)
                .or_else(|| act(action, &mut server_close, limits.close_timeout));
            if ended.is_some() {
                break;
            }
            if out.len() >= WRITE_AT {
                if write(&mut stream, &out, shutdown, &limits).await.is_err() {
                    ended = Some((None, ClosedBy::Network));
                    break;
                }
                out.clear();
            }
        }
        if protocol.take_pong() {
            keepalive.pong(Instant::now());
            stage.pong(&mut out, Instant::now());
        }
        record(&mut protocol, metrics);
    };
    record(&mut protocol, metrics);
    // Ending TCP after the close handshake is the server's job (RFC 6455 7.1.1).
    let _ = tokio::time::timeout(Duration::from_millis(100), stream.shutdown()).await;
    Summary { messages: protocol.messages(), close_code, closed_by }
}

/// Adds what was echoed since the last call to the server's metrics; once per
/// burst of reads rather than per message, to keep the counters uncontended.
fn record(protocol: &mut Protocol, metrics: &Metrics) {
    let counts = protocol.take_counts();
    if counts != Counts::default() {
        metrics.echoed(MessageKind::Text, counts.text_messages, counts.text_bytes);
        metrics.echoed(MessageKind::Binary, counts.binary_messages, counts.binary_bytes);
    }
}

/// Turns a protocol outcome into the end of the connection, if it is one.
fn settle(
    outcome: Outcome,
    protocol: &Protocol,
    server_close: &mut Option<(u16, Instant)>,
    close_timeout: Duration,
) -> Ended {
    match (outcome, protocol.server_close_code()) {
        (Outcome::Continue, _) => None,
        (Outcome::PeerClosed(_), Some(code)) => Some((Some(code), ClosedBy::Server)),
        (Outcome::PeerClosed(client_code), None) => {
            Some((Some(client_code.unwrap_or(code::NO_STATUS)), ClosedBy::Client))
        }
        (Outcome::Failed(code), _) => {
            *server_close = Some((code, Instant::now() + close_timeout));
            None
        }
        (Outcome::Abort, code) => Some((code, ClosedBy::Server)),
    }
}

/// Turns what the stage did into the end of the connection, if it is one.
fn act(action: Action, server_close: &mut Option<(u16, Instant)>, close_timeout: Duration) -> Ended {
    match action {
        Action::Continue => None,
        Action::Closed(code) => {
            server_close.get_or_insert((code, Instant::now() + close_timeout));
            None
        }
        Action::Drop => Some((None, ClosedBy::Server)),
    }
}

/// Writes all of `bytes`, giving up when the client stops reading for longer
/// than `stall_limit`. Once the server is shutting down, a write gets the close
/// grace period and no more.
async fn write<T: Transport>(
    stream: &mut T,
    bytes: &[u8],
    shutdown: &CancellationToken,
    limits: &Limits,
) -> Result<(), WriteStop> {
    let write = stream.write_all(bytes);
    tokio::pin!(write);
    tokio::select! {
        written = &mut write => return written.map_err(|_| WriteStop::Broken),
        () = tokio::time::sleep(limits.ping_interval + limits.ping_timeout) => return Err(WriteStop::Stalled),
        () = shutdown.cancelled() => {}
    }
    match tokio::time::timeout(limits.close_timeout, write).await {
        Ok(written) => written.map_err(|_| WriteStop::Broken),
        Err(_) => Err(WriteStop::Stalled),
    }
}
