//! Opening a WebSocket by hand over a `TcpStream`: the HTTP/1.1 upgrade, the
//! accept-key check, and a buffer that yields the server's frames one by one.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use base64::Engine as _;
use sha1::{Digest, Sha1};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::deflate::{self, Agreed, Offer};
use crate::frame::{decode_server_frame, Decoded, XorShift};

/// Where to connect: `ws://HOST:PORT/PATH`, loopback only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The server's socket address.
    pub addr: SocketAddr,
    /// The request path, e.g. `/ws`.
    pub path: String,
}

impl std::str::FromStr for Target {
    type Err = String;

    fn from_str(url: &str) -> Result<Target, String> {
        let rest = url.strip_prefix("ws://").ok_or_else(|| format!("`{url}` is not a ws:// URL"))?;
        let (authority, path) = match rest.find('/') {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, "/"),
        };
        let addr: SocketAddr = authority
            .parse()
            .map_err(|_| format!("`{authority}` is not IP:PORT (write e.g. ws://127.0.0.1:3000/ws)"))?;
        // The benchmark only ever targets servers on this machine.
        if !addr.ip().is_loopback() {
            return Err(format!(
                "{} is not a loopback address; the load generator only targets this machine",
                addr.ip()
            ));
        }
        Ok(Target { addr, path: path.to_owned() })
    }
}

/// The magic GUID of RFC 6455 section 1.3.
const WS_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The `Sec-WebSocket-Accept` a server must answer to `key`.
pub fn accept_key(key: &str) -> String {
    let mut sha1 = Sha1::new();
    sha1.update(key.as_bytes());
    sha1.update(WS_GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(sha1.finalize())
}

/// A fresh `Sec-WebSocket-Key`: 16 random bytes in base64.
pub fn new_key(rng: &mut XorShift) -> String {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
    bytes[8..].copy_from_slice(&rng.next_u64().to_le_bytes());
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The upgrade request for `target` with `key`, offering the extension `offer` names.
pub fn upgrade_request(target: &Target, key: &str, offer: Offer) -> String {
    let extensions = match offer.header_value() {
        Some(value) => format!("Sec-WebSocket-Extensions: {value}\r\n"),
        None => String::new(),
    };
    format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{extensions}\r\n",
        path = target.path,
        addr = target.addr,
    )
}

/// Checks a complete response head (up to and including the blank line): status
/// 101, the right `Sec-WebSocket-Accept`, and an extension answer that fits
/// `offer`; returns the permessage-deflate agreement, if any.
pub fn check_upgrade_response(head: &str, key: &str, offer: Offer) -> Result<Option<Agreed>, String> {
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    if status_line.split_whitespace().nth(1) != Some("101") {
        return Err(format!("upgrade refused: `{status_line}`"));
    }
    let expected = accept_key(key);
    let headers: Vec<(&str, &str)> =
        lines.filter_map(|line| line.split_once(':')).map(|(name, value)| (name.trim(), value.trim())).collect();
    let accepted =
        headers.iter().any(|(name, value)| name.eq_ignore_ascii_case("sec-websocket-accept") && *value == expected);
    if !accepted {
        return Err("the 101 response lacks the right Sec-WebSocket-Accept".into());
    }
    let extensions: Vec<&str> = headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("sec-websocket-extensions"))
        .map(|(_, value)| *value)
        .collect();
    deflate::parse_answer(&extensions, offer)
}

/// Spreads client sockets over source addresses 127.0.0.2 to 127.0.0.251, all
/// loopback: each address has its own ~28,000 ephemeral ports, so tens of
/// thousands of short connections (and their TIME_WAIT entries) never run a
/// single address out of ports.
pub fn source_ip(index: u64) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + (index % 250) as u8))
}

/// An open WebSocket: the stream and the bytes read but not yet decoded.
pub struct Socket {
    /// The TCP stream, after the upgrade.
    pub stream: TcpStream,
    /// Bytes received from the server, decoded from `start`.
    pub reader: FrameBuffer,
    /// permessage-deflate as the server accepted it; `None` when it did not (or was not offered).
    pub deflate: Option<Agreed>,
}

/// Connects from the source address picked by `index` and completes the upgrade
/// with no extension; the socket then reads up to `chunk` bytes at a time.
pub async fn open(target: &Target, index: u64, chunk: usize, rng: &mut XorShift) -> Result<Socket, String> {
    open_offering(target, index, chunk, rng, Offer::Off).await
}

/// `open`, offering the extension `offer` names.
pub async fn open_offering(
    target: &Target,
    index: u64,
    chunk: usize,
    rng: &mut XorShift,
    offer: Offer,
) -> Result<Socket, String> {
    let socket = TcpSocket::new_v4().map_err(|err| format!("socket: {err}"))?;
    if target.addr.ip() == IpAddr::V4(Ipv4Addr::LOCALHOST) {
        socket.bind(SocketAddr::new(source_ip(index), 0)).map_err(|err| format!("bind: {err}"))?;
    }
    let mut stream = socket.connect(target.addr).await.map_err(|err| format!("connect to {}: {err}", target.addr))?;
    stream.set_nodelay(true).map_err(|err| format!("nodelay: {err}"))?;
    let key = new_key(rng);
    stream
        .write_all(upgrade_request(target, &key, offer).as_bytes())
        .await
        .map_err(|err| format!("send upgrade: {err}"))?;
    let mut reader = FrameBuffer::new(chunk.max(1024));
    let head_len = loop {
        if let Some(at) = reader.pending().windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if reader.pending().len() > 8 * 1024 {
            return Err("the upgrade response head is over 8 KiB".into());
        }
        if reader.fill(&mut stream).await.map_err(|err| format!("read upgrade response: {err}"))? == 0 {
            return Err("the server closed the connection during the upgrade".into());
        }
    };
    let head = String::from_utf8_lossy(&reader.pending()[..head_len]).into_owned();
    let deflate = check_upgrade_response(&head, &key, offer)?;
    reader.consume(head_len);
    reader.rsv1_allowed = deflate.is_some();
    Ok(Socket { stream, reader, deflate })
}

/// How long one connection may take to open and upgrade before it counts as failed.
pub const OPEN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Opens `count` sockets offering `offer`, at most `concurrency` handshakes at
/// a time; the results come back in index order.
pub async fn open_many(
    target: &Target,
    count: u64,
    concurrency: usize,
    chunk: usize,
    offer: Offer,
) -> Vec<Result<Socket, String>> {
    let mut results: Vec<Option<Result<Socket, String>>> = (0..count).map(|_| None).collect();
    let mut tasks = tokio::task::JoinSet::new();
    let mut next = 0u64;
    loop {
        while next < count && tasks.len() < concurrency.max(1) {
            let target = target.clone();
            let index = next;
            tasks.spawn(async move {
                let mut rng = XorShift::from_clock(index);
                let opened =
                    tokio::time::timeout(OPEN_TIMEOUT, open_offering(&target, index, chunk, &mut rng, offer)).await;
                (index, opened.unwrap_or_else(|_| Err(format!("no upgrade within {OPEN_TIMEOUT:?}"))))
            });
            next += 1;
        }
        match tasks.join_next().await {
            Some(Ok((index, result))) => results[index as usize] = Some(result),
            Some(Err(err)) => panic!("a connecting task failed: {err}"),
            None => break,
        }
    }
    results.into_iter().map(|result| result.expect("every index was opened")).collect()
}

/// Received bytes waiting to be decoded into frames. The storage is zeroed
/// once and reused: re-zeroing a read buffer per `read` costs more than the
/// echo itself at a few hundred thousand messages per second.
#[derive(Debug)]
pub struct FrameBuffer {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Frames may set RSV1: permessage-deflate was negotiated.
    pub rsv1_allowed: bool,
}

impl FrameBuffer {
    /// A buffer that reads up to `chunk` bytes at a time (it grows for larger frames).
    pub fn new(chunk: usize) -> FrameBuffer {
        FrameBuffer { buf: vec![0; chunk.max(64)], start: 0, end: 0, rsv1_allowed: false }
    }

    /// Reads once from `stream` into the buffer; returns the bytes read (0 at EOF).
    pub async fn fill(&mut self, stream: &mut (impl AsyncReadExt + Unpin)) -> io::Result<usize> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        // Move undecoded bytes to the front only when the tail is short of room,
        // and grow only when a single frame is larger than the whole buffer.
        if self.buf.len() - self.end < self.buf.len() / 4 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if self.buf.len() - self.end < self.buf.len() / 4 {
                self.buf.resize(self.buf.len() * 2, 0);
            }
        }
        let read = stream.read(&mut self.buf[self.end..]).await?;
        self.end += read;
        Ok(read)
    }

    /// The bytes not yet decoded.
    pub fn pending(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Marks `len` pending bytes as decoded.
    pub fn consume(&mut self, len: usize) {
        self.start += len;
    }

    /// Decodes and consumes the next complete frame, returning it with its payload
    /// borrowed from the buffer (no copy per echo).
    pub fn next_frame(&mut self) -> Result<Option<(Decoded, &[u8])>, String> {
        let start = self.start;
        match decode_server_frame(&self.buf[start..self.end], self.rsv1_allowed).map_err(|err| err.to_string())? {
            Some(frame) => {
                self.start += frame.frame_len;
                let payload = &self.buf[start + frame.payload.start..start + frame.payload.end];
                Ok(Some((frame, payload)))
            }
            None => Ok(None),
        }
    }
}

/// Kinds of message the load generator sends: binary frames (the default) or text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
pub enum Kind {
    /// Binary frames; the send time is 8 little-endian bytes.
    Binary,
    /// Text frames of ASCII; the send time is 16 hex digits, so the server's UTF-8 check runs on every message.
    Text,
}

impl Kind {
    /// The smallest payload that can carry a timestamp.
    pub fn min_size(self) -> usize {
        match self {
            Kind::Binary => 8,
            Kind::Text => 16,
        }
    }

    /// The frame opcode.
    pub fn opcode(self) -> crate::frame::Opcode {
        match self {
            Kind::Binary => crate::frame::Opcode::Binary,
            Kind::Text => crate::frame::Opcode::Text,
        }
    }

    /// Writes `stamp` (nanoseconds since the run's start) into the front of
    /// `payload`, which is at least `min_size` long. Carrying the send time in
    /// the message itself means replies need no bookkeeping to be matched.
    pub fn stamp(self, payload: &mut [u8], stamp: u64) {
        match self {
            Kind::Binary => payload[..8].copy_from_slice(&stamp.to_le_bytes()),
            Kind::Text => {
                let hex = format!("{stamp:016x}");
                payload[..16].copy_from_slice(hex.as_bytes());
            }
        }
    }

    /// Reads back what `stamp` wrote, or `None` if the echo is not one of ours.
    pub fn read_stamp(self, payload: &[u8]) -> Option<u64> {
        match self {
            Kind::Binary => Some(u64::from_le_bytes(payload.get(..8)?.try_into().ok()?)),
            Kind::Text => u64::from_str_radix(std::str::from_utf8(payload.get(..16)?).ok()?, 16).ok(),
        }
    }

    /// A payload of `size` bytes, filled with ASCII so it is valid text as well.
    pub fn payload(self, size: usize) -> Vec<u8> {
        vec![b'x'; size.max(self.min_size())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_accept_key_example() {
        // RFC 6455 section 1.3.
        assert_eq!(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn upgrade_responses_are_checked() {
        let key = "dGhlIHNhbXBsZSBub25jZQ==";
        let good = "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\
                    sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
        assert_eq!(check_upgrade_response(good, key, Offer::Off), Ok(None));
        assert_eq!(check_upgrade_response(good, key, Offer::Window), Ok(None), "a declined offer");
        let wrong_accept = good.replace("s3pP", "AAAA");
        assert!(check_upgrade_response(&wrong_accept, key, Offer::Off).unwrap_err().contains("Accept"));
        let refused = "HTTP/1.1 503 Service Unavailable\r\n\r\n";
        assert!(check_upgrade_response(refused, key, Offer::Off).unwrap_err().contains("503"));
        let deflate = good.replace("\r\n\r\n", "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n");
        let agreed = check_upgrade_response(&deflate, key, Offer::Window).unwrap().unwrap();
        assert_eq!(agreed.to_string(), "permessage-deflate");
        assert!(check_upgrade_response(&deflate, key, Offer::Off).unwrap_err().contains("not offered"));
    }

    #[test]
    fn offers_go_in_the_upgrade_request() {
        let target: Target = "ws://127.0.0.1:3000/ws".parse().unwrap();
        assert!(!upgrade_request(&target, "k", Offer::Off).contains("Extensions"));
        let request = upgrade_request(&target, "k", Offer::NoContextTakeover);
        assert!(request.contains(
            "\r\nSec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; server_no_context_takeover\r\n\r\n"
        ));
    }

    #[test]
    fn targets_are_loopback_ws_urls() {
        let target: Target = "ws://127.0.0.1:3000/ws".parse().unwrap();
        assert_eq!(target, Target { addr: "127.0.0.1:3000".parse().unwrap(), path: "/ws".into() });
        assert_eq!("ws://127.0.0.1:80".parse::<Target>().unwrap().path, "/");
        assert!("ws://10.0.0.1:3000/ws".parse::<Target>().is_err());
        assert!("http://127.0.0.1:3000/ws".parse::<Target>().is_err());
    }

    #[test]
    fn source_addresses_stay_on_loopback() {
        for index in [0, 1, 249, 250, 1_000_003] {
            assert!(source_ip(index).is_loopback(), "{index}");
        }
        assert_ne!(source_ip(0), source_ip(1));
    }

    #[tokio::test]
    async fn frames_split_across_reads_are_reassembled() {
        // Three frames through the smallest buffer: the 300-byte one needs
        // several reads and a larger buffer.
        let mut wire = Vec::new();
        for payload in [&b"one"[..], &[7u8; 300][..], b""] {
            wire.push(0x82);
            if payload.len() < 126 {
                wire.push(payload.len() as u8);
            } else {
                wire.push(126);
                wire.extend_from_slice(&(payload.len() as u16).to_be_bytes());
            }
            wire.extend_from_slice(payload);
        }
        let mut stream = &wire[..];
        let mut reader = FrameBuffer::new(16);
        let mut lengths = Vec::new();
        while lengths.len() < 3 {
            while let Some((frame, payload)) = reader.next_frame().unwrap() {
                assert_eq!(frame.opcode, crate::frame::Opcode::Binary);
                lengths.push(payload.len());
            }
            if lengths.len() < 3 {
                assert_ne!(reader.fill(&mut stream).await.unwrap(), 0, "ran out of bytes");
            }
        }
        assert_eq!(lengths, [3, 300, 0]);
    }

    #[test]
    fn stamps_round_trip() {
        for kind in [Kind::Binary, Kind::Text] {
            let mut payload = kind.payload(16);
            kind.stamp(&mut payload, 123_456_789_012);
            assert_eq!(kind.read_stamp(&payload), Some(123_456_789_012), "{kind:?}");
        }
        let mut text = Kind::Text.payload(16);
        Kind::Text.stamp(&mut text, u64::MAX);
        assert!(std::str::from_utf8(&text).is_ok());
        assert_eq!(Kind::Binary.payload(2).len(), 8, "payloads grow to hold the stamp");
    }
}
