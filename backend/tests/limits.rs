//! Resource limits, keep-alive, origin policy, subprotocols and shutdown, over
//! real sockets with short durations.

mod support;

use std::path::Path;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

use support::{masked_frame, next_message, RawSocket, Running};

const NO_DIST: &str = "/nonexistent-dist";

#[tokio::test]
async fn with_origins_listed_other_origins_get_403_and_originless_clients_connect() {
    let server = Running::start(Path::new(NO_DIST), |config| {
        config.allowed_origin = vec!["https://echo.example.com".into()];
    })
    .await;
    let (head, _) = RawSocket::handshake(server.addr, "Origin: https://evil.example\r\n").await;
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
    let (head, _) = RawSocket::handshake(server.addr, "Origin: https://echo.example.com\r\n").await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let (head, _) = RawSocket::handshake(server.addr, "").await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
}

#[tokio::test]
async fn by_default_every_origin_may_connect() {
    let server = Running::plain().await;
    let (head, _) = RawSocket::handshake(server.addr, "Origin: https://anywhere.example\r\n").await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
}

#[tokio::test]
async fn offered_subprotocols_are_not_selected_and_the_client_still_connects() {
    let server = Running::plain().await;
    let (head, mut socket) = RawSocket::handshake(server.addr, "Sec-WebSocket-Protocol: chat, superchat\r\n").await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(!head.to_ascii_lowercase().contains("sec-websocket-protocol"), "{head}");
    socket.send_frame(0x81, b"still echoes").await;
    assert_eq!(socket.read_frame().await, Some((0x1, b"still echoes".to_vec())));
}

#[tokio::test]
async fn past_the_connection_limit_upgrades_get_503_and_a_freed_slot_is_reused() {
    let server = Running::start(Path::new(NO_DIST), |config| config.max_connections = 2).await;
    let mut first = server.connect().await;
    let mut second = server.connect().await;
    let (head, _) = RawSocket::handshake(server.addr, "").await;
    assert!(head.starts_with("HTTP/1.1 503"), "{head}");

    // The open sockets are untouched.
    for client in [&mut first, &mut second] {
        client.send(Message::text("still served")).await.unwrap();
        assert_eq!(next_message(client).await, Message::text("still served"));
    }

    first.close(None).await.unwrap();
    while first.next().await.is_some() {}
    // The slot frees once the server has finished with the closed socket.
    let mut reused = None;
    for _ in 0..100 {
        let (head, socket) = RawSocket::handshake(server.addr, "").await;
        if head.starts_with("HTTP/1.1 101") {
            reused = Some(socket);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut reused = reused.expect("the freed slot is reused");
    reused.send_frame(0x81, b"new").await;
    assert_eq!(reused.read_frame().await, Some((0x1, b"new".to_vec())));
}

#[tokio::test]
async fn a_half_sent_request_is_closed_after_the_header_timeout() {
    let server = Running::start(Path::new(NO_DIST), |config| config.header_timeout = Duration::from_millis(200)).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(3), stream.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the server kept a half-sent request open");
}

#[tokio::test]
async fn a_client_that_never_reads_stalls_instead_of_growing_the_server() {
    let server = Running::plain().await;
    let mut socket = RawSocket::connect(server.addr).await;
    let frame = masked_frame(0x82, &[0x5a; 64 * 1024]);
    let mut written = 0usize;
    // Without backpressure the server would echo everything into its own memory
    // and this loop would write all 256 MiB; with it, the writes stall once the
    // bounded write buffer and the kernel's socket buffers are full.
    while written < 256 << 20 {
        match tokio::time::timeout(Duration::from_millis(500), socket.stream.write_all(&frame)).await {
            Ok(result) => {
                result.unwrap();
                written += frame.len();
            }
            Err(_) => break,
        }
    }
    assert!(written < 64 << 20, "wrote {written} bytes without the server pushing back");

    // Everyone else is still served.
    let mut other = server.connect().await;
    other.send(Message::text("hello")).await.unwrap();
    assert_eq!(next_message(&mut other).await, Message::text("hello"));
}

#[tokio::test]
async fn the_server_pings_and_closes_a_peer_that_never_answers() {
    let server = Running::start(Path::new(NO_DIST), |config| {
        config.ping_interval = Duration::from_millis(100);
        config.ping_timeout = Duration::from_millis(150);
    })
    .await;
    let mut silent = RawSocket::connect(server.addr).await;
    let (opcode, _) = silent.read_frame().await.expect("a ping");
    assert_eq!(opcode, 0x9, "the first frame is a ping");
    assert_eq!(silent.expect_close().await, Some(1001));
    let end = tokio::time::timeout(Duration::from_secs(2), silent.read_frame()).await;
    assert_eq!(end.expect("TCP ends after the close frame"), None);
}

#[tokio::test]
async fn a_peer_that_answers_pings_stays_connected() {
    let server = Running::start(Path::new(NO_DIST), |config| {
        config.ping_interval = Duration::from_millis(50);
        config.ping_timeout = Duration::from_millis(100);
    })
    .await;
    let mut client = server.connect().await;
    // tungstenite answers each ping while it reads; six intervals pass.
    let reader = async {
        while let Some(message) = client.next().await {
            assert!(matches!(message.unwrap(), Message::Ping(_)));
        }
    };
    assert!(tokio::time::timeout(Duration::from_millis(300), reader).await.is_err(), "the connection ended");
    client.send(Message::text("alive")).await.unwrap();
    assert_eq!(next_message(&mut client).await, Message::text("alive"));
}

#[tokio::test]
async fn after_shutdown_no_new_connection_is_accepted() {
    let mut server = Running::plain().await;
    let addr = server.addr;
    server.stop().await.unwrap().unwrap();
    assert!(TcpStream::connect(addr).await.is_err(), "the listener is still open");
}
