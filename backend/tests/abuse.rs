//! A hostile client's suite against the WebSocket side: each test is something
//! an anonymous client can send on purpose, and asserts that the server stays
//! within its stated bounds, says the right close code, and keeps serving a
//! well-behaved client meanwhile. (Plain-HTTP abuse is in `abuse_http.rs`.)

mod support;

use std::path::Path;
use std::time::Duration;

use futures_util::SinkExt;
use support::{masked_frame, next_message, Certificate, Process, RawSocket, Running};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

const TEXT: u8 = 0x81;
const BINARY: u8 = 0x82;
const CLOSE: u8 = 0x88;
const NO_DIST: &str = "/nonexistent-dist";

/// A close frame's payload.
fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    [&code.to_be_bytes()[..], reason.as_bytes()].concat()
}

/// Reads frames until TCP ends; the (opcode, payload) of each.
async fn frames_until_eof(socket: &mut RawSocket) -> Vec<(u8, Vec<u8>)> {
    let mut frames = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(5), socket.read_frame()).await {
            Ok(Some(frame)) => frames.push(frame),
            Ok(None) => return frames,
            Err(_) => panic!("TCP did not end within 5 s; frames so far: {frames:?}"),
        }
    }
}

/// Checks that a well-behaved client still gets its echo.
async fn still_serves(server: &Running) {
    let mut client = server.connect().await;
    client.send(Message::text("still here")).await.unwrap();
    assert_eq!(next_message(&mut client).await, Message::text("still here"));
}

// ── The handshake report never carries secrets ──

#[tokio::test]
async fn the_handshake_report_hides_credentials_and_user_identifying_headers() {
    let server = Running::plain().await;
    let secrets = [
        ("Cookie", "session=s3cr3t-cookie"),
        ("Authorization", "Bearer s3cr3t-token"),
        ("Proxy-Authorization", "Basic s3cr3t-proxy"),
        ("X-Forwarded-For", "203.0.113.7"),
        ("X-Real-IP", "203.0.113.7"),
        ("Forwarded", "for=203.0.113.7"),
        ("X-Api-Key", "s3cr3t-key"),
    ];
    let extra: String = secrets.iter().map(|(name, value)| format!("{name}: {value}\r\n")).collect();
    let extra = format!("Origin: http://evil.example\r\n{extra}");
    let (head, mut socket) = RawSocket::handshake_at(server.addr, "/ws?inspect", &extra).await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let (opcode, report) = socket.read_frame().await.expect("the report");
    assert_eq!(opcode, 1);
    let report = String::from_utf8(report).unwrap();
    for needle in ["s3cr3t", "203.0.113.7"] {
        assert!(!report.contains(needle), "the report reveals {needle}: {report}");
    }
    let parsed: serde_json::Value = serde_json::from_str(&report).unwrap();
    let headers = parsed["request"]["headers"].as_array().unwrap();
    for (name, value) in secrets {
        let shown = headers
            .iter()
            .find(|pair| pair[0].as_str() == Some(&name.to_ascii_lowercase()))
            .unwrap_or_else(|| panic!("{name} is not listed: {report}"));
        let shown = shown[1].as_str().unwrap();
        assert!(shown.contains(&format!("{} bytes", value.len())), "{name}: {shown}");
        assert!(shown.contains("hidden"), "{name}: {shown}");
    }
    // Harmless headers still show, so the lesson stays whole.
    assert!(headers.iter().any(|pair| pair[0] == "origin" && pair[1] == "http://evil.example"), "{report}");
}

#[tokio::test]
async fn the_handshake_report_is_bounded_however_large_the_request_head() {
    let server = Running::plain().await;
    // Twenty-eight headers of 2 KiB each: a 56 KiB head, within the 64 KiB the
    // server reads of a head (a longer one gets 431).
    let extra: String = (0..28).map(|index| format!("X-Filler-{index}: {}\r\n", "v".repeat(2048))).collect();
    let (head, mut socket) = RawSocket::handshake_at(server.addr, "/ws?inspect", &extra).await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let (_, report) = socket.read_frame().await.expect("the report");
    assert!(report.len() <= 16 * 1024, "a report of {} bytes", report.len());
    let parsed: serde_json::Value = serde_json::from_slice(&report).expect("still valid JSON");
    assert_eq!(parsed["server"], "handshake");
    let text = String::from_utf8(report).unwrap();
    assert!(text.contains("not shown"), "the report says what it left out: {}", &text[text.len() - 300..]);
    // The socket still echoes after the report.
    socket.send_frame(TEXT, b"after").await;
    assert_eq!(socket.read_frame().await, Some((1, b"after".to_vec())));
}

// ── Every due close frame goes out, and nothing after it ──

#[tokio::test]
async fn a_lab_close_and_the_clients_close_in_one_write_still_get_a_close_frame() {
    let server = Running::plain().await;
    let (_, mut socket) = RawSocket::handshake_at(server.addr, "/ws/lab", "").await;
    let both = [masked_frame(TEXT, b"/close 4000 bye"), masked_frame(CLOSE, &close_payload(1000, ""))].concat();
    socket.stream.write_all(&both).await.unwrap();
    let frames = frames_until_eof(&mut socket).await;
    let closes: Vec<_> = frames.iter().filter(|(opcode, _)| *opcode == 8).collect();
    assert_eq!(closes.len(), 1, "exactly one close frame: {frames:?}");
    assert_eq!(closes[0].1, close_payload(4000, "bye"), "{frames:?}");
    assert_eq!(frames.last().map(|frame| frame.0), Some(8), "nothing follows the close frame: {frames:?}");
}

#[tokio::test]
async fn a_lab_close_followed_by_a_bad_frame_still_sends_its_close_frame() {
    let server = Running::plain().await;
    let (_, mut socket) = RawSocket::handshake_at(server.addr, "/ws/lab", "").await;
    let both = [masked_frame(TEXT, b"/close 4001"), masked_frame(0x83, b"reserved opcode")].concat();
    socket.stream.write_all(&both).await.unwrap();
    let frames = frames_until_eof(&mut socket).await;
    assert_eq!(frames.first(), Some(&(8, close_payload(4001, ""))), "{frames:?}");
    assert_eq!(frames.len(), 1, "nothing follows the close frame: {frames:?}");
}

#[tokio::test]
async fn nothing_follows_the_servers_1001_at_shutdown_even_a_late_pong_report() {
    let mut server = Running::start(Path::new(NO_DIST), |config| {
        config.shutdown_grace = Duration::from_millis(500);
    })
    .await;
    let (_, mut socket) = RawSocket::handshake_at(server.addr, "/ws/lab", "").await;
    socket.send_frame(TEXT, b"/ping now").await;
    let (opcode, _) = socket.read_frame().await.expect("the lab's ping");
    assert_eq!(opcode, 9);
    let stopped = server.stop();
    assert_eq!(socket.expect_close().await, Some(1001));
    // The pong to the lab's ping arrives after the server's close: the server
    // must not report its time, nor send anything else.
    socket.send_frame(0x8a, b"now").await;
    socket.send_frame(CLOSE, &close_payload(1001, "")).await;
    let after = frames_until_eof(&mut socket).await;
    assert!(after.is_empty(), "frames after the server's close: {after:?}");
    stopped.await.unwrap().unwrap();
}

// ── Keep-alive: any bytes prove liveness ──

#[tokio::test]
async fn a_client_busy_uploading_a_large_frame_is_not_closed_for_a_missing_pong() {
    let server = Running::start(Path::new(NO_DIST), |config| {
        config.ping_interval = Duration::from_millis(150);
        config.ping_timeout = Duration::from_millis(150);
    })
    .await;
    let mut socket = RawSocket::connect(server.addr).await;
    let frame = masked_frame(BINARY, &[7; 48 * 1024]);
    // About 1.2 s of steady upload, eight ping intervals and timeouts long,
    // during which the client reads nothing and so answers no ping.
    for chunk in frame.chunks(1024) {
        socket.stream.write_all(chunk).await.unwrap();
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    loop {
        let (opcode, payload) = socket.read_frame().await.expect("the echo, not the end of TCP");
        match opcode {
            9 => continue,
            8 => panic!("closed while uploading: {payload:?}"),
            _ => {
                assert_eq!(opcode, 2);
                break;
            }
        }
    }
}

// ── The lab's memory is counted as it really is, and given back ──

/// The value of one series in `/metrics`.
async fn metric(addr: std::net::SocketAddr, series: &str) -> u64 {
    let reply = support::http(addr, "GET /metrics HTTP/1.1").await.text();
    let line = reply.lines().find(|line| line.starts_with(&format!("{series} "))).unwrap_or_else(|| panic!("{series}"));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_flood_of_tiny_delayed_echoes_is_closed_by_its_real_cost_and_gives_it_back() {
    let server = Process::start(&[]);
    let (_, mut socket) = RawSocket::handshake_at(server.addr, "/ws/lab", "").await;
    socket.send_frame(TEXT, b"/delay 10000").await;
    let (_, report) = socket.read_frame().await.unwrap();
    assert_eq!(report, br#"{"server":"delay","ms":10000}"#);
    let before = server.resident_bytes();
    // Empty binary messages: 2 bytes each on the wire, but each waiting echo
    // also costs its place in the queue. Counted at 2 bytes, half a million
    // would fit in the 1 MiB the lab allows (and cost 36 MiB as slots).
    let empty = masked_frame(BINARY, b"");
    let batch: Vec<u8> = std::iter::repeat_n(empty.as_slice(), 4096).flatten().copied().collect();
    // 200,000 waiting echoes: 400 kB if counted by their bytes on the wire,
    // 2.4 MB by what they really hold (twelve bytes of queue entry each).
    for _ in 0..(200_000 / 4096) {
        if socket.stream.write_all(&batch).await.is_err() {
            break;
        }
    }
    assert_eq!(socket.expect_close().await, Some(1008));
    let grown = server.resident_bytes().saturating_sub(before);
    assert!(grown < 6 << 20, "the server grew by {grown} bytes for a 1 MiB queue");
    drop(socket);
    // What the lab held is given back once the connection has ended.
    let mut held = u64::MAX;
    for _ in 0..50 {
        held = metric(server.addr, "websocket_lab_memory_bytes").await;
        if held == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(held, 0, "lab memory still held after the client left");
    let mut client = RawSocket::connect(server.addr).await;
    client.send_frame(TEXT, b"still here").await;
    assert_eq!(client.read_frame().await, Some((1, b"still here".to_vec())));
}

#[tokio::test]
async fn lab_connections_together_stay_within_the_lab_memory_budget() {
    let server = Running::start(Path::new(NO_DIST), |config| config.lab_memory = 1_000_000).await;
    let mut sockets = Vec::new();
    for _ in 0..3 {
        let (_, mut socket) = RawSocket::handshake_at(server.addr, "/ws/lab", "").await;
        socket.send_frame(TEXT, b"/delay 10000").await;
        socket.read_frame().await.unwrap();
        sockets.push(socket);
    }
    // Each connection queues 250 kB, well within its own 1 MiB; queueing
    // briefly holds the message twice (reassembled, and its copy in the
    // queue), so the third goes past what all labs may hold together.
    for (index, socket) in sockets.iter_mut().enumerate().take(2) {
        socket.send_frame(BINARY, &[9; 250_000]).await;
        let settled = 250_000 * (index as u64 + 1);
        for _ in 0..100 {
            if metric(server.addr, "websocket_lab_memory_bytes").await >= settled {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    sockets[2].send_frame(BINARY, &[9; 250_000]).await;
    assert_eq!(sockets[2].expect_close().await, Some(1013));
    assert!(metric(server.addr, "websocket_lab_memory_bytes").await <= 1_000_000);
    assert_eq!(metric(server.addr, "websocket_lab_memory_limit_bytes").await, 1_000_000);
    still_serves(&server).await;
}

// ── Hostile frames against the engine, on the real binary ──
//
// Each of these runs the backend as its own process so that its memory and
// open files can be read apart from the test's, and ends by checking that
// both are back within bound and that a well-behaved client gets its echo.

/// A well-behaved client's echo from `server`, by hand.
async fn process_still_serves(server: &Process) {
    let mut client = RawSocket::connect(server.addr).await;
    client.send_frame(TEXT, b"still here").await;
    let echo = tokio::time::timeout(Duration::from_secs(5), client.read_frame()).await;
    assert_eq!(echo.expect("an echo within 5 s"), Some((1, b"still here".to_vec())));
}

/// Waits until the server holds no more descriptors than `baseline` (a
/// connection's descriptor is closed just after its last frame is sent).
async fn descriptors_back_to(server: &Process, baseline: usize) {
    for _ in 0..100 {
        if server.descriptors() <= baseline {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the server holds {} descriptors, {baseline} before the attack", server.descriptors());
}

/// The server's memory and descriptors before an attack, after one echo has
/// warmed it up.
async fn baseline(server: &Process) -> (usize, usize) {
    process_still_serves(server).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    (server.resident_bytes(), server.descriptors())
}

#[tokio::test]
async fn a_ping_flood_from_a_client_that_never_reads_its_pongs_is_throttled_not_buffered() {
    let server = Process::start(&[]);
    let (memory, descriptors) = baseline(&server).await;
    let mut socket = RawSocket::connect(server.addr).await;
    let ping = masked_frame(0x89, &[0x55; 125]);
    let batch: Vec<u8> = std::iter::repeat_n(ping.as_slice(), 1024).flatten().copied().collect();
    // The server answers every ping, so a client that reads nothing fills
    // the pongs' way back; then the server must stop reading rather than
    // queue pongs. Loopback buffers hold some megabytes each way, so the
    // client's writes stall after a few megabytes (8 MB here), not hundreds.
    let mut sent = 0usize;
    loop {
        match tokio::time::timeout(Duration::from_millis(500), socket.stream.write_all(&batch)).await {
            Ok(Ok(())) => sent += batch.len(),
            Ok(Err(_)) | Err(_) => break,
        }
        assert!(sent < 256 << 20, "the server read {sent} bytes of pings while its pongs went unread");
    }
    let grown = server.resident_bytes().saturating_sub(memory);
    assert!(grown < 4 << 20, "the server grew by {grown} bytes after {sent} bytes of pings");
    process_still_serves(&server).await;
    drop(socket);
    descriptors_back_to(&server, descriptors).await;
}

#[tokio::test]
async fn many_tiny_frames_are_echoed_as_they_come_and_never_held() {
    let server = Process::start(&[]);
    let (memory, descriptors) = baseline(&server).await;
    let socket = RawSocket::connect(server.addr).await;
    let (mut reader, mut writer) = socket.stream.into_split();
    // 100,000 empty messages, then one message of 100,000 one-byte fragments.
    const EMPTY: usize = 100_000;
    const PIECES: usize = 100_000;
    let sending = tokio::spawn(async move {
        let empty = masked_frame(BINARY, b"");
        let batch: Vec<u8> = std::iter::repeat_n(empty.as_slice(), 1000).flatten().copied().collect();
        for _ in 0..EMPTY / 1000 {
            writer.write_all(&batch).await.unwrap();
        }
        let mut fragments = masked_frame(0x02, b"x");
        let middle = masked_frame(0x00, b"x");
        for _ in 1..PIECES - 1 {
            fragments.extend_from_slice(&middle);
        }
        fragments.extend_from_slice(&masked_frame(0x80, b"x"));
        writer.write_all(&fragments).await.unwrap();
        writer
    });
    let mut peak = 0usize;
    let (mut empties, mut pieces) = (0usize, 0usize);
    while pieces < PIECES {
        let mut head = [0u8; 2];
        tokio::time::timeout(Duration::from_secs(5), reader.read_exact(&mut head)).await.unwrap().unwrap();
        let length = match head[1] & 0x7f {
            126 => u64::from(reader.read_u16().await.unwrap()),
            127 => reader.read_u64().await.unwrap(),
            short => u64::from(short),
        };
        let mut payload = vec![0; usize::try_from(length).unwrap()];
        reader.read_exact(&mut payload).await.unwrap();
        if empties < EMPTY {
            assert_eq!((head[0], payload.len()), (0x82, 0), "echo {empties} of the empty messages");
            empties += 1;
        } else {
            // The pieces may come back joined into fewer frames, never more.
            pieces += payload.len();
            assert!(payload.iter().all(|&byte| byte == b'x'));
        }
        if (empties + pieces) % 20_000 == 0 {
            peak = peak.max(server.resident_bytes());
        }
    }
    let _writer = sending.await.unwrap();
    let grown = peak.max(server.resident_bytes()).saturating_sub(memory);
    assert!(grown < 4 << 20, "the server grew by {grown} bytes for 200,000 tiny frames");
    process_still_serves(&server).await;
    drop((reader, _writer));
    descriptors_back_to(&server, descriptors).await;
}

#[tokio::test]
async fn a_64_bit_length_is_refused_from_its_header_before_anything_is_allocated() {
    let server = Process::start(&[]);
    let (memory, descriptors) = baseline(&server).await;
    // RFC 6455 5.2: the most significant bit of a 64-bit length must be 0.
    // Any length over the message limit is 1009 at once: the server never
    // waits for, or makes room for, the payload it announces.
    for (length, code) in [(1u64 << 63, 1002), (u64::MAX, 1002), (1 << 40, 1009), ((1 << 20) + 1, 1009)] {
        let mut socket = RawSocket::connect(server.addr).await;
        let mut frame = vec![0x82, 0x80 | 127];
        frame.extend_from_slice(&length.to_be_bytes());
        frame.extend_from_slice(&[1, 2, 3, 4]);
        socket.stream.write_all(&frame).await.unwrap();
        assert_eq!(socket.expect_close().await, Some(code), "length {length:#x}");
    }
    let grown = server.resident_bytes().saturating_sub(memory);
    assert!(grown < 1 << 20, "the server grew by {grown} bytes for lengths it refused");
    process_still_serves(&server).await;
    descriptors_back_to(&server, descriptors).await;
}

#[tokio::test]
async fn malformed_close_frames_get_the_right_close_code() {
    let server = Process::start(&[]);
    let (_, descriptors) = baseline(&server).await;
    let code = |code: u16| code.to_be_bytes().to_vec();
    let cases: [(&str, u8, Vec<u8>, u16); 7] = [
        ("a close frame over 125 bytes", CLOSE, [code(1000), vec![b'x'; 124]].concat(), 1002),
        ("a fragmented close frame", 0x08, code(1000), 1002),
        ("a one-byte close payload", CLOSE, vec![0x03], 1002),
        ("close code 1005, which may not be sent", CLOSE, code(1005), 1002),
        ("close code 999", CLOSE, code(999), 1002),
        ("close code 5000", CLOSE, code(5000), 1002),
        ("a reason that is not UTF-8", CLOSE, [code(1000), vec![0xff, 0xfe]].concat(), 1007),
    ];
    for (what, first_byte, payload, expected) in cases {
        let mut socket = RawSocket::connect(server.addr).await;
        socket.send_frame(first_byte, &payload).await;
        assert_eq!(socket.expect_close().await, Some(expected), "{what}");
    }
    // A close frame between a message's fragments is allowed, and answered.
    let mut socket = RawSocket::connect(server.addr).await;
    socket.send_frame(0x01, b"half a mes").await;
    socket.send_frame(CLOSE, &close_payload(4000, "bye")).await;
    assert_eq!(socket.expect_close().await, Some(4000));
    process_still_serves(&server).await;
    descriptors_back_to(&server, descriptors).await;
}

// ── wss: every echo and close frame reaches the client without a further write ──

mod tls {
    use super::*;

    #[tokio::test]
    async fn over_tls_a_large_echo_reaches_a_slow_reader_whole_without_a_further_write() {
        let certificate = Certificate::new();
        let (cert, key) = (certificate.cert_path(), certificate.key_path());
        let server = Running::start(Path::new(NO_DIST), move |config| {
            config.tls_cert = Some(cert);
            config.tls_key = Some(key);
        })
        .await;
        // A small receive buffer, so that the server's writes block part-way.
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let tcp: TcpStream = socket.connect(server.addr).await.unwrap();
        let mut tls = certificate.connect(tcp).await;
        tls.write_all(
            b"GET /ws HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
              Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        )
        .await
        .unwrap();
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            head.push(tls.read_u8().await.unwrap());
        }
        assert!(head.starts_with(b"HTTP/1.1 101"));

        // Six megabytes of messages, more than the server's socket buffers hold
        // (tcp_wmem allows 4 MiB), so that its writes stall part-way while the
        // client reads nothing; then the client only reads. Every echo must
        // arrive whole although the client sends nothing more.
        let payload: Vec<u8> = (0..512 * 1024).map(|index| (index % 251) as u8).collect();
        const MESSAGES: usize = 12;
        let (mut reader, mut writer) = tokio::io::split(tls);
        let frame = masked_frame(BINARY, &payload);
        let sending = tokio::spawn(async move {
            for _ in 0..MESSAGES {
                writer.write_all(&frame).await.unwrap();
            }
            writer.flush().await.unwrap();
            writer
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        for index in 0..MESSAGES {
            if index + 1 == MESSAGES {
                // Stop reading once more near the end, so that the server's last
                // writes find the socket full.
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            let echoed = tokio::time::timeout(Duration::from_secs(5), read_message(&mut reader)).await;
            let echoed = echoed.unwrap_or_else(|_| panic!("echo {index} never came whole without a further write"));
            assert!(echoed == payload, "echo {index} differs");
        }
        let mut writer = sending.await.unwrap();

        // The same for the close frame.
        writer.write_all(&masked_frame(CLOSE, &close_payload(1000, "done"))).await.unwrap();
        writer.flush().await.unwrap();
        let (opcode, body) = tokio::time::timeout(Duration::from_secs(5), read_frame(&mut reader)).await.unwrap();
        assert_eq!((opcode, body), (0x88, close_payload(1000, "done")));
    }

    /// Reads one unmasked frame: its first byte (FIN and opcode) and payload.
    async fn read_frame<R: AsyncReadExt + Unpin>(reader: &mut R) -> (u8, Vec<u8>) {
        let mut head = [0u8; 2];
        reader.read_exact(&mut head).await.unwrap();
        let length = match head[1] & 0x7f {
            126 => u64::from(reader.read_u16().await.unwrap()),
            127 => reader.read_u64().await.unwrap(),
            short => u64::from(short),
        };
        let mut payload = vec![0; length as usize];
        reader.read_exact(&mut payload).await.unwrap();
        (head[0], payload)
    }

    /// Reads the frames of one data message, skipping control frames.
    async fn read_message<R: AsyncReadExt + Unpin>(reader: &mut R) -> Vec<u8> {
        let mut message = Vec::new();
        loop {
            let (first, payload) = read_frame(reader).await;
            if first & 0x08 != 0 {
                continue;
            }
            message.extend_from_slice(&payload);
            if first & 0x80 != 0 {
                return message;
            }
        }
    }
}
