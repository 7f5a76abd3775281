//! The listener and its connections: accepts TCP, speaks HTTP/1.1 through hyper,
//! sends `/ws` to the WebSocket endpoint and everything else to the warp routes,
//! and runs the graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_service::Service;
use tracing::{debug, info, warn};
use warp::Filter;

use crate::api;
use crate::assets::{self, Bundle};
use crate::config::Config;
use crate::metrics::{self, Metrics};
use crate::tls;
use crate::ws::{Endpoint, Route};

/// A bound, not yet serving, echo server.
pub struct Server {
    listener: TcpListener,
    local_addr: SocketAddr,
    config: Config,
    tls: Option<TlsAcceptor>,
}

impl Server {
    /// Binds the listening socket. Binding before serving lets a caller that asked
    /// for port 0 learn the real port from [`Server::local_addr`].
    pub async fn bind(config: Config) -> io::Result<Server> {
        let listener = TcpListener::bind(config.addr)
            .await
            .map_err(|err| io::Error::new(err.kind(), format!("cannot listen on {}: {err}", config.addr)))?;
        let local_addr = listener.local_addr()?;
        let tls = match (&config.tls_cert, &config.tls_key) {
            (Some(cert), Some(key)) => Some(tls::acceptor(cert, key)?),
            _ => None,
        };
        Ok(Server { listener, local_addr, config, tls })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` completes. Then it stops accepting, sends close
    /// 1001 to every open WebSocket and waits up to `--shutdown-grace` for them
    /// to finish before returning.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> io::Result<()> {
        let Server { listener, local_addr, config, tls } = self;
        let (web, socket) = if tls.is_some() { ("https", "wss") } else { ("http", "ws") };
        let stopping = CancellationToken::new();
        let tracker = TaskTracker::new();
        let metrics = Arc::new(Metrics::default());
        let endpoint = Arc::new(Endpoint::new(&config, Arc::clone(&metrics), stopping.clone(), tracker.clone()));
        let bundle = Arc::new(Bundle::new(config.dist.as_deref()));
        let routes = warp::service(
            metrics::routes(metrics, stopping.clone())
                .or(api::routes(u64::from(config.max_message_bytes)))
                .unify()
                .or(assets::routes(Arc::clone(&bundle)))
                .unify()
                .boxed(),
        );

        info!(addr = %local_addr, "listening on {web}://{local_addr} (WebSocket echo at {socket}://{local_addr}/ws)");
        if bundle.is_built() {
            info!("serving the web app from {}", bundle.describe());
        } else {
            warn!(
                "no web app in {}: build it with `{}`; /ws works meanwhile",
                bundle.describe(),
                assets::BUILD_COMMAND
            );
        }

        let accept = |stream, peer| {
            let (tls, endpoint, routes, stopping) =
                (tls.clone(), Arc::clone(&endpoint), routes.clone(), stopping.clone());
            accept_connection(stream, peer, tls, config.header_timeout, endpoint, routes, stopping)
        };

        tokio::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        // Running out of file descriptors makes accept fail at once;
                        // pausing keeps that from becoming a busy loop.
                        warn!(%err, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            tracker.spawn(accept(stream, peer));
        }

        info!(open = endpoint.open_connections(), grace = ?config.shutdown_grace, "shutting down: closing open connections");
        stopping.cancel();
        // Keep answering while the sockets close: /healthz now says 503 and new
        // upgrades are refused, so a load balancer drains this instance.
        let deadline = tokio::time::Instant::now() + config.shutdown_grace;
        while endpoint.open_connections() > 0 {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => break,
                () = tokio::time::sleep(Duration::from_millis(20)) => {}
                accepted = listener.accept() => {
                    if let Ok((stream, peer)) = accepted {
                        tracker.spawn(accept(stream, peer));
                    }
                }
            }
        }
        drop(listener);
        tracker.close();
        // The sockets stop waiting for close replies at the deadline; the margin
        // covers their last writes.
        if tokio::time::timeout(Duration::from_millis(250), tracker.wait()).await.is_err() {
            warn!(left = tracker.len(), "grace period over; dropping the connections left");
        }
        info!("stopped");
        Ok(())
    }
}

/// Serves one TCP connection, first completing the TLS handshake when the
/// server has a certificate (within the header timeout).
async fn accept_connection<R>(
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    header_timeout: Duration,
    endpoint: Arc<Endpoint>,
    routes: R,
    stopping: CancellationToken,
) where
    R: Service<Request<Incoming>, Response = warp::reply::Response, Error = Infallible> + Clone + Send + 'static,
    R::Future: Send,
{
    // Echoes are small and latency matters more than packet count.
    let _ = stream.set_nodelay(true);
    let Some(tls) = tls else {
        return serve_connection(stream, peer, header_timeout, endpoint, routes, stopping).await;
    };
    match tokio::time::timeout(header_timeout, tls.accept(stream)).await {
        Ok(Ok(stream)) => serve_connection(stream, peer, header_timeout, endpoint, routes, stopping).await,
        Ok(Err(err)) => debug!(%peer, %err, "TLS handshake failed"),
        Err(_) => debug!(%peer, "TLS handshake timed out"),
    }
}

/// Serves HTTP/1.1 requests on one connection until it upgrades or closes.
async fn serve_connection<I, R>(
    stream: I,
    peer: SocketAddr,
    header_timeout: Duration,
    endpoint: Arc<Endpoint>,
    routes: R,
    stopping: CancellationToken,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    R: Service<Request<Incoming>, Response = warp::reply::Response, Error = Infallible> + Clone + Send + 'static,
    R::Future: Send,
{
    let service = service_fn(move |request: Request<Incoming>| {
        let endpoint = Arc::clone(&endpoint);
        let mut routes = routes.clone();
        async move {
            match Route::at(request.uri().path()) {
                Some(route) => Ok::<_, Infallible>(endpoint.upgrade(request, peer, route)),
                None => routes.call(request).await,
            }
        }
    });
    let draining = stopping.is_cancelled();
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        // During shutdown each connection gets one answer, then closes.
        .keep_alive(!draining)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = stopping.cancelled(), if !draining => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(err) = result {
        debug!(%peer, %err, "HTTP connection ended with an error");
    }
}
