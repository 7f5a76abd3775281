//! What browsers ask for, over real sockets: permessage-deflate (RFC 7692)
//! negotiated and used both ways, compression bombs closed as oversize
//! messages, and subprotocol selection.

mod support;

use std::path::Path;
use std::time::Duration;

use backend::config::DeflateMode;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use support::{masked_frame, Process, RawSocket, Running};
use tokio::io::AsyncWriteExt;

const NO_DIST: &str = "/nonexistent-dist";
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];
const BROWSER_OFFER: &str = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";

/// The value of a response header, from a raw response head.
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// What a client sends for one message: raw deflate, sync-flushed, without the tail.
fn compress(compressor: &mut Compress, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 64);
    let start = compressor.total_in();
    loop {
        let consumed = (compressor.total_in() - start) as usize;
        compressor.compress_vec(&data[consumed..], &mut out, FlushCompress::Sync).unwrap();
        if out.len() < out.capacity() {
            break;
        }
        out.reserve(out.capacity());
    }
    assert!(out.ends_with(&TAIL));
    out.truncate(out.len() - TAIL.len());
    out
}

/// Reads one data message; its first frame's RSV1 bit and the payloads joined.
async fn read_message(socket: &mut RawSocket) -> (bool, u8, Vec<u8>) {
    let mut payload = Vec::new();
    let mut first: Option<u8> = None;
    loop {
        let (byte, piece) = tokio::time::timeout(Duration::from_secs(5), socket.read_whole_frame())
            .await
            .expect("a frame within 5 s")
            .expect("a frame before TCP ends");
        if byte & 0x08 != 0 {
            continue;
        }
        first.get_or_insert(byte);
        payload.extend_from_slice(&piece);
        if byte & 0x80 != 0 {
            let first = first.unwrap();
            return (first & 0x40 != 0, first & 0x0f, payload);
        }
    }
}

/// Inflates one compressed message (the tail put back).
fn inflate(decompressor: &mut Decompress, payload: &[u8]) -> Vec<u8> {
    let mut input = payload.to_vec();
    input.extend_from_slice(&TAIL);
    let mut out = Vec::with_capacity(4 << 20);
    decompressor.decompress_vec(&input, &mut out, FlushDecompress::Sync).unwrap();
    out
}

#[tokio::test]
async fn a_browsers_offer_is_accepted_with_no_context_takeover_both_ways() {
    let server = Running::plain().await;
    let (head, _) = RawSocket::handshake(server.addr, BROWSER_OFFER).await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert_eq!(
        header(&head, "sec-websocket-extensions"),
        Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover")
    );
    // Off means off.
    let server = Running::start(Path::new(NO_DIST), |config| config.deflate = DeflateMode::Off).await;
    let (head, _) = RawSocket::handshake(server.addr, BROWSER_OFFER).await;
    assert_eq!(header(&head, "sec-websocket-extensions"), None, "{head}");
}

#[tokio::test]
async fn compressed_messages_come_back_compressed_and_plain_ones_plain() {
    let server = Running::plain().await;
    let (_, mut socket) = RawSocket::handshake(server.addr, BROWSER_OFFER).await;
    let mut client = Compress::new(Compression::default(), false);
    let text = r#"{"id":1,"kind":"greeting","text":"hello, hello, hello"}"#.repeat(30);
    for round in 0..3 {
        // The client resets between messages: it agreed to no context takeover.
        client.reset();
        let compressed = compress(&mut client, text.as_bytes());
        assert!(compressed.len() < text.len() / 4);
        socket.send_frame(0xc1, &compressed).await;
        let (rsv1, opcode, payload) = read_message(&mut socket).await;
        assert!(rsv1, "round {round}: the echo is compressed");
        assert_eq!(opcode, 1);
        assert!(payload.len() < text.len() / 4, "round {round}: {} bytes on the wire", payload.len());
        // No context takeover from the server either: each echo inflates alone.
        let mut fresh = Decompress::new(false);
        assert_eq!(inflate(&mut fresh, &payload), text.as_bytes(), "round {round}");
    }
    socket.send_frame(0x82, b"plain binary").await;
    assert_eq!(read_message(&mut socket).await, (false, 2, b"plain binary".to_vec()));
}

#[tokio::test]
async fn a_compressed_message_in_fragments_and_tiny_reads_is_echoed_whole() {
    let server = Running::plain().await;
    let (_, mut socket) = RawSocket::handshake(server.addr, BROWSER_OFFER).await;
    let text = "κόσμε, fragments of a compressed message. ".repeat(400);
    let compressed = compress(&mut Compress::new(Compression::best(), false), text.as_bytes());
    let third = compressed.len() / 3;
    // RSV1 on the first frame only; the continuation frames carry the rest.
    let frames = [
        masked_frame(0x41, &compressed[..third]),
        masked_frame(0x00, &compressed[third..2 * third]),
        masked_frame(0x80, &compressed[2 * third..]),
    ]
    .concat();
    for chunk in frames.chunks(7) {
        socket.stream.write_all(chunk).await.unwrap();
    }
    let (rsv1, opcode, payload) = read_message(&mut socket).await;
    assert!(rsv1);
    assert_eq!(opcode, 1);
    assert_eq!(inflate(&mut Decompress::new(false), &payload), text.as_bytes());
}

#[tokio::test]
async fn rsv1_on_a_continuation_frame_is_a_protocol_error() {
    let server = Running::plain().await;
    let (_, mut socket) = RawSocket::handshake(server.addr, BROWSER_OFFER).await;
    let compressed = compress(&mut Compress::new(Compression::default(), false), b"abc");
    socket.send_frame(0x41, &compressed).await;
    socket.send_frame(0xc0, &compressed).await;
    assert_eq!(socket.expect_close().await, Some(1002));
}

#[tokio::test]
async fn data_that_does_not_inflate_gets_1007() {
    let server = Running::plain().await;
    let (_, mut socket) = RawSocket::handshake(server.addr, BROWSER_OFFER).await;
    socket.send_frame(0xc2, &[0xff; 32]).await;
    assert_eq!(socket.expect_close().await, Some(1007));
}

/// A compressed message that would inflate to `gibibytes` GiB of zeros: one
/// mebibyte of zeros compressed, then the same deflate blocks repeated (once
/// the window holds only zeros, the blocks for a mebibyte of zeros are the same
/// every time).
fn bomb(gibibytes: usize) -> (Vec<u8>, usize) {
    let zeros = vec![0u8; 1 << 20];
    let mut compressor = Compress::new(Compression::best(), false);
    let mut start = Vec::with_capacity(64 << 10);
    compressor.compress_vec(&zeros, &mut start, FlushCompress::Sync).unwrap();
    let mut repeat = Vec::with_capacity(64 << 10);
    compressor.compress_vec(&zeros, &mut repeat, FlushCompress::Sync).unwrap();
    let mut payload = start;
    for _ in 1..(gibibytes << 10) {
        payload.extend_from_slice(&repeat);
    }
    // The client drops the last tail, as a sender does.
    payload.truncate(payload.len() - TAIL.len());
    (payload, repeat.len())
}

#[tokio::test]
async fn a_compression_bomb_is_just_an_oversize_message() {
    let (payload, block) = bomb(4);
    // A check of the bomb itself: its first two mebibytes inflate as promised.
    let mut check = Decompress::new(false);
    let mut out = Vec::with_capacity(2 << 20);
    check.decompress_vec(&payload[..payload.len().min(4 * block)], &mut out, FlushDecompress::None).unwrap();
    assert_eq!(out.len(), 2 << 20);

    let server = Running::start(Path::new(NO_DIST), |config| config.max_message_bytes = 1 << 20).await;
    let (_, mut socket) = RawSocket::handshake(server.addr, BROWSER_OFFER).await;
    let frame = masked_frame(0xc2, &payload);
    // Only the first few kilobytes matter: the server stops reading them once
    // a mebibyte has come out, so the rest may never be written.
    let writing = tokio::spawn(async move {
        let _ = socket.stream.write_all(&frame).await;
        socket
    });
    let mut socket = tokio::time::timeout(Duration::from_secs(10), writing).await.unwrap().unwrap();
    assert_eq!(socket.expect_close().await, Some(1009));
    println!("bomb: {} bytes on the wire for 4 GiB inflated", payload.len());
}

#[tokio::test]
async fn the_compression_bomb_costs_the_server_next_to_nothing() {
    let (payload, _) = bomb(1);
    let server = Process::start(&["--max-message-bytes", "67108864"]);
    let before = server.resident_bytes();
    let (_, mut socket) = RawSocket::handshake(server.addr, BROWSER_OFFER).await;
    let frame = masked_frame(0xc2, &payload);
    let _ = socket.stream.write_all(&frame).await;
    assert_eq!(socket.expect_close().await, Some(1009));
    let grown = server.resident_bytes().saturating_sub(before);
    // The echo streams out as it inflates, so 64 MiB passing through does not
    // stay: what the server holds is its buffers and a compressor, not the message.
    assert!(grown < 4 << 20, "the server grew by {grown} bytes");
}

#[tokio::test]
async fn with_context_takeover_history_carries_across_messages_both_ways() {
    let server = Running::start(Path::new(NO_DIST), |config| config.deflate = DeflateMode::ContextTakeover).await;
    let (head, mut socket) =
        RawSocket::handshake(server.addr, "Sec-WebSocket-Extensions: permessage-deflate\r\n").await;
    assert_eq!(header(&head, "sec-websocket-extensions"), Some("permessage-deflate"));
    let mut client = Compress::new(Compression::default(), false);
    let mut server_stream = Decompress::new(false);
    let text = "a sentence the second message repeats word for word. ".repeat(4);
    let mut sizes = Vec::new();
    for _ in 0..2 {
        let compressed = compress(&mut client, text.as_bytes());
        sizes.push(compressed.len());
        socket.send_frame(0xc1, &compressed).await;
        let (rsv1, _, payload) = read_message(&mut socket).await;
        assert!(rsv1);
        assert_eq!(inflate(&mut server_stream, &payload), text.as_bytes());
    }
    assert!(sizes[1] < sizes[0] / 4, "the client's second message refers back to the first: {sizes:?}");
}

#[tokio::test]
async fn subprotocols_are_selected_on_ws_when_listed_and_on_the_lab_always() {
    let server = Running::start(Path::new(NO_DIST), |config| config.subprotocol = vec!["chat.v1".into()]).await;
    let offer = "Sec-WebSocket-Protocol: mqtt, chat.v1\r\n";
    let (head, _) = RawSocket::handshake(server.addr, offer).await;
    assert_eq!(header(&head, "sec-websocket-protocol"), Some("chat.v1"), "{head}");
    let (head, _) = RawSocket::handshake(server.addr, "Sec-WebSocket-Protocol: mqtt\r\n").await;
    assert!(head.starts_with("HTTP/1.1 101"));
    assert_eq!(header(&head, "sec-websocket-protocol"), None, "none is listed: none is selected");
    let (head, _) = RawSocket::handshake_at(server.addr, "/ws/lab", offer).await;
    assert_eq!(header(&head, "sec-websocket-protocol"), Some("mqtt"), "the lab takes the first offer");
}

#[tokio::test]
async fn the_lab_reports_each_echos_size_on_the_wire_compressed() {
    let server = Running::plain().await;
    let (_, mut socket) = RawSocket::handshake_at(server.addr, "/ws/lab", BROWSER_OFFER).await;
    socket.send_frame(0x81, b"/sizes on").await;
    assert_eq!(read_message(&mut socket).await, (false, 1, br#"{"server":"sizes","on":true}"#.to_vec()));
    let text = r#"{"temperature":21.5,"unit":"celsius","station":"north"}"#.repeat(20);
    let compressed = compress(&mut Compress::new(Compression::default(), false), text.as_bytes());
    socket.send_frame(0xc1, &compressed).await;
    let (rsv1, _, payload) = read_message(&mut socket).await;
    assert!(rsv1);
    assert_eq!(inflate(&mut Decompress::new(false), &payload), text.as_bytes());
    let (_, _, report) = read_message(&mut socket).await;
    let report: serde_json::Value = serde_json::from_slice(&report).unwrap();
    assert_eq!(report["server"], "sizes");
    assert_eq!(report["bytes"], text.len());
    assert_eq!(report["compressed"], true);
    let header = if compressed.len() < 126 { 6 } else { 8 };
    assert_eq!(report["wire_in"], compressed.len() + header);
    let wire_out = report["wire_out"].as_u64().unwrap() as usize;
    assert!(wire_out < text.len() / 4, "the echo went out compressed: {wire_out} bytes");
}
