//! Starting the real server on port 0 and talking to it over real sockets.

#![allow(dead_code)] // Each test binary uses a different part of this module.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use backend::{Config, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A client socket as tokio-tungstenite gives it.
pub type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A server running in this process on a loopback port, stopped on drop or with
/// [`Running::stop`].
pub struct Running {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Running {
    /// Starts the server with `adjust` applied to a default configuration.
    pub async fn start(dist: &Path, adjust: impl FnOnce(&mut Config)) -> Running {
        let mut config = Config::new("127.0.0.1:0".parse().unwrap(), dist);
        config.shutdown_grace = Duration::from_secs(2);
        adjust(&mut config);
        let server = Server::bind(config).await.expect("bind a loopback port");
        let addr = server.local_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async {
            let _ = stopped.await;
        }));
        Running { addr, stop: Some(stop), task: Some(task) }
    }

    /// Starts the server with every default and no bundle.
    pub async fn plain() -> Running {
        Running::start(Path::new("/nonexistent-dist"), |_| {}).await
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Opens a WebSocket to `/ws`.
    pub async fn connect(&self) -> Client {
        let (client, response) = tokio_tungstenite::connect_async(self.ws_url()).await.expect("WebSocket handshake");
        assert_eq!(response.status(), 101);
        client
    }

    /// Begins the graceful shutdown; the returned handle ends when the server has.
    pub fn stop(&mut self) -> JoinHandle<std::io::Result<()>> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.take().expect("server already stopped")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The real backend binary running as its own process on a loopback port, so
/// that its memory can be read apart from the test's own; killed on drop.
pub struct Process {
    child: std::process::Child,
    pub addr: SocketAddr,
}

impl Process {
    /// Starts `target/.../backend --addr 127.0.0.1:0` with `args` and waits
    /// until it says where it listens.
    pub fn start(args: &[&str]) -> Process {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_backend"))
            .args(["--addr", "127.0.0.1:0", "--dist", "/nonexistent-dist"])
            .args(args)
            .env("RUST_LOG", "warn,backend::server=info")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start the backend binary");
        let stdout = child.stdout.take().expect("the backend's output");
        let mut lines = std::io::BufReader::new(stdout).lines();
        let marker = "listening on http://";
        let addr = loop {
            let line = lines.next().expect("the backend exited before it was listening").unwrap();
            if let Some(at) = line.find(marker) {
                break line[at + marker.len()..].split_whitespace().next().unwrap().parse().unwrap();
            }
        };
        // Drain the log so the backend never blocks writing it.
        std::thread::spawn(move || lines.for_each(drop));
        Process { child, addr }
    }

    /// How many file descriptors the process holds.
    pub fn descriptors(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id())).unwrap().count()
    }

    /// The process's resident memory, in bytes.
    pub fn resident_bytes(&self) -> usize {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|line| line.starts_with("VmRSS:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse::<usize>().unwrap() * 1024
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads the next data message, skipping control frames, failing after 5 s.
pub async fn next_message(client: &mut Client) -> Message {
    use futures_util::StreamExt;
    loop {
        let next = tokio::time::timeout(Duration::from_secs(5), client.next()).await.expect("a message within 5 s");
        match next.expect("the stream is open").expect("a valid frame") {
            Message::Ping(_) | Message::Pong(_) => continue,
            message => return message,
        }
    }
}

/// A plain HTTP/1.1 exchange: the status, the headers (names in lower case) and the body.
pub struct HttpReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `request_head` (this adds `Host` and `Connection: close`) and reads the
/// reply until the server closes.
pub async fn http(addr: SocketAddr, request_head: &str) -> HttpReply {
    exchange(addr, format!("{request_head}\r\nHost: {addr}\r\nConnection: close\r\n\r\n"), &[]).await
}

/// Like [`http`], with a request body (and its `Content-Length`).
pub async fn http_with_body(addr: SocketAddr, request_head: &str, body: &[u8]) -> HttpReply {
    let head = format!("{request_head}\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
    exchange(addr, head, body).await
}

async fn exchange(addr: SocketAddr, head: String, body: &[u8]) -> HttpReply {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut raw))
        .await
        .expect("reply within 5 s")
        .unwrap();
    parse_reply(&raw)
}

fn parse_reply(raw: &[u8]) -> HttpReply {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete head");
    let head = std::str::from_utf8(&raw[..split]).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers.iter().any(|(n, v)| n == "transfer-encoding" && v == "chunked") {
        body = dechunk(&body);
    }
    HttpReply { status, headers, body }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let line_end = raw.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = usize::from_str_radix(std::str::from_utf8(&raw[..line_end]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            return body;
        }
        body.extend_from_slice(&raw[line_end + 2..line_end + 2 + size]);
        raw = &raw[line_end + 2 + size + 2..];
    }
}

/// A WebSocket opened by hand, for sending frames no well-behaved client would.
pub struct RawSocket {
    pub stream: TcpStream,
}

impl RawSocket {
    /// Performs the opening handshake and checks for `101`.
    pub async fn connect(addr: SocketAddr) -> RawSocket {
        let (head, socket) = RawSocket::handshake(addr, "").await;
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        socket
    }

    /// Sends an upgrade request with `extra_headers` (each ending in CRLF) and
    /// returns the response head with the socket.
    pub async fn handshake(addr: SocketAddr, extra_headers: &str) -> (String, RawSocket) {
        RawSocket::handshake_at(addr, "/ws", extra_headers).await
    }

    /// Like [`RawSocket::handshake`], to `target` (a path and query).
    pub async fn handshake_at(addr: SocketAddr, target: &str, extra_headers: &str) -> (String, RawSocket) {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let request = format!(
            "GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{extra_headers}\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            head.push(stream.read_u8().await.unwrap());
        }
        (String::from_utf8_lossy(&head).into_owned(), RawSocket { stream })
    }

    /// Sends one masked frame with the given first byte (FIN, RSV and opcode).
    pub async fn send_frame(&mut self, first_byte: u8, payload: &[u8]) {
        let frame = masked_frame(first_byte, payload);
        self.stream.write_all(&frame).await.unwrap();
    }

    /// Reads frames until a close frame, returning its code (None for an empty
    /// close), or panics if TCP ends first.
    pub async fn expect_close(&mut self) -> Option<u16> {
        loop {
            let (opcode, payload) = tokio::time::timeout(Duration::from_secs(5), self.read_frame())
                .await
                .expect("a frame within 5 s")
                .expect("a close frame before TCP ends");
            if opcode == 0x8 {
                return (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
            }
        }
    }

    /// Reads one unmasked server frame: its opcode and payload, or None at EOF.
    pub async fn read_frame(&mut self) -> Option<(u8, Vec<u8>)> {
        let (first_byte, payload) = self.read_whole_frame().await?;
        Some((first_byte & 0x0f, payload))
    }

    /// Reads one unmasked server frame: its first byte (FIN and opcode) and
    /// payload, or None at EOF.
    pub async fn read_whole_frame(&mut self) -> Option<(u8, Vec<u8>)> {
        let mut head = [0u8; 2];
        self.stream.read_exact(&mut head).await.ok()?;
        let len = match head[1] & 0x7f {
            126 => u64::from(self.stream.read_u16().await.ok()?),
            127 => self.stream.read_u64().await.ok()?,
            short => u64::from(short),
        };
        let mut payload = vec![0; len as usize];
        self.stream.read_exact(&mut payload).await.ok()?;
        Some((head[0], payload))
    }
}

/// A self-signed certificate for `localhost`, written as `cert.pem` and
/// `key.pem` into a temporary folder that lives as long as this.
pub struct Certificate {
    pub folder: tempfile::TempDir,
    der: tokio_rustls::rustls::pki_types::CertificateDer<'static>,
}

impl Certificate {
    /// Makes a fresh certificate and its key.
    pub fn new() -> Certificate {
        let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let folder = tempfile::tempdir().unwrap();
        std::fs::write(folder.path().join("cert.pem"), generated.cert.pem()).unwrap();
        std::fs::write(folder.path().join("key.pem"), generated.signing_key.serialize_pem()).unwrap();
        Certificate { folder, der: generated.cert.der().clone() }
    }

    /// The certificate's file, for `--tls-cert`.
    pub fn cert_path(&self) -> std::path::PathBuf {
        self.folder.path().join("cert.pem")
    }

    /// The key's file, for `--tls-key`.
    pub fn key_path(&self) -> std::path::PathBuf {
        self.folder.path().join("key.pem")
    }

    /// Completes a TLS handshake as `localhost` over `tcp`, trusting only this certificate.
    pub async fn connect(&self, tcp: TcpStream) -> tokio_rustls::client::TlsStream<TcpStream> {
        use tokio_rustls::rustls::{self, pki_types::ServerName, RootCertStore};
        let mut roots = RootCertStore::empty();
        roots.add(self.der.clone()).unwrap();
        let config =
            rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth();
        tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .expect("TLS handshake")
    }
}

/// Encodes a client frame with a fixed mask.
pub fn masked_frame(first_byte: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x12, 0x34, 0x56, 0x78];
    let mut frame = vec![first_byte];
    match payload.len() {
        len @ 0..=125 => frame.push(0x80 | len as u8),
        len @ 126..=0xffff => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, byte)| byte ^ mask[i % 4]));
    frame
}
