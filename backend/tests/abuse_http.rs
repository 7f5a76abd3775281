//! Hostile clients before any WebSocket: request bodies sent a byte at a time,
//! idle keep-alive connections, TLS handshakes that never finish, and a process
//! out of file descriptors. Where descriptors matter, the real binary runs under
//! a low open-file limit (`prlimit`, from util-linux), so that its descriptors
//! and memory can be read from /proc; each such test checks that they stay
//! within the stated bound and that a well-behaved client connecting meanwhile
//! still gets its echo.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio_tungstenite::tungstenite::Message;

use support::{next_message, Certificate, Running};

const NO_DIST: &str = "/nonexistent-dist";

/// A head announcing a body that then comes one byte at a time (here: never).
const SLOW_BODY: &[u8] = b"POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 65536\r\n\r\nx";

/// The start of a TLS ClientHello record announcing 512 bytes, of which only
/// these few ever come.
const PARTIAL_CLIENT_HELLO: &[u8] = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";

/// The backend binary running as a child process under an open-file limit.
struct Spawned {
    _child: Child,
    pid: u32,
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

impl Spawned {
    /// Starts the binary with soft and hard open-file limits of `open_files`.
    async fn start(open_files: u64, args: &[&str]) -> Spawned {
        let mut child = Command::new("prlimit")
            .arg(format!("--nofile={open_files}:{open_files}"))
            .arg(env!("CARGO_BIN_EXE_backend"))
            .args(["--addr", "127.0.0.1:0", "--dist", NO_DIST])
            .args(args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("run the backend through prlimit (util-linux)");
        // prlimit sets the limit and then becomes the backend: the same process.
        let pid = child.id().expect("a running child");
        let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let log = Arc::new(Mutex::new(Vec::new()));
        let addr = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                log.lock().unwrap().push(line.clone());
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let url = rest.split_whitespace().next().unwrap();
                    return url.split("://").nth(1).unwrap().parse::<SocketAddr>().unwrap();
                }
            }
            panic!("the backend exited before listening: {:?}", log.lock().unwrap());
        })
        .await
        .expect("the backend listens within 10 s");
        let sink = Arc::clone(&log);
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                sink.lock().unwrap().push(line);
            }
        });
        Spawned { _child: child, pid, addr, log }
    }

    /// File descriptors the server holds now.
    fn descriptors(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid)).expect("the server's /proc entry").count()
    }

    /// The server's resident memory now, in KiB.
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap();
        let line = status.lines().find(|line| line.starts_with("VmRSS:")).expect("VmRSS");
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// CPU time the server has used, user and system, in clock ticks (USER_HZ,
    /// 100 a second on Linux).
    fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).unwrap();
        // Fields after the command name, which ends with the last ')': state is
        // the first, utime the twelfth and stime the thirteenth.
        let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    }

    fn logged(&self, text: &str) -> bool {
        self.log.lock().unwrap().iter().any(|line| line.contains(text))
    }
}

/// Lets this test process open as many sockets as its hard limit allows.
fn raise_own_open_file_limit() {
    rlimit::increase_nofile_limit(u64::MAX).expect("raise the test's open-file limit");
}

/// One echo on a new WebSocket, which must open within 5 s.
async fn echo_within_5_s(addr: SocketAddr, text: &str) {
    let url = format!("ws://{addr}/ws");
    let (mut client, _) = tokio::time::timeout(Duration::from_secs(5), tokio_tungstenite::connect_async(url))
        .await
        .expect("a well-behaved client gets its WebSocket within 5 s")
        .expect("the handshake succeeds");
    client.send(Message::text(text)).await.unwrap();
    assert_eq!(next_message(&mut client).await, Message::text(text));
}

/// How many of `streams` the server has closed (EOF or reset).
fn closed_by_server(streams: &[TcpStream]) -> usize {
    streams.iter().filter(|stream| is_closed(stream)).count()
}

fn is_closed(stream: &TcpStream) -> bool {
    let mut buffer = [0u8; 256];
    loop {
        match stream.try_read(&mut buffer) {
            Ok(0) => return true,
            // An answer before the close, such as a 408.
            Ok(_) => continue,
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => return false,
            Err(_) => return true,
        }
    }
}

/// Waits up to 5 s for `condition`.
async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    for _ in 0..250 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("not within 5 s: {what}");
}

/// Opens `count` connections, each of which sends `bytes` and then nothing more.
async fn open_stalled(addr: SocketAddr, count: usize, bytes: &[u8]) -> Vec<TcpStream> {
    let mut streams = Vec::with_capacity(count);
    for _ in 0..count {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(bytes).await.unwrap();
        streams.push(stream);
    }
    streams
}

#[tokio::test]
async fn slow_bodies_past_the_open_file_limit_leave_room_for_a_websocket_echo() {
    raise_own_open_file_limit();
    // At 256 open files the defaults allow 24 connections that are not
    // WebSockets (and 168 WebSockets); the timeouts are long, so only the
    // connection limit can make room.
    let server =
        Spawned::start(256, &["--header-timeout", "60s", "--body-timeout", "60s", "--max-message-bytes", "65536"])
            .await;
    eventually("the limits are logged", || server.logged("24 other connections, within 256 open files")).await;
    let (idle_descriptors, idle_rss) = (server.descriptors(), server.rss_kib());

    let slow = open_stalled(server.addr, 300, SLOW_BODY).await;
    echo_within_5_s(server.addr, "served meanwhile").await;

    eventually("the server closes all but 24 slow bodies", || closed_by_server(&slow) >= 300 - 24).await;
    let (descriptors, rss) = (server.descriptors(), server.rss_kib());
    println!("slow bodies: {idle_descriptors} -> {descriptors} descriptors, {idle_rss} -> {rss} KiB");
    // One descriptor per connection it keeps; the WebSocket may still be closing.
    assert!(descriptors <= idle_descriptors + 24 + 1, "{descriptors} descriptors, {idle_descriptors} when idle");
    // The stated bound per connection that is not a WebSocket (SECURITY.md):
    // twice --max-message-bytes of body, 128 KiB of head buffer and 32 KiB of
    // the rest; plus 4 MiB of allocator and runtime slack.
    let bound = 24 * (2 * 64 + 128 + 32) + 4096;
    assert!(rss.saturating_sub(idle_rss) <= bound, "RSS grew from {idle_rss} KiB to {rss} KiB (bound {bound} KiB)");
}

#[tokio::test]
async fn out_of_descriptors_the_accept_loop_sheds_a_stalled_connection_for_the_next_client() {
    raise_own_open_file_limit();
    // Limits far above what 64 descriptors allow, so that accept itself fails.
    let server =
        Spawned::start(64, &["--max-connections", "1000", "--max-http-connections", "1000", "--header-timeout", "60s"])
            .await;
    let stalled = open_stalled(server.addr, 100, b"GET / HTTP/1.1\r\n").await;
    eventually("accept fails for want of descriptors", || server.logged("out of file descriptors")).await;
    echo_within_5_s(server.addr, "served although every descriptor was taken").await;
    assert!(closed_by_server(&stalled) > 0, "no stalled connection was closed to make room");
}

#[tokio::test]
async fn out_of_descriptors_with_only_websockets_the_accept_loop_waits_without_spinning_and_recovers() {
    raise_own_open_file_limit();
    let server = Spawned::start(64, &["--max-connections", "1000", "--max-http-connections", "1000"]).await;
    let url = format!("ws://{}/ws", server.addr);
    let mut sockets = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_millis(500), tokio_tungstenite::connect_async(url.as_str())).await {
            Ok(Ok((socket, _))) => sockets.push(socket),
            Ok(Err(err)) => panic!("handshake failed: {err}; log: {:#?}", server.log.lock().unwrap()),
            // Accept is failing: every descriptor holds a WebSocket.
            Err(_) => break,
        }
        assert!(sockets.len() < 64, "the server accepted more sockets than it has descriptors");
    }
    eventually("accept fails for want of descriptors", || server.logged("out of file descriptors")).await;
    let before = server.cpu_ticks();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let used = server.cpu_ticks() - before;
    assert!(used <= 10, "the accept loop used {used} ticks of CPU in 1 s while out of descriptors");

    for mut socket in sockets.drain(..10) {
        socket.close(None).await.unwrap();
    }
    echo_within_5_s(server.addr, "served once descriptors were free").await;
}

#[tokio::test]
async fn a_slow_body_gets_408_after_the_body_timeout() {
    let server = Running::start(Path::new(NO_DIST), |config| config.body_timeout = Duration::from_millis(300)).await;
    for head in [SLOW_BODY, b"POST /api/mailbox/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nx"] {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(head).await.unwrap();
        let mut reply = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut reply))
            .await
            .expect("the server answers and closes within 5 s")
            .unwrap();
        let reply = String::from_utf8_lossy(&reply);
        assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
        assert!(reply.to_ascii_lowercase().contains("connection: close"), "{reply}");
    }
    // A body that comes in time is echoed.
    let reply = support::http_with_body(server.addr, "POST /api/echo HTTP/1.1", b"in time").await;
    assert_eq!((reply.status, reply.text().as_str()), (200, "in time"));
}

#[tokio::test]
async fn an_idle_keep_alive_connection_closes_after_the_idle_timeout_not_the_header_timeout() {
    let server = Running::start(Path::new(NO_DIST), |config| {
        config.header_timeout = Duration::from_millis(200);
        config.idle_timeout = Duration::from_millis(1500);
    })
    .await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut reply = vec![0u8; 4096];
    stream.write_all(request).await.unwrap();
    let read = stream.read(&mut reply).await.unwrap();
    assert!(reply[..read].starts_with(b"HTTP/1.1 200"));
    // Idle for three header timeouts, well within the idle timeout: still open.
    tokio::time::sleep(Duration::from_millis(600)).await;
    stream.write_all(request).await.unwrap();
    let read = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut reply)).await.unwrap().unwrap();
    assert!(reply[..read].starts_with(b"HTTP/1.1 200"), "{:?}", String::from_utf8_lossy(&reply[..read]));
    // Then idle for good: closed once the idle timeout has passed.
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "an idle keep-alive connection stayed open");
}

/// One echo over wss on a new connection, which must open within 5 s.
async fn wss_echo_within_5_s(addr: SocketAddr, certificate: &Certificate) {
    let connect = async {
        let tls = certificate.connect(TcpStream::connect(addr).await.unwrap()).await;
        tokio_tungstenite::client_async("wss://localhost/ws", tls).await.expect("WebSocket handshake").0
    };
    let mut client = tokio::time::timeout(Duration::from_secs(5), connect)
        .await
        .expect("a well-behaved TLS client gets its WebSocket within 5 s");
    client.send(Message::text("over TLS")).await.unwrap();
    let echoed = loop {
        match tokio::time::timeout(Duration::from_secs(5), client.next()).await.unwrap().unwrap().unwrap() {
            Message::Ping(_) | Message::Pong(_) => continue,
            other => break other,
        }
    };
    assert_eq!(echoed, Message::text("over TLS"));
}

#[tokio::test]
async fn tls_handshakes_that_never_finish_past_the_open_file_limit_leave_room_for_a_wss_echo() {
    raise_own_open_file_limit();
    let certificate = Certificate::new();
    let (cert, key) = (certificate.cert_path(), certificate.key_path());
    // At 128 open files the defaults allow 8 connections that are not WebSockets.
    let server = Spawned::start(
        128,
        &[
            "--header-timeout",
            "60s",
            "--max-message-bytes",
            "65536",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    )
    .await;
    let (idle_descriptors, idle_rss) = (server.descriptors(), server.rss_kib());
    let stalled = open_stalled(server.addr, 200, PARTIAL_CLIENT_HELLO).await;
    wss_echo_within_5_s(server.addr, &certificate).await;
    eventually("the server closes all but 8 handshakes", || closed_by_server(&stalled) >= 200 - 8).await;
    let (descriptors, rss) = (server.descriptors(), server.rss_kib());
    println!("TLS handshakes: {idle_descriptors} -> {descriptors} descriptors, {idle_rss} -> {rss} KiB");
    assert!(descriptors <= idle_descriptors + 8 + 1, "{descriptors} descriptors, {idle_descriptors} when idle");
    // The stated bound per connection that is not a WebSocket, as for slow
    // bodies (a handshake in progress holds at most one 64 KiB handshake
    // message within it); plus 4 MiB of allocator and runtime slack.
    let bound = 8 * (2 * 64 + 128 + 32) + 4096;
    assert!(rss.saturating_sub(idle_rss) <= bound, "RSS grew from {idle_rss} KiB to {rss} KiB (bound {bound} KiB)");
}

#[tokio::test]
async fn a_tls_handshake_that_never_finishes_is_cut_after_the_header_timeout() {
    let certificate = Certificate::new();
    let folder = certificate.folder.path().to_path_buf();
    let server = Running::start(Path::new(NO_DIST), move |config| {
        config.header_timeout = Duration::from_millis(300);
        config.tls_cert = Some(folder.join("cert.pem"));
        config.tls_key = Some(folder.join("key.pem"));
    })
    .await;
    let mut stalled = open_stalled(server.addr, 3, PARTIAL_CLIENT_HELLO).await;
    for stream in &mut stalled {
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(3), stream.read_to_end(&mut rest)).await;
        assert!(closed.is_ok(), "a TLS handshake that never finished stayed open");
    }
    wss_echo_within_5_s(server.addr, &certificate).await;
}
