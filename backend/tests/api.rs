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
