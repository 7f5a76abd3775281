//! The listener and its connections: accepts TCP, speaks HTTP/1.1 through hyper
//! (which gives the TLS and the timeouts), hands every request to the warp
//! routes, `/ws` included, and runs the graceful shutdown. Connections that are not WebSockets are
//! counted and timed by `connections.rs`.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::Request;
use hyper::StatusCode;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::runtime::Handle;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_service::Service;
use tracing::{debug, info, warn};
use warp::Filter;

use crate::api;
use crate::assets::{self, Bundle};
use crate::budget::MemoryBudget;
use crate::config::Config;
use crate::connections::{Answered, Cut, HttpConnections, Phase, Registered, Timeouts};
use crate::http::{self, HttpResponse, Peer};
use crate::limits;
use crate::metrics::{self, CutReason, Metrics};
use crate::tls;
use crate::ws::{self, Endpoint};

/// How many bytes of an unfinished request head make hyper give up with 431.
/// hyper checks between reads, and one read may add as much again, so a head
/// buffer holds at most twice this: 128 KiB, against about 800 KiB with hyper's
/// default. Browsers send a few KiB and nginx passes at most 32 KiB.
const HEAD_BUFFER_BYTES: usize = 64 * 1024;

/// How long the accept loop pauses after a failed accept.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(20);

/// Connections the kernel may hold, handshake done, until the server accepts
/// them. std's 128 is too short for a burst: past it the kernel drops the SYN
/// and the client tries again a second later (the handshake benchmark's 256
/// clients showed that second in its tail). The kernel caps it at
/// `net.core.somaxconn` (4096 by default since Linux 5.4); SECURITY.md says
/// what it costs.
const LISTEN_BACKLOG: u32 = 4096;

/// Binds `addr` for listening as std does (`SO_REUSEADDR` on Unix, so a
/// restart is not refused while old connections linger in TIME_WAIT), with
/// a listen queue of [`LISTEN_BACKLOG`].
fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// A bound, not yet serving, echo server.
pub struct Server {
    /// The listening socket once per runtime that accepts on it (each a
    /// descriptor of the same socket, registered with that runtime), with the
    /// runtime, which also serves the connections it accepts.
    listeners: Vec<(Handle, TcpListener)>,
    local_addr: SocketAddr,
    config: Config,
    tls: Option<TlsAcceptor>,
}

impl Server {
    /// Binds the listening socket, served by the runtime this is called on.
    /// Binding before serving lets a caller that asked for port 0 learn the
    /// real port from [`Server::local_addr`].
    pub async fn bind(config: Config) -> io::Result<Server> {
        Server::bind_on(config, &[Handle::current()]).await
    }

    /// Binds the listening socket, accepted on by every runtime in
    /// `runtimes`; each serves the connections it accepts, and everything
    /// else (connection limits, metrics, shutdown) is shared. A connection
    /// goes to whichever runtime accepts it first, and connections are taken
    /// in the order they arrived, as with one runtime. [`Server::run`] may be
    /// awaited on any runtime.
    pub async fn bind_on(config: Config, runtimes: &[Handle]) -> io::Result<Server> {
        if runtimes.is_empty() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "no runtime to serve on"));
        }
        let listener = listen(config.addr)
            .map_err(|err| io::Error::new(err.kind(), format!("cannot listen on {}: {err}", config.addr)))?;
        let local_addr = listener.local_addr()?;
        let listener = listener.into_std()?;
        let mut listeners = Vec::with_capacity(runtimes.len());
        for runtime in runtimes {
            // Registered with the runtime that will accept on it.
            let _entered = runtime.enter();
            listeners.push((runtime.clone(), TcpListener::from_std(listener.try_clone()?)?));
        }
        let tls = match (&config.tls_cert, &config.tls_key) {
            (Some(cert), Some(key)) => Some(tls::acceptor(cert, key)?),
            _ => None,
        };
        Ok(Server { listeners, local_addr, config, tls })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` completes. Then it stops accepting, sends close
    /// 1001 to every open WebSocket and waits up to `--shutdown-grace` for them
    /// to finish before returning.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> io::Result<()> {
        let Server { listeners, local_addr, config, tls } = self;
        // Made here, so that every descriptor an idle server holds (each
        // acceptor's spare among them) is open once it says it is listening.
        let acceptors: Vec<_> =
            listeners.into_iter().map(|(runtime, listener)| (runtime, Acceptor::new(listener))).collect();
        let (web, socket) = if tls.is_some() { ("https", "wss") } else { ("http", "ws") };
        let stopping = CancellationToken::new();
        let tracker = TaskTracker::new();
        let lab_memory = Arc::new(MemoryBudget::new(config.lab_memory));
        let metrics = Arc::new(Metrics::new(lab_memory));
        let endpoint = Arc::new(Endpoint::new(&config, Arc::clone(&metrics), stopping.clone(), tracker.clone()));
        let timeouts = Timeouts { header: config.header_timeout, body: config.body_timeout, idle: config.idle_timeout };
        let connections = Arc::new(HttpConnections::new(config.max_http_connections, timeouts, Arc::clone(&metrics)));
        let bundle = Arc::new(Bundle::new(config.dist.as_deref()));
        let routes = warp::service(
            ws::routes(Arc::clone(&endpoint))
                .or(metrics::routes(Arc::clone(&metrics), stopping.clone()))
                .unify()
                .or(api::routes(u64::from(config.max_message_bytes)))
                .unify()
                .or(assets::routes(Arc::clone(&bundle)))
                .unify()
                .boxed(),
        );

        info!(addr = %local_addr, "listening on {web}://{local_addr} (WebSocket echo at {socket}://{local_addr}/ws)");
        log_descriptor_budget(&config);
        if bundle.is_built() {
            info!("serving the web app from {}", bundle.describe());
        } else {
            warn!(
                "no web app in {}: build it with `{}`; /ws works meanwhile",
                bundle.describe(),
                assets::BUILD_COMMAND
            );
        }

        let services = Services {
            routes,
            metrics: Arc::clone(&metrics),
            stopping: stopping.clone(),
            body_timeout: config.body_timeout,
        };
        let accepting = Accepting { connections, tls, services, tracker: tracker.clone() };
        // Each listener is served by its own runtime; closing this token stops
        // every accept loop, which drops its listener.
        let closing = CancellationToken::new();
        // Should this future be dropped rather than finish, the listeners go
        // with it, as they would if it owned them.
        let _close_on_drop = closing.clone().drop_guard();
        let accept_loops: Vec<_> = acceptors
            .into_iter()
            .map(|(runtime, acceptor)| runtime.spawn(accepting.clone().serve(acceptor, closing.clone())))
            .collect();

        shutdown.await;
        info!(open = endpoint.open_connections(), grace = ?config.shutdown_grace, "shutting down: closing open connections");
        stopping.cancel();
        // Keep answering while the sockets close: /healthz now says 503 and new
        // upgrades are refused, so a load balancer drains this instance.
        let deadline = tokio::time::Instant::now() + config.shutdown_grace;
        while endpoint.open_connections() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        closing.cancel();
        for accept_loop in accept_loops {
            if let Err(err) = accept_loop.await {
                warn!(%err, "an accept loop ended abnormally");
            }
        }
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

/// Logs the connection limits against the open-file limit, and warns when the
/// limits could need more descriptors than the process may open.
fn log_descriptor_budget(config: &Config) {
    let open_files = limits::open_file_limit();
    let needed = limits::descriptors_needed(config.max_connections, config.max_http_connections);
    info!(
        open_files,
        max_connections = config.max_connections,
        max_http_connections = config.max_http_connections,
        reserved = limits::RESERVED_DESCRIPTORS,
        "connection limits: {} WebSockets and {} other connections, within {open_files} open files",
        config.max_connections,
        config.max_http_connections,
    );
    if needed > open_files {
        warn!(
            open_files,
            needed,
            "--max-connections and --max-http-connections together need {needed} file descriptors but the \
             open-file limit is {open_files}: accepts will fail with EMFILE before the limits are reached"
        );
    }
}

/// The listening socket, and what keeps it accepting when the process is out
/// of file descriptors.
struct Acceptor {
    listener: TcpListener,
    /// A descriptor held back (an open `/dev/null`). The kernel fails an accept
    /// for want of a descriptor before it looks for a waiting client, so only
    /// by letting this one go and accepting again can the server tell whether
    /// a client waits, and take it when one does.
    spare: Option<std::fs::File>,
    failures: Throttled,
}

/// What the spare descriptor holds open.
const SPARE_DESCRIPTOR: &str = "/dev/null";

impl Acceptor {
    fn new(listener: TcpListener) -> Acceptor {
        Acceptor { listener, spare: std::fs::File::open(SPARE_DESCRIPTOR).ok(), failures: Throttled::default() }
    }

    /// The next client. Out of descriptors, a waiting client gets the spare
    /// one, and the connection that has made no progress for longest (never a
    /// WebSocket) is closed to win the spare back; without a spare the loop
    /// pauses, so that a lasting shortage never becomes a busy loop.
    async fn accept(&mut self, connections: &HttpConnections, metrics: &Metrics) -> (TcpStream, SocketAddr) {
        loop {
            // Before accepting, so that a freed descriptor goes to the spare
            // first, not to the next client.
            self.restore_spare();
            let err = match self.listener.accept().await {
                Ok(accepted) => return accepted,
                Err(err) => err,
            };
            let out_of_descriptors = limits::is_out_of_descriptors(&err);
            metrics.accept_failed(out_of_descriptors);
            if out_of_descriptors {
                if let Some(spare) = self.spare.take() {
                    drop(spare);
                    // One try without waiting: a client is either there now or not.
                    match self.listener.accept().now_or_never() {
                        Some(Ok(accepted)) => {
                            let shed = connections.shed_one();
                            if shed {
                                self.restore_spare_once_freed().await;
                            }
                            if let Some(held_back) = self.failures.due() {
                                warn!(%err, shed, held_back, "accept failed: out of file descriptors; took the client with the spare descriptor");
                            }
                            return accepted;
                        }
                        // Nobody was waiting, or the descriptor went elsewhere.
                        Some(Err(_)) | None => continue,
                    }
                }
            }
            if let Some(held_back) = self.failures.due() {
                if out_of_descriptors {
                    warn!(%err, held_back, "accept failed: out of file descriptors; waiting for one to be freed");
                } else {
                    warn!(%err, held_back, "accept failed");
                }
            }
            tokio::time::sleep(ACCEPT_BACKOFF).await;
            self.restore_spare();
            if out_of_descriptors && self.spare.is_none() {
                // Something else took the descriptor the spare had: close a
                // connection so that the spare can be had back.
                connections.shed_one();
            }
        }
    }

    fn restore_spare(&mut self) {
        if self.spare.is_none() {
            self.spare = std::fs::File::open(SPARE_DESCRIPTOR).ok();
        }
    }

    /// Takes back as the spare the descriptor of a connection just shed, which
    /// its task releases the next time it runs (waiting at most 20 ms).
    async fn restore_spare_once_freed(&mut self) {
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(1)).await;
            self.restore_spare();
            if self.spare.is_some() {
                return;
            }
        }
    }
}

/// Lets a repeated warning through at most once a second, counting the ones
/// held back, so that a persistent accept error cannot flood the log.
#[derive(Debug, Default)]
struct Throttled {
    last: Option<tokio::time::Instant>,
    held_back: u64,
}

impl Throttled {
    /// `Some(number held back since the last one)` when a warning may be logged now.
    fn due(&mut self) -> Option<u64> {
        let now = tokio::time::Instant::now();
        match self.last {
            Some(last) if now.duration_since(last) < Duration::from_secs(1) => {
                self.held_back += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.held_back))
            }
        }
    }
}

/// What every connection's requests are served by.
#[derive(Clone)]
struct Services<R> {
    routes: R,
    metrics: Arc<Metrics>,
    stopping: CancellationToken,
    body_timeout: Duration,
}

/// What an accept loop needs: everything shared between the listeners.
#[derive(Clone)]
struct Accepting<R> {
    connections: Arc<HttpConnections>,
    tls: Option<TlsAcceptor>,
    services: Services<R>,
    tracker: TaskTracker,
}

impl<R> Accepting<R>
where
    R: Service<Request<Incoming>, Response = warp::reply::Response, Error = Infallible> + Clone + Send + 'static,
    R::Future: Send,
{
    /// Accepts with `acceptor` until `closing` is cancelled, serving each
    /// connection in a task of the runtime this runs on.
    async fn serve(self, mut acceptor: Acceptor, closing: CancellationToken) {
        loop {
            let (stream, peer) = tokio::select! {
                () = closing.cancelled() => break,
                accepted = acceptor.accept(&self.connections, &self.services.metrics) => accepted,
            };
            // Registering happens here, at the accept, so that a connection
            // arriving at the limit makes room before it is served.
            let registered = self.connections.register();
            self.tracker.spawn(accept_connection(stream, peer, registered, self.tls.clone(), self.services.clone()));
        }
    }
}

/// Serves one TCP connection, first completing the TLS handshake when the
/// server has a certificate, for as long as `registered` allows.
async fn accept_connection<R>(
    stream: TcpStream,
    peer: SocketAddr,
    registered: Registered,
    tls: Option<TlsAcceptor>,
    services: Services<R>,
) where
    R: Service<Request<Incoming>, Response = warp::reply::Response, Error = Infallible> + Clone + Send + 'static,
    R::Future: Send,
{
    // Echoes are small and latency matters more than packet count.
    let _ = stream.set_nodelay(true);
    let activity = Arc::clone(registered.activity());
    let work = async move {
        let Some(tls) = tls else {
            return serve_connection(stream, peer, activity, services).await;
        };
        match tls.accept(stream).await {
            Ok(stream) => serve_connection(stream, peer, activity, services).await,
            Err(err) => debug!(%peer, %err, "TLS handshake failed"),
        }
    };
    match registered.watch(work).await {
        Ok(()) => {}
        Err(Cut::Shed) => debug!(%peer, "closed the least active connection to make room for a new one"),
        Err(Cut::TimedOut(phase)) => debug!(%peer, phase = phase.as_str(), "closed a connection that took too long"),
    }
}

/// Serves HTTP/1.1 requests on one connection until it upgrades or closes.
async fn serve_connection<I, R>(
    stream: I,
    peer: SocketAddr,
    activity: Arc<crate::connections::Activity>,
    services: Services<R>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    R: Service<Request<Incoming>, Response = warp::reply::Response, Error = Infallible> + Clone + Send + 'static,
    R::Future: Send,
{
    let stopping = services.stopping.clone();
    let service = service_fn(move |mut request: Request<Incoming>| {
        activity.enter(Phase::Request);
        request.extensions_mut().insert(Peer(peer));
        let Services { mut routes, metrics, body_timeout, .. } = services.clone();
        let activity = Arc::clone(&activity);
        async move {
            // Every route answers at once except for reading the body, so this
            // deadline is the body's.
            let response = match tokio::time::timeout(body_timeout, routes.call(request)).await {
                Ok(Ok(response)) => response,
                Ok(Err(never)) => match never {},
                Err(_) => {
                    metrics.http_connection_cut(CutReason::Body);
                    debug!(%peer, "request body too slow: answered 408");
                    request_timed_out()
                }
            };
            Ok::<_, Infallible>(response.map(|body| Answered::new(body, activity)))
        }
    });
    let draining = stopping.is_cancelled();
    let connection = http1::Builder::new()
        .max_buf_size(HEAD_BUFFER_BYTES)
        // `connections.rs` times every phase, the head included.
        .header_read_timeout(None)
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

/// The answer to a request whose body did not arrive within `--body-timeout`;
/// the connection closes after it, since the rest of the body may still come.
fn request_timed_out() -> HttpResponse {
    let mut response =
        http::plain(StatusCode::REQUEST_TIMEOUT, "the request body did not arrive within --body-timeout");
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}
