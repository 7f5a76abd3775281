//! What operators watch: `/healthz` and `/metrics`, over real sockets.

mod support;

use std::path::Path;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use support::{http, next_message, RawSocket, Running};

/// The value of one sample line of `/metrics`.
fn sample(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no {series} in\n{metrics}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn metrics_count_connections_messages_bytes_closes_refusals_and_handshakes() {
    let server = Running::start(Path::new("/nonexistent"), |config| {
        config.allowed_origin = vec!["https://ok.example".into()];
    })
    .await;
    let mut client = server.connect().await;
    client.send(Message::text("hello")).await.unwrap();
    assert_eq!(next_message(&mut client).await, Message::text("hello"));
    client.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    assert_eq!(next_message(&mut client).await, Message::binary(vec![1, 2, 3]));

    let open = http(server.addr, "GET /metrics HTTP/1.1").await;
    assert_eq!(open.status, 200);
    assert!(open.header("content-type").unwrap().starts_with("text/plain; version=0.0.4"));
    assert_eq!(sample(&open.text(), "websocket_connections_open"), 1.0);

    let frame = CloseFrame { code: CloseCode::from(4001), reason: "done".into() };
    client.send(Message::Close(Some(frame))).await.unwrap();
    while client.next().await.is_some() {}
    let (head, _) = RawSocket::handshake(server.addr, "Origin: https://evil.example\r\n").await;
    assert!(head.starts_with("HTTP/1.1 403"));

    // The close is counted once the server has finished with the socket.
    let mut text = String::new();
    for _ in 0..100 {
        text = http(server.addr, "GET /metrics HTTP/1.1").await.text();
        if sample(&text, "websocket_connections_open") == 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for (series, value) in [
        ("websocket_connections_open", 0.0),
        ("websocket_connections_total", 1.0),
        ("websocket_messages_total{type=\"text\"}", 1.0),
        ("websocket_messages_total{type=\"binary\"}", 1.0),
        ("websocket_bytes_total{type=\"text\"}", 5.0),
        ("websocket_bytes_total{type=\"binary\"}", 3.0),
        ("websocket_closes_total{code=\"4001\"}", 1.0),
        ("websocket_upgrades_refused_total{reason=\"origin\"}", 1.0),
        ("websocket_handshake_duration_seconds_count", 1.0),
        ("websocket_handshake_duration_seconds_bucket{le=\"+Inf\"}", 1.0),
    ] {
        assert_eq!(sample(&text, series), value, "{series}");
    }
}

#[tokio::test]
async fn healthz_is_ok_while_serving_and_503_once_shutdown_begins() {
    let mut server = Running::start(Path::new("/nonexistent"), |config| {
        config.shutdown_grace = Duration::from_secs(3);
    })
    .await;
    let reply = http(server.addr, "GET /healthz HTTP/1.1").await;
    assert_eq!((reply.status, reply.text().as_str()), (200, "ok\n"));

    // A client that does not answer the close keeps the server in its grace period.
    let _silent = RawSocket::connect(server.addr).await;
    let stopped = server.stop();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let reply = http(server.addr, "GET /healthz HTTP/1.1").await;
    assert_eq!(reply.status, 503);
    let (head, _) = RawSocket::handshake(server.addr, "").await;
    assert!(head.starts_with("HTTP/1.1 503"), "{head}");
    let metrics = http(server.addr, "GET /metrics HTTP/1.1").await.text();
    assert_eq!(sample(&metrics, "websocket_upgrades_refused_total{reason=\"shutting_down\"}"), 1.0);

    drop(_silent);
    let result = tokio::time::timeout(Duration::from_secs(5), stopped).await;
    assert!(matches!(result, Ok(Ok(Ok(())))), "{result:?}");
}
