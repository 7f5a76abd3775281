//! Issue 6's server half over real sockets: the handshake report (`?inspect`)
//! and the lab endpoint's commands.

mod support;

use std::time::{Duration, Instant};

use futures_util::SinkExt;
use support::{masked_frame, next_message, RawSocket, Running};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::Message;

const TEXT: u8 = 0x81;

/// A lab socket opened by hand.
async fn lab(server: &Running) -> RawSocket {
    let (head, socket) = RawSocket::handshake_at(server.addr, "/ws/lab", "").await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    socket
}

/// The next frame's text, failing after 5 s or at EOF.
async fn next_text(socket: &mut RawSocket) -> String {
    let (opcode, payload) = tokio::time::timeout(Duration::from_secs(5), socket.read_frame())
        .await
        .expect("a frame within 5 s")
        .expect("a frame before TCP ends");
    assert_eq!(opcode, 0x1, "a text frame");
    String::from_utf8(payload).unwrap()
}

#[tokio::test]
async fn inspect_reports_the_handshake_first_then_echoes() {
    let server = Running::plain().await;
    let (head, mut socket) =
        RawSocket::handshake_at(server.addr, "/ws?inspect", "Origin: http://example.test\r\nX-Extra: \"q\"\r\n").await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    socket.send_frame(TEXT, b"after the report").await;

    let report: serde_json::Value = serde_json::from_str(&next_text(&mut socket).await).unwrap();
    assert_eq!(report["server"], "handshake");
    assert_eq!(report["request"]["line"], "GET /ws?inspect HTTP/1.1");
    let request_headers = report["request"]["headers"].as_array().unwrap();
    assert!(request_headers.contains(&serde_json::json!(["sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="])));
    assert!(request_headers.contains(&serde_json::json!(["x-extra", "\"q\""])));
    assert!(request_headers.contains(&serde_json::json!(["origin", "http://example.test"])));
    assert_eq!(report["response"]["line"], "HTTP/1.1 101 Switching Protocols");
    // The report holds exactly the headers that went out, the date included.
    let response_headers = report["response"]["headers"].as_array().unwrap();
    for pair in response_headers {
        let (name, value) = (pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
        assert!(
            head.to_ascii_lowercase().contains(&format!("{name}: {}", value.to_ascii_lowercase())),
            "{name} in {head}"
        );
    }
    assert!(response_headers.contains(&serde_json::json!(["sec-websocket-accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="])));
    assert_eq!(head.matches("\r\n").count() - 2, response_headers.len(), "{head}");

    assert_eq!(next_text(&mut socket).await, "after the report");
}

#[tokio::test]
async fn without_inspect_there_is_no_report_and_a_plain_lab_query_changes_nothing_on_ws() {
    let server = Running::plain().await;
    let (head, mut socket) = RawSocket::handshake_at(server.addr, "/ws?status=503", "").await;
    assert!(head.starts_with("HTTP/1.1 101"), "/ws ignores the lab's query: {head}");
    socket.send_frame(TEXT, b"just the echo").await;
    assert_eq!(next_text(&mut socket).await, "just the echo");
}

#[tokio::test]
async fn the_lab_echoes_and_answers_commands_with_json_reports() {
    let server = Running::plain().await;
    let mut socket = lab(&server).await;
    socket.send_frame(TEXT, b"plain text").await;
    socket.send_frame(0x82, &[0, 1, 2]).await;
    socket.send_frame(TEXT, b"/help").await;
    socket.send_frame(TEXT, b"/close 1006").await;
    assert_eq!(next_text(&mut socket).await, "plain text");
    assert_eq!(socket.read_frame().await, Some((0x2, vec![0, 1, 2])));
    let help: serde_json::Value = serde_json::from_str(&next_text(&mut socket).await).unwrap();
    assert_eq!(help["server"], "help");
    assert!(help["commands"].as_array().unwrap().len() >= 6);
    let error = next_text(&mut socket).await;
    assert!(error.starts_with(r#"{"server":"error","message":"1006 may not be sent"#), "{error}");
}

#[tokio::test]
async fn close_sends_the_asked_code_and_reason() {
    let server = Running::plain().await;
    let mut socket = lab(&server).await;
    socket.send_frame(TEXT, b"/close 4000 see you").await;
    let (opcode, payload) = socket.read_frame().await.unwrap();
    assert_eq!(opcode, 0x8);
    assert_eq!(payload, [&4000u16.to_be_bytes()[..], b"see you"].concat());
    // The client's reply completes the handshake, and the server ends TCP.
    socket.send_frame(0x88, &4000u16.to_be_bytes()).await;
    assert_eq!(tokio::time::timeout(Duration::from_secs(5), socket.read_frame()).await.unwrap(), None);
}

#[tokio::test]
async fn drop_ends_tcp_without_a_close_frame() {
    let server = Running::plain().await;
    let mut socket = lab(&server).await;
    socket.send_frame(TEXT, b"before").await;
    socket.send_frame(TEXT, b"/drop").await;
    assert_eq!(next_text(&mut socket).await, "before");
    assert_eq!(tokio::time::timeout(Duration::from_secs(5), socket.read_frame()).await.unwrap(), None);
}

#[tokio::test]
async fn delay_holds_echoes_back_in_order() {
    let server = Running::plain().await;
    let mut socket = lab(&server).await;
    socket.send_frame(TEXT, b"/delay 150").await;
    assert_eq!(next_text(&mut socket).await, r#"{"server":"delay","ms":150}"#);
    let sent = Instant::now();
    socket.send_frame(TEXT, b"one").await;
    socket.send_frame(TEXT, b"two").await;
    assert_eq!(next_text(&mut socket).await, "one");
    assert!(sent.elapsed() >= Duration::from_millis(150), "{:?}", sent.elapsed());
    assert_eq!(next_text(&mut socket).await, "two");
    socket.send_frame(TEXT, b"/delay 0").await;
    assert_eq!(next_text(&mut socket).await, r#"{"server":"delay","ms":0}"#);
}

#[tokio::test]
async fn ping_is_answered_by_the_client_and_timed() {
    let server = Running::plain().await;
    // tungstenite answers pings by itself, as browsers do.
    let (mut client, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/ws/lab", server.addr)).await.expect("handshake");
    client.send(Message::text("/ping hello")).await.unwrap();
    let report = next_message(&mut client).await.into_text().unwrap();
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["server"], "pong");
    assert!(report["ms"].as_f64().unwrap() >= 0.0);
}

#[tokio::test]
async fn fragment_sends_one_message_in_several_frames() {
    let server = Running::plain().await;
    let mut socket = lab(&server).await;
    socket.send_frame(TEXT, "/fragment 3 héllo wörld".as_bytes()).await;
    let mut frames = Vec::new();
    for _ in 0..3 {
        frames.push(socket.read_whole_frame().await.unwrap());
    }
    let first_bytes: Vec<u8> = frames.iter().map(|(first, _)| *first).collect();
    assert_eq!(first_bytes, [0x01, 0x00, 0x80]);
    let whole: Vec<u8> = frames.into_iter().flat_map(|(_, payload)| payload).collect();
    assert_eq!(String::from_utf8(whole).unwrap(), "héllo wörld");
    assert_eq!(next_text(&mut socket).await, r#"{"server":"fragmented","frames":3,"bytes":13}"#);
}

#[tokio::test]
async fn status_refuses_the_upgrade_with_that_status() {
    let server = Running::plain().await;
    let (head, _) = RawSocket::handshake_at(server.addr, "/ws/lab?status=403", "").await;
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
    let (head, _) = RawSocket::handshake_at(server.addr, "/ws/lab?status=418&inspect", "").await;
    assert!(head.starts_with("HTTP/1.1 418"), "{head}");
    // A 5xx would tell a proxy in front that this server is failing.
    for bad in ["101", "500", "502", "503", "599", "600", "x"] {
        let (head, _) = RawSocket::handshake_at(server.addr, &format!("/ws/lab?status={bad}"), "").await;
        assert!(head.starts_with("HTTP/1.1 400"), "{bad}: {head}");
    }
    let metrics = support::http(server.addr, "GET /metrics HTTP/1.1").await.text();
    assert!(metrics.contains(r#"websocket_upgrades_refused_total{reason="lab"} 2"#), "{metrics}");
}

#[tokio::test]
async fn a_violation_in_the_lab_gets_the_same_close_code_as_on_ws() {
    let server = Running::plain().await;
    let mut socket = lab(&server).await;
    // Invalid UTF-8 in a text message: 1007, as the echo.
    socket.stream.write_all(&masked_frame(TEXT, &[0xff, 0xfe])).await.unwrap();
    assert_eq!(socket.expect_close().await, Some(1007));
}
