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
