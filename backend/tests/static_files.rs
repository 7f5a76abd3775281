//! The web app's files over plain HTTP, and the page shown when they are missing.

mod support;

use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;

use support::{http, next_message, Running};

fn bundle() -> tempfile::TempDir {
    let dist = tempfile::tempdir().unwrap();
    let files: [(&str, &[u8]); 4] = [
        ("index.html", b"<!doctype html><title>echo</title>"),
        ("frontend-0123abcd.js", b"export default 1;"),
        ("frontend-0123abcd_bg.wasm", b"\0asm\x01\0\0\0"),
        ("style-0123abcd.css", b"body{}"),
    ];
    for (name, contents) in files {
        std::fs::write(dist.path().join(name), contents).unwrap();
    }
    dist
}

#[tokio::test]
async fn files_are_served_with_their_content_types() {
    let dist = bundle();
    let server = Running::start(dist.path(), |_| {}).await;
    for (path, content_type, body) in [
        ("/", "text/html", &b"<!doctype html><title>echo</title>"[..]),
        ("/frontend-0123abcd.js", "text/javascript", b"export default 1;"),
        ("/frontend-0123abcd_bg.wasm", "application/wasm", b"\0asm\x01\0\0\0"),
        ("/style-0123abcd.css", "text/css", b"body{}"),
    ] {
        let reply = http(server.addr, &format!("GET {path} HTTP/1.1")).await;
        assert_eq!(reply.status, 200, "{path}");
        let served_type = reply.header("content-type").unwrap_or_default();
        assert!(served_type.starts_with(content_type), "{path}: {served_type}");
        assert_eq!(reply.body, body, "{path}");
    }
}

#[tokio::test]
async fn page_paths_get_the_app_and_missing_assets_get_404() {
    let dist = bundle();
    let server = Running::start(dist.path(), |_| {}).await;
    let page = http(server.addr, "GET /some/page HTTP/1.1").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.text(), "<!doctype html><title>echo</title>");
    let asset = http(server.addr, "GET /missing-0123.js HTTP/1.1").await;
    assert_eq!(asset.status, 404);
}

#[tokio::test]
async fn without_a_bundle_the_page_says_how_to_build_it_and_ws_still_works() {
    let empty = tempfile::tempdir().unwrap();
    let server = Running::start(empty.path(), |_| {}).await;
    let reply = http(server.addr, "GET / HTTP/1.1").await;
    assert_eq!(reply.status, 503);
    assert!(reply.header("content-type").unwrap().starts_with("text/html"));
    assert!(reply.text().contains("cargo xtask dist"), "{}", reply.text());

    let mut client = server.connect().await;
    client.send(Message::text("works")).await.unwrap();
    assert_eq!(next_message(&mut client).await, Message::text("works"));
}

#[tokio::test]
async fn a_bundle_built_after_start_is_served_without_a_restart() {
    let dist = tempfile::tempdir().unwrap();
    let server = Running::start(dist.path(), |_| {}).await;
    assert_eq!(http(server.addr, "GET / HTTP/1.1").await.status, 503);
    std::fs::write(dist.path().join("index.html"), "built").unwrap();
    let reply = http(server.addr, "GET / HTTP/1.1").await;
    assert_eq!((reply.status, reply.text().as_str()), (200, "built"));
}
