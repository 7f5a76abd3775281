//! https and wss with `--tls-cert` and `--tls-key`, using a certificate the test makes.

mod support;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

use support::{Certificate, Running};

async fn connect_tls(
    addr: std::net::SocketAddr,
    certificate: &Certificate,
) -> tokio_rustls::client::TlsStream<TcpStream> {
    certificate.connect(TcpStream::connect(addr).await.unwrap()).await
}

async fn start(certificate: &Certificate) -> Running {
    let (cert, key) = (certificate.cert_path(), certificate.key_path());
    Running::start(std::path::Path::new("/nonexistent"), move |config| {
        config.tls_cert = Some(cert);
        config.tls_key = Some(key);
    })
    .await
}

#[tokio::test]
async fn wss_echoes_over_tls() {
    let certificate = Certificate::new();
    let server = start(&certificate).await;
    let tls = connect_tls(server.addr, &certificate).await;
    let (mut client, response) = tokio_tungstenite::client_async("wss://localhost/ws", tls).await.unwrap();
    assert_eq!(response.status(), 101);
    for message in [Message::text("over TLS ✓"), Message::binary(vec![0u8; 100_000])] {
        client.send(message.clone()).await.unwrap();
        let echoed = loop {
            match client.next().await.unwrap().unwrap() {
                Message::Ping(_) | Message::Pong(_) => continue,
                other => break other,
            }
        };
        assert_eq!(echoed, message);
    }
    client.close(None).await.unwrap();
}

#[tokio::test]
async fn https_serves_pages_and_health() {
    let certificate = Certificate::new();
    let server = start(&certificate).await;
    let mut tls = connect_tls(server.addr, &certificate).await;
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut reply = String::new();
    tls.read_to_string(&mut reply).await.unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.ends_with("ok\n"), "{reply}");
}

#[tokio::test]
async fn plain_tcp_to_a_tls_port_is_refused_without_harm() {
    let certificate = Certificate::new();
    let server = start(&certificate).await;
    let mut plain = TcpStream::connect(server.addr).await.unwrap();
    plain.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(3), plain.read_to_end(&mut rest)).await.unwrap();
    // The server still serves TLS clients afterwards.
    let _ = connect_tls(server.addr, &certificate).await;
}

#[tokio::test]
async fn unreadable_certificates_fail_at_start_with_the_file_named() {
    let mut config = backend::Config::new("127.0.0.1:0".parse().unwrap(), "/nonexistent");
    config.tls_cert = Some("/nonexistent/cert.pem".into());
    config.tls_key = Some("/nonexistent/key.pem".into());
    let err = backend::Server::bind(config).await.err().expect("bind fails");
    assert!(err.to_string().contains("/nonexistent/cert.pem"), "{err}");
}
