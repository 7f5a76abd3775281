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
