//! `POST /api/echo`: the echo over plain HTTP.

mod support;

use std::path::Path;

use support::{http, Running};

#[tokio::test]
async fn post_bodies_come_back_with_their_content_type() {
    let server = Running::plain().await;
    let body = "{\"hello\": \"échø\"}";
    let reply = support::http_with_body(
        server.addr,
        "POST /api/echo HTTP/1.1\r\nContent-Type: application/json",
        body.as_bytes(),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.text(), body);
}

#[tokio::test]
async fn bodies_over_the_message_limit_get_413_and_other_methods_405() {
    let server = Running::start(Path::new("/nonexistent"), |config| config.max_message_bytes = 10).await;
    let reply = support::http_with_body(server.addr, "POST /api/echo HTTP/1.1", &[b'x'; 11]).await;
    assert_eq!(reply.status, 413);
    let reply = support::http_with_body(server.addr, "POST /api/echo HTTP/1.1", &[b'x'; 10]).await;
    assert_eq!((reply.status, reply.body.len()), (200, 10));
    let reply = http(server.addr, "GET /api/echo HTTP/1.1").await;
    assert_eq!(reply.status, 405);
}

#[tokio::test]
async fn a_mailbox_holds_posted_messages_until_a_get_takes_them() {
    let server = Running::plain().await;
    let reply = http(server.addr, "GET /api/mailbox/run-1 HTTP/1.1").await;
    assert_eq!((reply.status, reply.text().as_str()), (200, "[]"));
    assert_eq!(reply.header("content-type"), Some("application/json"));
    for message in ["first", "sécond \"quoted\""] {
        let reply = support::http_with_body(server.addr, "POST /api/mailbox/run-1 HTTP/1.1", message.as_bytes()).await;
        assert_eq!(reply.status, 204);
    }
    let reply = http(server.addr, "GET /api/mailbox/run-1 HTTP/1.1").await;
    assert_eq!(reply.text(), r#"["first","sécond \"quoted\""]"#);
    assert_eq!(http(server.addr, "GET /api/mailbox/run-1 HTTP/1.1").await.text(), "[]");
    let reply = support::http_with_body(server.addr, "POST /api/mailbox/bad%20name HTTP/1.1", b"x").await;
    assert_eq!(reply.status, 400);
    let reply = support::http_with_body(server.addr, "POST /api/mailbox/run-1 HTTP/1.1", &[0xff]).await;
    assert_eq!(reply.status, 400);
}

#[tokio::test]
async fn every_api_answer_says_how_large_the_request_head_was() {
    let server = Running::plain().await;
    let reply = support::http_with_body(server.addr, "POST /api/echo?run=2 HTTP/1.1\r\nX-Pad: abc", b"hello").await;
    // What `http_with_body` sent: the line, X-Pad, Host, Content-Length, Connection, the blank line.
    let addr = server.addr.to_string();
    let head = format!(
        "POST /api/echo?run=2 HTTP/1.1\r\nX-Pad: abc\r\nHost: {addr}\r\nContent-Length: 5\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(reply.header("x-request-header-bytes"), Some(head.len().to_string().as_str()));
    let reply = http(server.addr, "GET /api/mailbox/x HTTP/1.1").await;
    let head = format!("GET /api/mailbox/x HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    assert_eq!(reply.header("x-request-header-bytes"), Some(head.len().to_string().as_str()));
}

/// An HTTP/1.1 client that keeps one connection from a chosen loopback address.
struct KeepAlive {
    stream: tokio::io::BufReader<tokio::net::TcpStream>,
}

impl KeepAlive {
    /// Connects to `server` from `from` (any 127.x.y.z address works on Linux).
    async fn connect(server: std::net::SocketAddr, from: &str) -> KeepAlive {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
        KeepAlive { stream: tokio::io::BufReader::new(socket.connect(server).await.unwrap()) }
    }

    /// Sends one request and reads its answer: the status and the body.
    async fn request(&mut self, line: &str, body: &[u8]) -> (u16, Vec<u8>) {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
        // One write: a second small one would wait for the first's delayed ACK.
        let mut request = format!("{line} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
        request.extend_from_slice(body);
        self.stream.get_mut().write_all(&request).await.unwrap();
        let mut status_line = String::new();
        self.stream.read_line(&mut status_line).await.unwrap();
        let status = status_line.split(' ').nth(1).expect("a status line").parse().unwrap();
        let mut length = 0;
        loop {
            let mut header = String::new();
            self.stream.read_line(&mut header).await.unwrap();
            if header == "\r\n" {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap();
                }
            }
        }
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body).await.unwrap();
        (status, body)
    }
}

#[tokio::test]
async fn one_client_holding_every_mailbox_cannot_keep_another_out() {
    let server = Running::plain().await;
    let mut squatter = KeepAlive::connect(server.addr, "127.0.0.2").await;
    for index in 0..1024 {
        let (status, _) = squatter.request(&format!("POST /api/mailbox/squat-{index}"), b"x").await;
        assert_eq!(status, 204);
    }
    // Polling every box keeps none of them from being evicted for a newcomer.
    for index in 0..1024 {
        squatter.request(&format!("GET /api/mailbox/squat-{index}"), b"").await;
    }
    let mut newcomer = KeepAlive::connect(server.addr, "127.0.0.3").await;
    let (status, body) = newcomer.request("POST /api/mailbox/mine", b"hello").await;
    assert_eq!(status, 204, "{}", String::from_utf8_lossy(&body));
    assert_eq!(newcomer.request("GET /api/mailbox/mine", b"").await, (200, b"[\"hello\"]".to_vec()));
}

#[tokio::test]
async fn a_mailbox_reply_stays_within_1_mib_however_its_text_escapes() {
    let server = Running::plain().await;
    let mut client = KeepAlive::connect(server.addr, "127.0.0.1").await;
    // Each control character is six bytes in the JSON reply.
    let (status, _) = client.request("POST /api/mailbox/escapes", &[0x01; 200_000]).await;
    assert_eq!(status, 413);
    let mut stored = 0;
    loop {
        match client.request("POST /api/mailbox/escapes", &[0x01; 100_000]).await.0 {
            204 => stored += 1,
            429 => break,
            other => panic!("status {other}"),
        }
        assert!(stored <= 10, "the box took more than 1 MB of control characters");
    }
    let (status, reply) = client.request("GET /api/mailbox/escapes", b"").await;
    assert_eq!(status, 200);
    assert!(reply.len() <= 1 << 20, "a reply of {} bytes", reply.len());
    assert_eq!(serde_json::from_slice::<Vec<String>>(&reply).unwrap().len(), stored);
}
