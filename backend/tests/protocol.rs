//! What the server does with requests and frames that break the rules: each gets
//! a clear HTTP status or the close code RFC 6455 asks for.

mod support;

use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;

use support::{http, next_message, RawSocket, Running};

#[tokio::test]
async fn a_plain_get_of_ws_explains_itself() {
    let server = Running::plain().await;
    let reply = http(server.addr, "GET /ws HTTP/1.1").await;
    assert_eq!(reply.status, 426);
    assert_eq!(reply.header("upgrade"), Some("websocket"));
    assert!(reply.text().contains("WebSocket endpoint"), "{}", reply.text());
}

#[tokio::test]
async fn an_unsupported_version_gets_426_naming_version_13() {
    let server = Running::plain().await;
    let reply = http(
        server.addr,
        "GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    )
    .await;
    assert_eq!(reply.status, 426);
    assert_eq!(reply.header("sec-websocket-version"), Some("13"));
}

#[tokio::test]
async fn a_message_one_byte_over_the_limit_gets_1009_and_others_are_still_served() {
    let server = Running::start(std::path::Path::new("/nonexistent"), |config| config.max_message_bytes = 1000).await;
    let mut bystander = server.connect().await;

    let mut at_limit = server.connect().await;
    at_limit.send(Message::binary(vec![7u8; 1000])).await.unwrap();
    assert_eq!(next_message(&mut at_limit).await, Message::binary(vec![7u8; 1000]));

    let mut over = RawSocket::connect(server.addr).await;
    over.send_frame(0x82, &[7u8; 1001]).await;
    assert_eq!(over.expect_close().await, Some(1009));

    bystander.send(Message::text("still here")).await.unwrap();
    assert_eq!(next_message(&mut bystander).await, Message::text("still here"));
}

#[tokio::test]
async fn invalid_utf8_in_a_text_message_gets_1007() {
    let server = Running::plain().await;
    let mut socket = RawSocket::connect(server.addr).await;
    socket.send_frame(0x81, &[0xce, 0xba, 0xff, 0xfe]).await;
    assert_eq!(socket.expect_close().await, Some(1007));
}

#[tokio::test]
async fn protocol_violations_get_1002() {
    let server = Running::plain().await;
    // A reserved opcode, a reserved bit, a fragmented ping and an oversized ping.
    let violations: [(u8, Vec<u8>); 4] =
        [(0x83, vec![]), (0xc1, b"rsv1".to_vec()), (0x09, vec![]), (0x89, vec![0; 126])];
    for (first_byte, payload) in violations {
        let mut socket = RawSocket::connect(server.addr).await;
        socket.send_frame(first_byte, &payload).await;
        assert_eq!(socket.expect_close().await, Some(1002), "first byte {first_byte:#x}");
    }
}

#[tokio::test]
async fn an_unmasked_client_frame_gets_1002() {
    use tokio::io::AsyncWriteExt;
    let server = Running::plain().await;
    let mut socket = RawSocket::connect(server.addr).await;
    socket.stream.write_all(&[0x81, 0x02, b'h', b'i']).await.unwrap();
    assert_eq!(socket.expect_close().await, Some(1002));
}
