//! The sockets the echo loop runs on: plain TCP, and TLS made to look like it.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// How much one read of a TLS stream takes in.
const READ_BUFFER: usize = 16 * 1024;

/// A socket the echo loop can wait on without holding a buffer.
pub(crate) trait Transport: AsyncWrite + Unpin + Send {
    /// Completes when a read may make progress.
    fn ready(&mut self) -> impl Future<Output = io::Result<()>> + Send + '_;
    /// Appends what is there to `buffer`, up to its spare capacity, without
    /// waiting (`WouldBlock` when nothing is).
    fn try_read_buf(&mut self, buffer: &mut Vec<u8>) -> io::Result<usize>;
    /// Says that the next write is the last before the shutdown, so that the
    /// two may leave in one segment. Best effort; by default nothing.
    fn last_write_next(&mut self) {}
}

impl Transport for TcpStream {
    /// Corks the socket: the last write waits in the kernel, and the shutdown
    /// that follows adds its FIN to it and sends both at once (Linux pushes
    /// a FIN out whatever the cork). One segment fewer per close than the
    /// close frame and then the FIN, for every peer; a client that
    /// acknowledges at once (the handshake benchmark's does) sends one
    /// acknowledgement fewer too.
    #[cfg(target_os = "linux")]
    fn last_write_next(&mut self) {
        let _ = socket2::SockRef::from(&*self).set_tcp_cork(true);
    }

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
