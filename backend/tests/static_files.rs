//! The web app's files over plain HTTP, and the page shown when they are missing.

mod support;

use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;

use support::{http, next_message, Running};

fn bundle() -> tempfile::TempDir {
    let dist = tempfile::tempdir().unwrap();
    let files: [(&str, &[u8]); 4] = [
        ("index.html", b"<!doctype html><title>echo</title><script type=\"module\">import init from '/frontend-0123abcd.js';</script>"),
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
        ("/", "text/html", &b"<!doctype html><title>echo</title><script type=\"module\">import init from '/frontend-0123abcd.js';</script>"[..]),
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
    assert!(page.text().starts_with("<!doctype html><title>echo</title>"));
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

#[tokio::test]
async fn compressed_for_clients_that_accept_it_and_plain_for_others() {
    use std::io::Read;
    let dist = bundle();
    let big = "console.log('WebSocket echo');\n".repeat(200);
    std::fs::write(dist.path().join("app-0123abcd.js"), &big).unwrap();
    let server = Running::start(dist.path(), |_| {}).await;

    let plain = http(server.addr, "GET /app-0123abcd.js HTTP/1.1").await;
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(plain.text(), big);

    let gzip = http(server.addr, "GET /app-0123abcd.js HTTP/1.1\r\nAccept-Encoding: gzip").await;
    assert_eq!(gzip.header("content-encoding"), Some("gzip"));
    let mut unzipped = String::new();
    flate2::read::GzDecoder::new(&gzip.body[..]).read_to_string(&mut unzipped).unwrap();
    assert_eq!(unzipped, big);

    let brotli = http(server.addr, "GET /app-0123abcd.js HTTP/1.1\r\nAccept-Encoding: gzip, deflate, br").await;
    assert_eq!(brotli.header("content-encoding"), Some("br"));
    assert!(brotli.body.len() < gzip.body.len() && gzip.body.len() < big.len());
    let mut unbrotlied = String::new();
    brotli::Decompressor::new(&brotli.body[..], 4096).read_to_string(&mut unbrotlied).unwrap();
    assert_eq!(unbrotlied, big);
    assert_eq!(brotli.header("vary"), Some("accept-encoding"));
}

#[tokio::test]
async fn etags_answer_revalidation_with_304_and_caching_follows_the_file_name() {
    let dist = bundle();
    let server = Running::start(dist.path(), |_| {}).await;

    let script = http(server.addr, "GET /frontend-0123abcd.js HTTP/1.1").await;
    assert_eq!(script.header("cache-control"), Some("public, max-age=31536000, immutable"));
    let etag = script.header("etag").expect("an ETag").to_owned();
    let again = http(server.addr, &format!("GET /frontend-0123abcd.js HTTP/1.1\r\nIf-None-Match: {etag}")).await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    let stale = http(server.addr, "GET /frontend-0123abcd.js HTTP/1.1\r\nIf-None-Match: \"other\"").await;
    assert_eq!(stale.status, 200);

    let page = http(server.addr, "GET / HTTP/1.1").await;
    assert_eq!(page.header("cache-control"), Some("no-cache"));
}

#[tokio::test]
async fn pages_carry_a_content_security_policy_and_every_response_the_safety_headers() {
    let dist = bundle();
    let server = Running::start(dist.path(), |_| {}).await;
    let page = http(server.addr, "GET / HTTP/1.1").await;
    let policy = page.header("content-security-policy").expect("a policy");
    for directive in
        ["script-src 'self' 'wasm-unsafe-eval' 'sha256-", "connect-src 'self' ws: wss:", "frame-ancestors 'none'"]
    {
        assert!(policy.contains(directive), "{policy}");
    }
    for path in ["/", "/frontend-0123abcd.js", "/missing.js"] {
        let reply = http(server.addr, &format!("GET {path} HTTP/1.1")).await;
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"), "{path}");
        assert_eq!(reply.header("referrer-policy"), Some("no-referrer"), "{path}");
        assert_eq!(reply.header("x-frame-options"), Some("DENY"), "{path}");
    }
}

#[tokio::test]
async fn paths_cannot_leave_the_bundle() {
    let dist = bundle();
    let server = Running::start(dist.path(), |_| {}).await;
    let reply = http(server.addr, "GET /../Cargo.toml HTTP/1.1").await;
    assert_eq!(reply.status, 404);
}

#[tokio::test]
async fn head_requests_get_the_headers_without_the_body() {
    let dist = bundle();
    let server = Running::start(dist.path(), |_| {}).await;
    for path in ["/", "/frontend-0123abcd.js", "/healthz"] {
        let reply = http(server.addr, &format!("HEAD {path} HTTP/1.1")).await;
        assert_eq!(reply.status, 200, "{path}");
        assert!(reply.body.is_empty(), "{path}");
    }
}
