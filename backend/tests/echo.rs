//! The echo over real sockets: what goes in comes back, with the same type, in
//! the same order, and every close is a clean handshake.

mod support;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use support::{next_message, Running};

async fn check_echo(message: Message) {
    let server = Running::plain().await;
    let mut client = server.connect().await;
    client.send(message.clone()).await.unwrap();
    assert_eq!(next_message(&mut client).await, message);
}

#[tokio::test]
async fn text_comes_back_as_text() {
    check_echo(Message::text("hello, <b>echo</b> ✓")).await;
}

#[tokio::test]
async fn binary_comes_back_as_binary() {
    check_echo(Message::binary(vec![0u8, 1, 2, 0xfe, 0xff])).await;
}

#[tokio::test]
async fn empty_messages_come_back() {
    check_echo(Message::text("")).await;
    check_echo(Message::binary(Vec::new())).await;
}

#[tokio::test]
async fn a_one_mebibyte_message_comes_back_whole() {
    let bytes: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
    check_echo(Message::binary(bytes)).await;
    check_echo(Message::text("x".repeat(1 << 20))).await;
}

#[tokio::test]
async fn two_hundred_pipelined_messages_come_back_in_order() {
    let server = Running::plain().await;
    let mut client = server.connect().await;
    for i in 0..200 {
        let message =
            if i % 2 == 0 { Message::text(format!("message {i}")) } else { Message::binary(vec![i as u8; i]) };
        client.feed(message).await.unwrap();
    }
    client.flush().await.unwrap();
    for i in 0..200 {
        let expected =
            if i % 2 == 0 { Message::text(format!("message {i}")) } else { Message::binary(vec![i as u8; i]) };
        assert_eq!(next_message(&mut client).await, expected, "message {i}");
    }
}

#[tokio::test]
async fn the_clients_close_code_is_echoed() {
    let server = Running::plain().await;
    for code in [1000, 4001] {
        let mut client = server.connect().await;
        let frame = CloseFrame { code: CloseCode::from(code), reason: "bye".into() };
        client.send(Message::Close(Some(frame))).await.unwrap();
        match next_message(&mut client).await {
            Message::Close(Some(reply)) => assert_eq!(u16::from(reply.code), code),
            other => panic!("expected a close frame, got {other:?}"),
        }
        // After the handshake the server ends TCP: the stream finishes cleanly.
        let end = tokio::time::timeout(Duration::from_secs(5), client.next()).await.unwrap();
        assert!(end.is_none(), "expected the end of the stream, got {end:?}");
    }
}

#[tokio::test]
async fn fifty_concurrent_clients_each_get_their_own_echoes() {
    let server = Running::plain().await;
    let clients = (0..50).map(|id| {
        let url = server.ws_url();
        tokio::spawn(async move {
            let (mut client, _) = tokio_tungstenite::connect_async(url).await.unwrap();
            for round in 0..20 {
                let text = format!("client {id} round {round}");
                client.send(Message::text(text.clone())).await.unwrap();
                assert_eq!(next_message(&mut client).await, Message::text(text));
            }
            client.close(None).await.unwrap();
        })
    });
    for client in clients.collect::<Vec<_>>() {
        client.await.unwrap();
    }
}

#[tokio::test]
async fn shutdown_closes_open_sockets_with_1001() {
    let mut server = Running::plain().await;
    let mut client = server.connect().await;
    client.send(Message::text("before")).await.unwrap();
    assert_eq!(next_message(&mut client).await, Message::text("before"));

    let stopped = server.stop();
    match next_message(&mut client).await {
        Message::Close(Some(frame)) => {
            assert_eq!(frame.code, CloseCode::Away);
            assert_eq!(frame.reason.as_str(), "server shutting down");
        }
        other => panic!("expected close 1001, got {other:?}"),
    }
    // Reading on sends tungstenite's queued reply, which completes the handshake,
    // so the server need not wait out its grace period.
    while client.next().await.is_some() {}
    let result = tokio::time::timeout(Duration::from_secs(1), stopped).await;
    assert!(matches!(result, Ok(Ok(Ok(())))), "server did not stop promptly: {result:?}");
}
