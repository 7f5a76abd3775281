//! The echo loop: drives one connection's [`Protocol`] over its socket, with
//! keep-alive pings, the server's own closes, and backpressure.
//!
//! An idle connection holds no buffer: the loop waits for the socket to become
//! readable first, and only then allocates a read buffer, which it frees again
//! before it writes or waits. Echoes are written (and flushed, which matters
//! for TLS) before more is read, so a client that does not read stalls only
//! itself, and holds at most one batch of output while it does.

use std::io;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::deflate::{Agreement, Deflater, Inflater};
use super::frame::code;
use super::keepalive::{Due, KeepAlive};
use super::output::{Counts, Output};
use super::protocol::{Outcome, Protocol};
use super::stage::{Action, Stage};
use super::transport::Transport;
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
    /// What was agreed about compression, if anything.
    pub(crate) compression: Option<Agreement>,
}

/// Echoes until the connection ends, with `stage` deciding what each message
/// becomes (on `/ws` its echo; on `/ws/lab` a command may act instead).
pub(crate) async fn echo<T: Transport, S: Stage>(
    mut stream: T,
    start: Start,
    mut stage: S,
    limits: Limits,
    metrics: &Metrics,
    shutdown: &CancellationToken,
) -> Summary {
    let Start { mut early, greeting, compression } = start;
    let mut protocol = Protocol::new(limits.max_message_bytes, compression.as_ref().map(Inflater::new));
    let mut keepalive = KeepAlive::new(limits.ping_interval, limits.ping_timeout, Instant::now());
    // The greeting goes out before the first echo, in the same write.
    let mut out = Output::new(greeting, compression.map(Deflater::new));
    // Set once the server has sent its close frame: how long to wait for the reply.
    let mut close_deadline: Option<Instant> = None;

    let mut ended = None;
    if !early.is_empty() {
        let outcome = protocol.feed(&mut early, &mut out, &mut stage, Instant::now());
        ended = settle(outcome, &out);
    }
    drop(early);

    let (close_code, closed_by) = loop {
        if close_deadline.is_none() && out.server_close_code().is_some() {
            close_deadline = Some(Instant::now() + limits.close_timeout);
        }
        if !out.is_empty() {
            if ended.is_some() {
                stream.last_write_next();
            }
            let written = write(&mut stream, out.bytes(), shutdown, &limits).await;
            // The next burst allocates again; an idle connection keeps nothing.
            out.release();
            if let Err(stop) = written {
                break match stop {
                    WriteStop::Broken => (None, ClosedBy::Network),
                    WriteStop::Stalled => (out.server_close_code(), ClosedBy::Server),
                };
            }
        }
        if let Some(ended) = ended {
            break ended;
        }

        let deadline = match close_deadline {
            Some(deadline) => deadline,
            None => stage.deadline().map_or(keepalive.deadline(), |due| due.min(keepalive.deadline())),
        };
        tokio::select! {
            biased;
            () = shutdown.cancelled(), if !out.is_closed() => {
                out.close(code::GOING_AWAY, "server shutting down");
                continue;
            }
            () = tokio::time::sleep_until(deadline) => {
                if close_deadline.is_some() {
                    // The client never answered the server's close frame.
                    ended = Some((out.server_close_code(), ClosedBy::Server));
                    continue;
                }
                let now = Instant::now();
                if stage.wake(&mut out, now) == Action::Drop {
                    ended = Some((None, ClosedBy::Server));
                }
                match keepalive.due(now) {
                    Due::Ping => out.ping(b""),
                    Due::TimedOut => {
                        // A peer that stopped answering will not answer a close
                        // either: send it for the record, then hang up.
                        out.close(code::GOING_AWAY, "no pong within the ping timeout");
                        ended = Some((out.server_close_code(), ClosedBy::Server));
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
        let mut heard = false;
        for _ in 0..READS_PER_TURN {
            buffer.clear();
            let read = match stream.try_read_buf(&mut buffer) {
                Ok(0) => {
                    ended = Some(match out.server_close_code() {
                        Some(code) => (Some(code), ClosedBy::Server),
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
            heard = true;
            let outcome = protocol.feed(&mut buffer[..read], &mut out, &mut stage, Instant::now());
            ended = settle(outcome, &out);
            // A full batch is written before more is read.
            if ended.is_some() || out.len() >= WRITE_AT {
                break;
            }
        }
        drop(buffer);
        let now = Instant::now();
        if heard {
            // Any bytes prove the peer alive, not only pongs: a client busy
            // sending a large frame cannot answer a ping until it is done.
            keepalive.heard(now);
        }
        if protocol.take_pong() {
            stage.pong(&mut out, now);
        }
        record(&mut out, metrics);
    };
    record(&mut out, metrics);
    // Ending TCP after the close handshake is the server's job (RFC 6455 7.1.1).
    let _ = tokio::time::timeout(Duration::from_millis(100), stream.shutdown()).await;
    Summary { messages: out.messages(), close_code, closed_by }
}

/// Adds what was echoed since the last call to the server's metrics; once per
/// burst of reads rather than per message, to keep the counters uncontended.
fn record(out: &mut Output, metrics: &Metrics) {
    let counts = out.take_counts();
    if counts != Counts::default() {
        metrics.echoed(MessageKind::Text, counts.text_messages, counts.text_bytes);
        metrics.echoed(MessageKind::Binary, counts.binary_messages, counts.binary_bytes);
    }
}

/// Turns a protocol outcome into the end of the connection, if it is one.
fn settle(outcome: Outcome, out: &Output) -> Ended {
    match outcome {
        Outcome::Continue => None,
        Outcome::PeerClosed(client_code) => Some(match out.server_close_code() {
            Some(server_code) => (Some(server_code), ClosedBy::Server),
            None => (Some(client_code.unwrap_or(code::NO_STATUS)), ClosedBy::Client),
        }),
        Outcome::Abort => Some((out.server_close_code(), ClosedBy::Server)),
        Outcome::Drop => Some((None, ClosedBy::Server)),
    }
}

/// Writes and flushes all of `bytes`, giving up when the client stops reading
/// for longer than a ping interval and timeout together. Once the server is
/// shutting down, a write gets the close grace period and no more.
async fn write<T: Transport>(
    stream: &mut T,
    bytes: &[u8],
    shutdown: &CancellationToken,
    limits: &Limits,
) -> Result<(), WriteStop> {
    // TLS may keep records in its own buffer after `write_all` reports success:
    // flushing sends them now rather than with the next write.
    let write = async {
        stream.write_all(bytes).await?;
        stream.flush().await
    };
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

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll};

    use tokio::io::AsyncWrite;

    use super::super::frame::{client_frame, parse_server_frames};
    use super::super::stage::Echo;
    use super::*;
    use crate::budget::MemoryBudget;

    /// A socket like a TLS stream whose peer reads slowly: writes are accepted
    /// into a buffer of its own and leave only when flushed.
    struct HoldsUntilFlushed {
        input: Vec<u8>,
        held: Vec<u8>,
        sent: Arc<Mutex<Vec<u8>>>,
    }

    impl Transport for HoldsUntilFlushed {
        fn ready(&mut self) -> impl std::future::Future<Output = io::Result<()>> + Send + '_ {
            let has_input = !self.input.is_empty();
            async move {
                if !has_input {
                    std::future::pending::<()>().await;
                }
                Ok(())
            }
        }

        fn try_read_buf(&mut self, buffer: &mut Vec<u8>) -> io::Result<usize> {
            if self.input.is_empty() {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let taken = (buffer.capacity() - buffer.len()).min(self.input.len());
            buffer.extend(self.input.drain(..taken));
            Ok(taken)
        }
    }

    impl AsyncWrite for HoldsUntilFlushed {
        fn poll_write(mut self: Pin<&mut Self>, _: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
            self.held.extend_from_slice(data);
            Poll::Ready(Ok(data.len()))
        }

        fn poll_flush(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            let held = std::mem::take(&mut self.held);
            self.sent.lock().unwrap().extend_from_slice(&held);
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            self.poll_flush(cx)
        }
    }

    #[tokio::test]
    async fn every_write_is_flushed_so_nothing_waits_for_the_next_one() {
        let sent = Arc::new(Mutex::new(Vec::new()));
        let stream = HoldsUntilFlushed {
            input: client_frame(0x81, b"hello", [1, 2, 3, 4]),
            held: Vec::new(),
            sent: Arc::clone(&sent),
        };
        let limits = Limits {
            max_message_bytes: 1 << 20,
            ping_interval: Duration::from_secs(30),
            ping_timeout: Duration::from_secs(10),
            close_timeout: Duration::from_secs(1),
        };
        let metrics = Metrics::new(Arc::new(MemoryBudget::new(0)));
        let shutdown = CancellationToken::new();
        let start = Start { early: Vec::new(), greeting: Vec::new(), compression: None };
        // The connection stays open, waiting for more input that never comes.
        let running = echo(stream, start, Echo, limits, &metrics, &shutdown);
        assert!(tokio::time::timeout(Duration::from_millis(100), running).await.is_err());
        let frames = parse_server_frames(&sent.lock().unwrap()).unwrap();
        assert_eq!(frames.len(), 1, "the echo reached the socket");
        assert_eq!((frames[0].first, frames[0].payload.as_slice()), (0x81, &b"hello"[..]));
    }
}
