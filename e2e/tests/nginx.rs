//! Scale-out: real nginx, configured with `deploy/nginx-echo.conf`, in front of
//! two backends. Echoes pass through; when one backend stops, new connections
//! land on the other; and nothing an anonymous client asks for makes nginx
//! take a backend out of service.

use std::path::Path;
use std::time::{Duration, Instant};

use e2e::{closed_port, Backend};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio_tungstenite::tungstenite::Message;

/// nginx running in the foreground with a configuration in a temporary folder.
struct Nginx {
    _child: Child,
    _folder: tempfile::TempDir,
    port: u16,
}

impl Nginx {
    async fn start(backends: [&Backend; 2]) -> Nginx {
        let nginx = std::env::var("NGINX").unwrap_or_else(|_| "/usr/sbin/nginx".into());
        let folder = tempfile::tempdir().unwrap();
        let port = closed_port();
        let shipped = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/nginx-echo.conf"))
            .expect("deploy/nginx-echo.conf");
        let site = shipped
            .replace("server 127.0.0.1:3001", &format!("server {}", backends[0].addr))
            .replace("server 127.0.0.1:3002", &format!("server {}", backends[1].addr))
            .replace("listen 8080;", &format!("listen 127.0.0.1:{port};"));
        assert_ne!(site, shipped, "the shipped configuration no longer has the expected lines");
        std::fs::write(folder.path().join("echo.conf"), site).unwrap();
        let dir = folder.path().display();
        let main = format!(
            "user root;\nmaster_process off;\nworker_processes 1;\npid {dir}/nginx.pid;\nerror_log {dir}/error.log warn;\n\
             events {{ worker_connections 256; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {dir}/body;\n  proxy_temp_path {dir}/proxy;\n\
             fastcgi_temp_path {dir}/fastcgi;\n  uwsgi_temp_path {dir}/uwsgi;\n  scgi_temp_path {dir}/scgi;\n\
             include {dir}/echo.conf;\n}}\n"
        );
        std::fs::write(folder.path().join("nginx.conf"), main).unwrap();
        let child = Command::new(nginx)
            .args(["-e", "stderr", "-g", "daemon off;", "-p"])
            .arg(folder.path())
            .arg("-c")
            .arg(folder.path().join("nginx.conf"))
            .kill_on_drop(true)
            .spawn()
            .expect("start nginx (cargo xtask test installs Debian's nginx)");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(started.elapsed() < Duration::from_secs(10), "nginx did not listen within 10 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Nginx { _child: child, _folder: folder, port }
    }
}

/// One echo through nginx on a fresh connection.
async fn echo_through(port: u16, text: &str) {
    let (mut client, _) =
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/ws")).await.expect("upgrade via nginx");
    client.send(Message::text(text)).await.unwrap();
    let echoed = tokio::time::timeout(Duration::from_secs(5), client.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(echoed, Message::text(text));
    client.close(None).await.unwrap();
    while client.next().await.is_some() {}
}

/// One HTTP/1.1 request on a fresh connection; the whole reply.
async fn request(port: u16, head: &str, body: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let head = format!("{head}\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body.as_bytes()).await.unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).await.unwrap();
    reply
}

/// `websocket_connections_total` of one backend, asked directly.
async fn connections_total(backend: &Backend) -> u64 {
    let mut stream = TcpStream::connect(backend.addr).await.unwrap();
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).await.unwrap();
    reply
        .lines()
        .find_map(|line| line.strip_prefix("websocket_connections_total "))
        .and_then(|value| value.trim().parse().ok())
        .expect("websocket_connections_total")
}

#[tokio::test]
async fn nginx_spreads_connections_and_fails_over_when_a_backend_stops() {
    let mut first = Backend::start(&[]).await;
    let second = Backend::start(&[]).await;
    let nginx = Nginx::start([&first, &second]).await;

    for round in 0..6 {
        echo_through(nginx.port, &format!("round {round}")).await;
    }
    let (on_first, on_second) = (connections_total(&first).await, connections_total(&second).await);
    assert_eq!(on_first + on_second, 6);
    assert!(on_first > 0 && on_second > 0, "nginx used only one backend: {on_first} and {on_second}");

    // A polling mailbox is one backend's state: its writes and reads must meet
    // there (round-robin would lose about half of these).
    for index in 0..8 {
        let posted =
            request(nginx.port, &format!("POST /api/mailbox/box-{index} HTTP/1.1"), &format!("m{index}")).await;
        assert!(posted.starts_with("HTTP/1.1 204"), "{posted}");
        let read = request(nginx.port, &format!("GET /api/mailbox/box-{index} HTTP/1.1"), "").await;
        assert!(read.ends_with(&format!("[\"m{index}\"]")), "box-{index}: {read}");
    }

    first.terminate().await;
    assert!(first.wait().await.success());
    for round in 0..4 {
        echo_through(nginx.port, &format!("after the stop {round}")).await;
    }
    assert_eq!(connections_total(&second).await, on_second + 4, "new connections land on the remaining backend");

    // Pages pass through too.
    let reply = request(nginx.port, "GET / HTTP/1.1", "").await;
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
}

/// The status nginx answers a fresh connection's request with.
async fn status_of(port: u16, head: &str, body: &str) -> u16 {
    let reply = request(port, head, body).await;
    reply.split(' ').nth(1).and_then(|status| status.parse().ok()).unwrap_or_else(|| panic!("no status in {reply:?}"))
}

/// What a well-behaved client does right after an attack: load the page and
/// echo, a few times, so that both backends are asked. Under a configuration
/// that let the attack mark the backends down, nginx answers 502 (no live
/// upstreams) here.
async fn well_behaved_client_is_served(port: u16, after: &str) {
    for round in 0..4 {
        let page = request(port, "GET / HTTP/1.1", "").await;
        assert!(page.starts_with("HTTP/1.1 200"), "after {after}, a page load got: {page}");
        echo_through(port, &format!("after {after}, round {round}")).await;
    }
}

/// Waits until neither backend has a WebSocket open.
async fn until_no_sockets_open(backends: [&Backend; 2]) {
    let started = Instant::now();
    for backend in backends {
        loop {
            let mut stream = TcpStream::connect(backend.addr).await.unwrap();
            stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
            let mut reply = String::new();
            stream.read_to_string(&mut reply).await.unwrap();
            if reply.lines().any(|line| line == "websocket_connections_open 0") {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "sockets still open after 10 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test]
async fn anonymous_clients_cannot_make_nginx_mark_a_backend_down() {
    // Two WebSocket slots per backend, so that filling them is quick.
    let first = Backend::start(&["--max-connections", "2"]).await;
    let second = Backend::start(&["--max-connections", "2"]).await;
    let nginx = Nginx::start([&first, &second]).await;
    well_behaved_client_is_served(nginx.port, "start").await;

    // Upgrades the lab refuses with a server-error status, on request. (The lab
    // may refuse such statuses as a bad request instead; either way the next
    // client must be served.)
    for status in [503, 502, 500, 504] {
        for _ in 0..2 {
            let head = format!(
                "GET /ws/lab?status={status} HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="
            );
            status_of(nginx.port, &head, "").await;
        }
        well_behaved_client_is_served(nginx.port, &format!("lab refusals with {status}")).await;
    }

    // Every WebSocket slot taken: the next upgrade is refused by both backends.
    let mut held = Vec::new();
    for _ in 0..4 {
        let (socket, _) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{}/ws", nginx.port))
            .await
            .expect("upgrade via nginx");
        held.push(socket);
    }
    // Twice: nginx counts a 503 against a backend only when it has another to
    // try, so each refused upgrade counts against one of the two.
    let upgrade = "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                   Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==";
    for _ in 0..2 {
        assert_eq!(status_of(nginx.port, upgrade, "").await, 503, "both backends are full");
    }
    for mut socket in held {
        socket.close(None).await.unwrap();
        while socket.next().await.is_some() {}
    }
    until_no_sockets_open([&first, &second]).await;
    well_behaved_client_is_served(nginx.port, "full backends").await;

    // Mailboxes filled past their bounds.
    let posted = status_of(nginx.port, "POST /api/mailbox/full HTTP/1.1", &"\u{1}".repeat(200_000)).await;
    assert_eq!(posted, 413);
    for index in 0..1100 {
        status_of(nginx.port, &format!("POST /api/mailbox/squat-{index} HTTP/1.1"), "x").await;
    }
    well_behaved_client_is_served(nginx.port, "mailboxes filled").await;
}
