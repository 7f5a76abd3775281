//! The server laid out as the binary runs it: one single-threaded runtime per
//! thread, all accepting from the one listening socket.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use backend::runtime::PerCore;
use backend::{Config, Server};
use support::RawSocket;
use tokio::runtime::Handle;
use tokio::sync::oneshot;

const BINARY: u8 = 0x82;
const CLOSE: u8 = 0x88;

/// Blocks `runtime`'s thread until the returned sender is dropped, once the
/// block has begun. Blocking a runtime is what a task must never do; here it
/// stands for a runtime too busy to accept, so that only the others can.
async fn hold(runtime: &Handle) -> std::sync::mpsc::Sender<()> {
    let (release, released) = std::sync::mpsc::channel::<()>();
    let (holding, held) = oneshot::channel();
    runtime.spawn(async move {
        let _ = holding.send(());
        let _ = released.recv();
    });
    held.await.expect("the runtime runs the hold");
    release
}

/// Tasks alive on `runtime` once the count has stopped changing (a task that
/// has finished is released a moment later).
async fn settled_tasks(runtime: &Handle) -> usize {
    let mut last = runtime.metrics().num_alive_tasks();
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let now = runtime.metrics().num_alive_tasks();
        if now == last {
            return now;
        }
        last = now;
    }
}

/// Opens a WebSocket and has one message echoed, within 5 s.
async fn echoed(addr: SocketAddr) -> RawSocket {
    let open = async {
        let mut socket = RawSocket::connect(addr).await;
        socket.send_frame(BINARY, b"echo").await;
        assert_eq!(socket.read_frame().await, Some((2, b"echo".to_vec())));
        socket
    };
    tokio::time::timeout(Duration::from_secs(5), open).await.expect("an echo within 5 s")
}

#[test]
fn each_runtime_accepts_and_serves_and_shutdown_reaches_the_sockets_of_every_runtime() {
    let runtimes = PerCore::start(2).expect("two runtimes");
    let handles = runtimes.handles();
    let (bound, addr) = std::sync::mpsc::channel();
    let (stop, stopped) = oneshot::channel::<()>();
    // The clients run on a thread of their own, so that each of the server's
    // runtimes can be held up in turn while the other serves.
    let server_runtimes = handles.clone();
    let clients = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async move {
            let addr = addr.recv().expect("the server's address");
            let mut sockets = Vec::new();
            for (held, free) in [(1, 0), (0, 1)] {
                let release = hold(&server_runtimes[held]).await;
                let before = settled_tasks(&server_runtimes[free]).await;
                for _ in 0..3 {
                    sockets.push(echoed(addr).await);
                }
                let after = settled_tasks(&server_runtimes[free]).await;
                assert!(after >= before + 3, "runtime {free} serves the connections it accepted: {before} -> {after}");
                drop(release);
            }
            let _ = stop.send(());
            for socket in &mut sockets {
                assert_eq!(socket.expect_close().await, Some(1001));
                socket.send_frame(CLOSE, &1001u16.to_be_bytes()).await;
            }
        });
    });
    let result = runtimes.block_on(async {
        let mut config = Config::new("127.0.0.1:0".parse().unwrap(), "/nonexistent-dist");
        config.shutdown_grace = Duration::from_secs(2);
        let server = Server::bind_on(config, &handles).await.expect("bind a loopback port");
        bound.send(server.local_addr()).unwrap();
        let started = tokio::time::Instant::now();
        let result = server.run(async {
            let _ = stopped.await;
        });
        (result.await, started)
    });
    clients.join().expect("the clients' checks");
    assert!(result.0.is_ok(), "{:?}", result.0);
    assert!(result.1.elapsed() < Duration::from_secs(2), "every socket closed within the grace period");
    let left = runtimes.block_on(async { settled_tasks(&handles[1]).await });
    assert_eq!(left, 0, "nothing is left running on the other runtime");
}

#[test]
fn a_port_in_use_is_refused() {
    let runtimes = PerCore::start(2).expect("two runtimes");
    let handles = runtimes.handles();
    runtimes.block_on(async {
        let config = Config::new("127.0.0.1:0".parse().unwrap(), "/nonexistent-dist");
        let first = Server::bind_on(config.clone(), &handles).await.expect("bind a loopback port");
        let mut again = config;
        again.addr = first.local_addr();
        let err = Server::bind_on(again, &handles).await.err().expect("the port is taken");
        assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse, "{err}");
    });
}

/// A burst of clients larger than std's listen backlog (128) all complete
/// their TCP handshake while no runtime accepts: with a short backlog the
/// kernel drops the SYNs past it and each of those clients waits a second
/// before it tries again (seen as a 1 s tail in the handshake benchmark).
#[tokio::test]
async fn a_burst_of_connections_waits_in_the_listen_queue_not_in_syn_retries() {
    let server = Server::bind(Config::new("127.0.0.1:0".parse().unwrap(), "/nonexistent-dist"))
        .await
        .expect("bind a loopback port");
    let addr = server.local_addr();
    let clients: Vec<_> = (0..400)
        .map(|_| tokio::spawn(tokio::time::timeout(Duration::from_millis(500), tokio::net::TcpStream::connect(addr))))
        .collect();
    let mut connected = Vec::new();
    for client in clients {
        if let Ok(Ok(stream)) = client.await.expect("the connecting task") {
            connected.push(stream);
        }
    }
    assert_eq!(connected.len(), 400, "connections completed without an accept");
    drop(server);
}
