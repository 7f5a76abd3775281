//! Deployment: the release binary alone serves the whole app.

use std::time::Duration;

use e2e::Backend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A plain HTTP GET: the status line and headers, and the body length.
async fn get(addr: std::net::SocketAddr, path: &str, extra: &str) -> (String, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut raw)).await.unwrap().unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    (String::from_utf8_lossy(&raw[..split]).to_lowercase(), raw[split + 4..].to_vec())
}

#[tokio::test]
async fn the_binary_copied_alone_to_an_empty_folder_serves_the_app() {
    let folder = tempfile::tempdir().unwrap();
    let copy = folder.path().join("backend");
    std::fs::copy(Backend::binary(), &copy).unwrap();
    let backend = Backend::spawn(&copy, &[], Some(folder.path())).await;

    let (head, page) = get(backend.addr, "/", "").await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    let page = String::from_utf8(page).unwrap();
    let wasm = page
        .split(['\'', '"'])
        .find(|part| part.ends_with("_bg.wasm"))
        .unwrap_or_else(|| panic!("the page names no wasm file: {page}"))
        .to_owned();

    let (head, body) = get(backend.addr, &wasm, "Accept-Encoding: br\r\n").await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("content-type: application/wasm"), "{head}");
    assert!(head.contains("content-encoding: br"), "{head}");
    assert!(head.contains("cache-control: public, max-age=31536000, immutable"), "{head}");
    assert!(!body.is_empty());
    assert_eq!(std::fs::read_dir(folder.path()).unwrap().count(), 1, "the folder holds only the binary");
}

#[tokio::test]
async fn json_logs_carry_each_connections_span_with_its_id_and_peer() {
    let backend = Backend::spawn(&Backend::binary(), &["--log-format".to_owned(), "json".to_owned()], None).await;
    let mut client = TcpStream::connect(backend.addr).await.unwrap();
    let peer = client.local_addr().unwrap().to_string();
    let upgrade = "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
                   Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    client.write_all(upgrade.as_bytes()).await.unwrap();
    // A masked close frame with code 1000.
    client.write_all(&[0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xe8 ^ 2]).await.unwrap();
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), client.read_to_end(&mut rest)).await.unwrap().unwrap();

    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let found = backend.log_lines().into_iter().find(|line| line.contains("connection closed"));
            if let Some(line) = found {
                return line;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("a connection-closed line within 5 s");
    let record: serde_json::Value = serde_json::from_str(&closed).expect("the line is JSON");
    assert_eq!(record["span"]["name"], "ws", "{closed}");
    assert_eq!(record["span"]["peer"], peer.as_str(), "{closed}");
    assert!(record["span"]["id"].is_u64(), "{closed}");
    assert_eq!(record["fields"]["close_code"], 1000, "{closed}");
}
