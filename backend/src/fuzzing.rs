//! A small, stable facade over the WebSocket engine for the fuzz targets in
//! `fuzz/`, the property tests (`tests/properties.rs`) and the differential
//! tests (`tests/differential.rs`). Compiled only with the `fuzzing` feature,
//! which no release build enables.
//!
//! Every call into the engine's private types is in this file, so that a
//! change to the engine (a negotiated extension, a new stage) is adapted here
//! once. The facade speaks in bytes, plain structs and `u16` close codes.
//!
//! [`check_run`] is the one oracle: the fuzz targets and the property tests
//! assert the same properties of what the server wrote. The fuzz targets
//! themselves are in [`targets`], so that the committed regression inputs in
//! `fuzz/regressions/` replay through exactly the same code on stable.
//!
//! (Declared inside `ws`, whose modules are private, and re-exported from the
//! crate root as `backend::fuzzing`.)

use std::sync::Arc;
use std::time::Duration;

use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Uri};
use tokio::time::Instant;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};

use super::deflate::{Agreement, Deflater, Inflater};
use super::frame::{code, is_valid_close_code, parse_server_frames, MAX_CONTROL};
use super::handshake::{accept_key, check_handshake};
use super::lab::Lab;
use super::output::Output;
use super::protocol::{Outcome, Protocol};
use super::report::{self, MAX_REPORT_BYTES};
use super::stage::{Action, Echo, Stage};
use super::utf8::Utf8Stream;
use crate::budget::MemoryBudget;

pub use super::frame::client_frame;

/// The largest message the lab writes of its own accord (a report, or the
/// text of `/fragment`, which is at most one 4 KiB command): the limit the
/// oracle applies to the lab's output when the message limit is smaller.
pub const LAB_OWN_MESSAGE_BOUND: u64 = 8 * 1024;

/// The close code the facade's server-initiated close uses, as at shutdown.
pub const SHUTDOWN_CODE: u16 = code::GOING_AWAY;

/// How a connection stood once the input was read or the connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Every chunk was read and the connection is still open (it may be
    /// waiting for the client's reply to the server's close frame).
    Open,
    /// The client's close frame arrived (its code, if it gave one): TCP ends.
    PeerClosed(Option<u16>),
    /// The client broke a rule after the server's close frame: TCP ends.
    Abort,
    /// The stage asked to end TCP without a close frame.
    Drop,
}

/// What one connection did with its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// Every byte the server wrote.
    pub output: Vec<u8>,
    /// How the connection stood at the end.
    pub end: End,
    /// The code of the close frame the server sent first, if it did.
    pub server_close: Option<u16>,
    /// How many chunks were read before the connection ended.
    pub chunks_read: usize,
    /// Whether permessage-deflate was agreed (with no context takeover, the default).
    pub compressed: bool,
}

/// What the server agrees to by default when a client offers permessage-deflate.
const AGREEMENT: Agreement = Agreement { server_takeover: false, client_takeover: false, server_window_bits: 15 };

/// Feeds `chunks` (one socket read each) to the protocol engine on the plain
/// echo (`/ws`), stopping where the connection would end.
pub fn echo(chunks: &[&[u8]], max_message_bytes: u64) -> Run {
    drive(chunks, max_message_bytes, None, false)
}

/// As [`echo`], on a connection that agreed to permessage-deflate.
pub fn echo_compressed(chunks: &[&[u8]], max_message_bytes: u64) -> Run {
    drive(chunks, max_message_bytes, None, true)
}

/// As [`echo`], but the server closes with [`SHUTDOWN_CODE`] just before chunk
/// `close_before` is read (after all of them if it is past the end), as a
/// shutdown or a keep-alive timeout does.
pub fn echo_closed_by_server(chunks: &[&[u8]], max_message_bytes: u64, close_before: usize) -> Run {
    drive(chunks, max_message_bytes, Some(close_before), false)
}

/// The engine and its output, with or without compression agreed.
fn engine(max_message_bytes: u64, compressed: bool) -> (Protocol, Output) {
    let agreement = compressed.then_some(AGREEMENT);
    (
        Protocol::new(max_message_bytes, agreement.as_ref().map(Inflater::new)),
        Output::new(Vec::new(), agreement.map(Deflater::new)),
    )
}

fn drive(chunks: &[&[u8]], max_message_bytes: u64, close_before: Option<usize>, compressed: bool) -> Run {
    let (mut protocol, mut out) = engine(max_message_bytes, compressed);
    let now = Instant::now();
    let mut end = End::Open;
    let mut chunks_read = 0;
    for (index, chunk) in chunks.iter().enumerate() {
        if close_before == Some(index) {
            out.close(SHUTDOWN_CODE, "server shutting down");
        }
        let outcome = protocol.feed(&mut chunk.to_vec(), &mut out, &mut Echo, now);
        chunks_read += 1;
        // The echo loop reads the pong flag after every read; the echo ignores it.
        protocol.take_pong();
        end = end_of(outcome);
        if end != End::Open {
            break;
        }
    }
    if close_before.is_some_and(|index| index >= chunks.len()) && end == End::Open {
        out.close(SHUTDOWN_CODE, "server shutting down");
    }
    Run { output: out.bytes().to_vec(), end, server_close: out.server_close_code(), chunks_read, compressed }
}

fn end_of(outcome: Outcome) -> End {
    match outcome {
        Outcome::Continue => End::Open,
        Outcome::PeerClosed(close_code) => End::PeerClosed(close_code),
        Outcome::Abort => End::Abort,
        Outcome::Drop => End::Drop,
    }
}

/// The input cut at `cuts` (sorted, deduplicated and clamped here), as the
/// chunks of [`echo`].
pub fn split<'a>(input: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|cut| (*cut).min(input.len())).collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut chunks = Vec::with_capacity(cuts.len() + 1);
    let mut start = 0;
    for cut in cuts {
        chunks.push(&input[start..cut]);
        start = cut;
    }
    chunks.push(&input[start..]);
    chunks
}

// ── The lab ──

/// One thing that happens to a lab connection, at a time in milliseconds after
/// it opened (times that go backwards are taken as the latest time so far).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabEvent {
    /// The client's bytes arrive.
    Read {
        /// What one socket read returned.
        bytes: Vec<u8>,
        /// When, in milliseconds after the connection opened.
        at_ms: u64,
    },
    /// A timer fires (the lab's own deadline or keep-alive's).
    Wake {
        /// When, in milliseconds after the connection opened.
        at_ms: u64,
    },
    /// The lab's own timer fires: time moves on to the deadline the lab
    /// asked for (if it asked for one and it is later), as in the echo loop.
    Due,
}

/// What a lab connection did, and what it held of the labs' memory budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabRun {
    /// What the connection wrote and how it ended.
    pub run: Run,
    /// The most the connection held of the budget after any event.
    pub most_held: usize,
    /// What was still held once the connection was dropped (it must be none).
    pub held_after_drop: usize,
}

/// The latest time the facade accepts, about 35 years: later times are cut to
/// it, so that adding them to a clock cannot overflow.
const MAX_LAB_MS: u64 = 1 << 40;

/// Runs the lab stage (`/ws/lab`) over the protocol engine through `events`,
/// as the echo loop would: a pong is reported after the read that carried it.
pub fn lab(events: &[LabEvent], max_message_bytes: u64, memory_budget: usize) -> LabRun {
    lab_with(events, max_message_bytes, memory_budget, false)
}

/// As [`lab`], with permessage-deflate agreed when `compressed`.
pub fn lab_with(events: &[LabEvent], max_message_bytes: u64, memory_budget: usize, compressed: bool) -> LabRun {
    let budget = Arc::new(MemoryBudget::new(memory_budget));
    let start = Instant::now();
    let mut stage = Lab::new(max_message_bytes, Arc::clone(&budget), start);
    let (mut protocol, mut out) = engine(max_message_bytes, compressed);
    let mut end = End::Open;
    let mut chunks_read = 0;
    let mut most_held = 0;
    let mut latest = 0;
    for event in events {
        let at_ms = match event {
            LabEvent::Read { at_ms, .. } | LabEvent::Wake { at_ms } => *at_ms,
            LabEvent::Due => match stage.deadline() {
                Some(due) => due.saturating_duration_since(start).as_millis().try_into().unwrap_or(u64::MAX),
                None => continue,
            },
        };
        latest = latest.max(at_ms.min(MAX_LAB_MS));
        let now = start + Duration::from_millis(latest);
        match event {
            LabEvent::Read { bytes, .. } => {
                let outcome = protocol.feed(&mut bytes.clone(), &mut out, &mut stage, now);
                chunks_read += 1;
                if protocol.take_pong() {
                    stage.pong(&mut out, now);
                }
                end = end_of(outcome);
            }
            LabEvent::Wake { .. } | LabEvent::Due => {
                if stage.wake(&mut out, now) == Action::Drop {
                    end = End::Drop;
                }
            }
        }
        most_held = most_held.max(budget.used());
        if end != End::Open {
            break;
        }
    }
    let run = Run { output: out.bytes().to_vec(), end, server_close: out.server_close_code(), chunks_read, compressed };
    drop(stage);
    LabRun { run, most_held, held_after_drop: budget.used() }
}

// ── UTF-8 ──

/// What the streaming validator passed on from a text message in pieces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Utf8Run {
    /// The bytes handed on, in order (only ever whole characters).
    pub passed: Vec<u8>,
    /// The piece at which the validator failed, if it did.
    pub failed_at: Option<usize>,
    /// Whether the message could end after the last piece read.
    pub at_boundary: bool,
}

/// Validates `pieces` as one text message arriving in pieces.
pub fn utf8(pieces: &[&[u8]]) -> Utf8Run {
    let mut stream = Utf8Stream::default();
    let mut passed = Vec::new();
    for (index, piece) in pieces.iter().enumerate() {
        match stream.check(piece) {
            Ok(checked) => {
                passed.extend_from_slice(&checked.completed[..checked.completed_len]);
                passed.extend_from_slice(&piece[checked.complete_from..checked.complete_to]);
            }
            Err(_) => return Utf8Run { passed, failed_at: Some(index), at_boundary: stream.is_at_boundary() },
        }
    }
    Utf8Run { passed, failed_at: None, at_boundary: stream.is_at_boundary() }
}

// ── The handshake ──

/// An upgrade request as a client may send it (hyper has already refused
/// requests whose method, target or header bytes are not HTTP).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpgradeRequest {
    /// The method, as sent (`GET`).
    pub method: Vec<u8>,
    /// The request target (`/ws?inspect`).
    pub target: Vec<u8>,
    /// Header names and values, as sent, repeats included.
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
}

/// The server's answer to an upgrade request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    /// `Sec-WebSocket-Accept`, or the refusal (status, label, message).
    pub answer: Result<String, (u16, &'static str, String)>,
    /// The handshake report frame `?inspect` would send first (empty if refused).
    pub report: Vec<u8>,
    /// The request's headers as hyper would hand them over.
    pub headers: Vec<(String, Vec<u8>)>,
}

/// Checks an upgrade request as `/ws` does and words the handshake report;
/// `None` when hyper would have refused the request before the server saw it.
pub fn handshake(request: &UpgradeRequest, allowed_origins: &[String]) -> Option<Handshake> {
    let method = Method::from_bytes(&request.method).ok()?;
    let uri = Uri::try_from(request.target.as_slice()).ok()?;
    let mut headers = HeaderMap::new();
    for (name, value) in &request.headers {
        let name = HeaderName::from_bytes(name).ok()?;
        let value = HeaderValue::from_bytes(value).ok()?;
        headers.append(name, value);
    }
    let listed = headers.iter().map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec())).collect();
    let answer = check_handshake(&method, &headers, allowed_origins);
    let mut http = Request::new(());
    *http.method_mut() = method;
    *http.uri_mut() = uri;
    *http.headers_mut() = headers;
    let answer = answer.map_err(|refusal| {
        let (reason, message) = (refusal.reason.as_str(), refusal.message.clone());
        // The status the client sees is the response's.
        (refusal.into_response().status().as_u16(), reason, message)
    });
    let (answer, report) = match answer {
        Ok(accept) => {
            let mut response = HeaderMap::new();
            response.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
            response.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
            response.insert(header::SEC_WEBSOCKET_ACCEPT, accept.clone());
            let report = report::handshake(&http, "HTTP/1.1 101 Switching Protocols", &response);
            (Ok(String::from_utf8_lossy(accept.as_bytes()).into_owned()), report)
        }
        Err(refused) => (Err(refused), Vec::new()),
    };
    Some(Handshake { answer, report, headers: listed })
}

/// Headers whose values the report must never show (a sample of the list in
/// `report.rs`, chosen to include each way a header is recognised).
const HIDDEN: [&str; 5] = ["cookie", "authorization", "x-forwarded-for", "x-api-key", "x-session-id"];

/// Checks what the server answered to `request`: a refusal is one line with a
/// 4xx status; an acceptance carries the RFC's accept key; the report is one
/// text frame of JSON within [`MAX_REPORT_BYTES`], `"server"` first, secret
/// values hidden.
pub fn check_handshake_answer(handshake: &Handshake) -> Result<(), String> {
    let accept = match &handshake.answer {
        Err((status, reason, message)) => {
            if !(400..500).contains(status) {
                return Err(format!("refused with status {status}"));
            }
            if message.is_empty() || message.contains(['\n', '\r']) || reason.is_empty() {
                return Err(format!("a refusal must be one line: {message:?} ({reason})"));
            }
            return Ok(());
        }
        Ok(accept) => accept,
    };
    let key = handshake.headers.iter().find(|(name, _)| name == "sec-websocket-key").map(|(_, value)| value);
    let key = key.ok_or("accepted without a Sec-WebSocket-Key")?;
    if *accept != accept_key(key) {
        return Err(format!("accept key {accept} does not answer {key:?}"));
    }
    let frames = parse_server_frames(&handshake.report)?;
    let [frame] = frames.as_slice() else {
        return Err(format!("the report is {} frames", frames.len()));
    };
    if frame.first != 0x81 || !frame.minimal_length {
        return Err(format!("the report's frame starts {:#x}", frame.first));
    }
    if frame.payload.len() > MAX_REPORT_BYTES {
        return Err(format!("a report of {} bytes", frame.payload.len()));
    }
    if !frame.payload.starts_with(br#"{"server":"handshake","#) {
        return Err("the report does not start with its server key".into());
    }
    let json: serde_json::Value =
        serde_json::from_slice(&frame.payload).map_err(|err| format!("the report is not JSON: {err}"))?;
    let listed = json["request"]["headers"].as_array().ok_or("the report lists no request headers")?;
    for pair in listed {
        let (Some(name), Some(value)) = (pair[0].as_str(), pair[1].as_str()) else {
            return Err(format!("a header pair that is not two strings: {pair}"));
        };
        if HIDDEN.contains(&name) && !value.starts_with("[hidden: ") {
            return Err(format!("the report shows the value of {name}"));
        }
    }
    Ok(())
}

// ── The oracle ──

/// One thing the server sent, read back from its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A data message, whole or (if the output ends inside it) its start.
    Message(Message),
    /// A ping's payload.
    Ping(Vec<u8>),
    /// A pong's payload.
    Pong(Vec<u8>),
    /// A close frame's payload.
    Close(Vec<u8>),
}

/// A data message the server sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Text (opcode 1) rather than binary (opcode 2).
    pub text: bool,
    /// The payloads of its frames, joined (decompressed, for a compressed
    /// message that was finished).
    pub payload: Vec<u8>,
    /// Whether its last frame went out.
    pub finished: bool,
}

/// Everything the server sent, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transcript {
    /// Each message (at its first frame) and control frame.
    pub events: Vec<Event>,
}

impl Transcript {
    /// The events, leaving out a message that was never finished: how much of
    /// such a message is sent depends on where the reads split the input.
    pub fn settled(&self) -> Vec<&Event> {
        let finished = |event: &&Event| !matches!(event, Event::Message(Message { finished: false, .. }));
        self.events.iter().filter(finished).collect()
    }

    /// The data messages sent whole, in order.
    pub fn messages(&self) -> Vec<&Message> {
        self.events
            .iter()
            .filter_map(|event| match event {
                Event::Message(message) if message.finished => Some(message),
                _ => None,
            })
            .collect()
    }

    /// The close frame's code (`Some(None)` for a close frame without one).
    pub fn close_code(&self) -> Option<Option<u16>> {
        self.events.iter().find_map(|event| match event {
            Event::Close(payload) => Some(payload.get(..2).map(|code| u16::from_be_bytes([code[0], code[1]]))),
            _ => None,
        })
    }
}

/// Checks every property of what the server wrote, and reads it back:
/// well-formed server frames (unmasked, RSV 0, known opcodes, minimal lengths,
/// control frames whole and at most 125 bytes), messages whose frames are not
/// interleaved, close frames with a code that may be sent and a UTF-8 reason,
/// nothing after a close frame, text that is UTF-8 (a message cut short is the
/// start of UTF-8), and no message over `max_message_bytes`.
pub fn check_output(bytes: &[u8], max_message_bytes: u64) -> Result<Transcript, String> {
    check_output_with(bytes, max_message_bytes, false)
}

/// [`check_output`] for a connection that agreed to permessage-deflate (when
/// `compressed`): RSV1 may then mark a message's first frame, and such a
/// message is checked once decompressed.
pub fn check_output_with(bytes: &[u8], max_message_bytes: u64, compressed: bool) -> Result<Transcript, String> {
    let frames = parse_server_frames(bytes)?;
    let mut transcript = Transcript::default();
    // The index in `events` of the message whose last frame has not gone out,
    // and whether that message is compressed.
    let mut open: Option<usize> = None;
    let mut open_compressed = false;
    for (index, frame) in frames.iter().enumerate() {
        let at = format!("frame {index} ({:#04x}, {} bytes)", frame.first, frame.payload.len());
        let fin = frame.first & 0x80 != 0;
        let rsv1_allowed = compressed && matches!(frame.first & 0x0f, 0x1 | 0x2);
        if frame.first & 0x30 != 0 || (frame.first & 0x40 != 0 && !rsv1_allowed) {
            return Err(format!("{at}: reserved bits set"));
        }
        if !frame.minimal_length {
            return Err(format!("{at}: the length is not in its shortest form"));
        }
        if matches!(transcript.events.last(), Some(Event::Close(_))) {
            return Err(format!("{at}: sent after the close frame"));
        }
        let opcode = frame.first & 0x0f;
        if opcode & 0x08 != 0 && (!fin || frame.payload.len() > MAX_CONTROL) {
            return Err(format!("{at}: a control frame fragmented or over 125 bytes"));
        }
        match opcode {
            0x0 => {
                let index = open.ok_or_else(|| format!("{at}: a continuation outside a message"))?;
                let Event::Message(message) = &mut transcript.events[index] else {
                    unreachable!("open points at a message");
                };
                message.payload.extend_from_slice(&frame.payload);
                message.finished = fin;
            }
            0x1 | 0x2 => {
                if open.is_some() {
                    return Err(format!("{at}: a new message inside another"));
                }
                open_compressed = frame.first & 0x40 != 0;
                let message = Message { text: opcode == 0x1, payload: frame.payload.clone(), finished: fin };
                transcript.events.push(Event::Message(message));
            }
            0x8 => {
                check_close_payload(&frame.payload).map_err(|err| format!("{at}: {err}"))?;
                transcript.events.push(Event::Close(frame.payload.clone()));
            }
            0x9 => transcript.events.push(Event::Ping(frame.payload.clone())),
            0xa => transcript.events.push(Event::Pong(frame.payload.clone())),
            _ => return Err(format!("{at}: reserved opcode")),
        }
        if opcode < 0x8 {
            let index = open.unwrap_or(transcript.events.len() - 1);
            let Event::Message(message) = &mut transcript.events[index] else {
                unreachable!("data frames belong to messages");
            };
            open = (!message.finished).then_some(index);
            if open_compressed {
                if !message.finished {
                    // Compressed bytes say nothing about size or UTF-8 until inflated.
                    continue;
                }
                message.payload = inflate(&message.payload).map_err(|err| format!("{at}: {err}"))?;
            }
            if message.payload.len() as u64 > max_message_bytes {
                return Err(format!("{at}: a message of {} bytes is over the limit", message.payload.len()));
            }
            if message.text {
                match std::str::from_utf8(&message.payload) {
                    Ok(_) => {}
                    Err(err) if err.error_len().is_none() && !message.finished => {}
                    Err(err) => return Err(format!("{at}: a text message that is not UTF-8: {err}")),
                }
            }
        }
    }
    Ok(transcript)
}

/// A receiver's view of a compressed message: the tail put back, inflated.
fn inflate(compressed: &[u8]) -> Result<Vec<u8>, String> {
    let mut input = compressed.to_vec();
    input.extend_from_slice(&[0, 0, 0xff, 0xff]);
    let mut decompress = Decompress::new(false);
    let mut output = Vec::with_capacity(compressed.len() * 4 + 64);
    loop {
        let before = decompress.total_in();
        let consumed = before as usize;
        decompress
            .decompress_vec(&input[consumed..], &mut output, FlushDecompress::Sync)
            .map_err(|err| format!("the server sent compressed data that does not inflate: {err}"))?;
        if decompress.total_in() as usize == input.len() && output.len() < output.capacity() {
            return Ok(output);
        }
        if decompress.total_in() == before && output.len() < output.capacity() {
            return Err("the server's compressed data ends early".into());
        }
        output.reserve(output.capacity().max(1024));
    }
}

fn check_close_payload(payload: &[u8]) -> Result<(), String> {
    match payload {
        [] => Ok(()),
        [_] => Err("a close frame with a one-byte payload".into()),
        [high, low, reason @ ..] => {
            let close_code = u16::from_be_bytes([*high, *low]);
            if !is_valid_close_code(close_code) {
                return Err(format!("close code {close_code} may not be sent"));
            }
            std::str::from_utf8(reason).map_err(|err| format!("a close reason that is not UTF-8: {err}"))?;
            Ok(())
        }
    }
}

/// [`check_output`], plus what must hold between the output and how the
/// connection ended: a server close is the last frame and carries its code; a
/// client's close is answered with its own payload unless the server closed
/// first; a connection that ends on a violation has sent its close frame.
pub fn check_run(run: &Run, max_message_bytes: u64) -> Result<Transcript, String> {
    let transcript = check_output_with(&run.output, max_message_bytes, run.compressed)?;
    let close = transcript.close_code();
    if let Some(server_code) = run.server_close {
        if close != Some(Some(server_code)) {
            return Err(format!("the server closed with {server_code} but its close frame says {close:?}"));
        }
    }
    match (run.end, run.server_close) {
        (End::PeerClosed(client_code), None) if close != Some(client_code) => {
            Err(format!("the client's close ({client_code:?}) was answered with {close:?}"))
        }
        (End::Abort, None) => Err("the connection was aborted without a close frame".into()),
        (End::Open | End::Drop, None) if close.is_some() => Err("a close frame the run does not account for".into()),
        _ => Ok(transcript),
    }
}

/// [`check_run`] for the lab: echoes keep to `max_message_bytes`, and only
/// the lab's own reports (a JSON object whose first key is `"server"`) may be
/// longer, up to [`LAB_OWN_MESSAGE_BOUND`]. (A `/fragment` reply is no longer
/// than the command that asked for it, which kept to the limit.)
pub fn check_lab_run(run: &Run, max_message_bytes: u64) -> Result<Transcript, String> {
    let transcript = check_run(run, max_message_bytes.max(LAB_OWN_MESSAGE_BOUND))?;
    for message in transcript.messages() {
        let report = message.text && message.payload.starts_with(br#"{"server":""#);
        if message.payload.len() as u64 > max_message_bytes && !report {
            return Err(format!("a message of {} bytes is over the limit", message.payload.len()));
        }
    }
    Ok(transcript)
}

/// Checks that two runs over the same input, read in different chunks, did
/// the same: the same end, the same server close, the same settled events; and
/// a message left unfinished in one is no longer in the other than its input.
pub fn check_same_result(first: &Run, second: &Run, max_message_bytes: u64) -> Result<(), String> {
    if (first.end, first.server_close) != (second.end, second.server_close) {
        return Err(format!(
            "the end differs: {:?}/{:?} against {:?}/{:?}",
            first.end, first.server_close, second.end, second.server_close
        ));
    }
    let first = check_run(first, max_message_bytes)?;
    let second = check_run(second, max_message_bytes)?;
    if first.settled() != second.settled() {
        return Err(format!("the events differ:\n{:?}\n{:?}", first.settled(), second.settled()));
    }
    Ok(())
}

pub mod targets {
    //! The fuzz targets' bodies: each decodes its input, runs the engine
    //! through the facade and panics when a property fails. `fuzz/` calls them
    //! under libFuzzer; `tests/properties.rs` replays the committed regression
    //! inputs through them on stable.

    use super::*;

    /// Reads a fuzzer's bytes as small numbers and slices, running dry quietly.
    struct Reader<'a>(&'a [u8]);

    impl<'a> Reader<'a> {
        fn byte(&mut self) -> u8 {
            let Some((&first, rest)) = self.0.split_first() else {
                return 0;
            };
            self.0 = rest;
            first
        }

        fn u16(&mut self) -> u16 {
            u16::from_be_bytes([self.byte(), self.byte()])
        }

        fn bytes(&mut self, wanted: usize) -> &'a [u8] {
            let (taken, rest) = self.0.split_at(wanted.min(self.0.len()));
            self.0 = rest;
            taken
        }

        fn rest(&mut self) -> &'a [u8] {
            self.bytes(self.0.len())
        }

        fn is_empty(&self) -> bool {
            self.0.is_empty()
        }
    }

    /// Message limits worth trying: the edges of the length encodings and the default.
    const LIMITS: [u64; 12] = [0, 1, 2, 3, 7, 16, 125, 126, 1000, 65_535, 65_536, 1 << 20];

    /// Masks worth trying: the zero mask keeps payloads as written, so the
    /// fuzzer's dictionary and comparisons reach the engine unchanged.
    const MASKS: [[u8; 4]; 4] = [[0; 4], [0x37, 0xfa, 0x21, 0x3d], [0xff; 4], [1, 2, 3, 4]];

    /// A client byte stream described frame by frame, so that the fuzzer can
    /// make well-masked frames easily: each frame is a first byte, a shape
    /// byte and a payload; the shape's low bit set means raw bytes instead.
    ///
    /// With `compress`, a data frame with RSV1 begins a compressed message and
    /// its payload, and those of the continuation frames after it, are
    /// compressed as a client would (one deflate stream, sync-flushed at
    /// every frame, the tail dropped at the end), so that the fuzzer reaches
    /// the decompressor with data it can inflate.
    fn client_stream(reader: &mut Reader<'_>, compress: bool) -> Vec<u8> {
        let mut stream = Vec::new();
        let mut compressor: Option<Compress> = None;
        while !reader.is_empty() {
            let first = reader.byte();
            let shape = reader.byte();
            let length = usize::from(reader.byte());
            let raw = reader.bytes(length);
            if shape & 1 != 0 {
                stream.extend_from_slice(raw);
                continue;
            }
            let opcode = first & 0x0f;
            if compress && first & 0x40 != 0 && matches!(opcode, 0x1 | 0x2) {
                compressor = Some(Compress::new(Compression::fast(), false));
            }
            let compressed;
            let payload = match compressor.as_mut().filter(|_| opcode <= 0x2) {
                Some(state) => {
                    compressed = deflate_piece(state, raw, first & 0x80 != 0);
                    if first & 0x80 != 0 {
                        compressor = None;
                    }
                    compressed.as_slice()
                }
                None => raw,
            };
            let mask = MASKS[usize::from(shape >> 1) % MASKS.len()];
            let mut frame = client_frame(first, payload, mask);
            match (shape >> 3) % 4 {
                // A longer length encoding than needed (allowed from clients).
                1 if payload.len() < 126 => {
                    frame.splice(1..2, [0xfe, 0, payload.len() as u8]);
                }
                // A declared length longer than what follows: the rest is cut off.
                2 => {
                    let low = u64::from(reader.u16());
                    // Up to 48-bit lengths, or one with the top bit set, which the RFC forbids.
                    let declared = match shape >> 5 {
                        7 => 1 << 63 | low,
                        shift => low << (8 * shift),
                    };
                    frame.splice(1..2 + extended_len(frame[1]), [0xff].into_iter().chain(declared.to_be_bytes()));
                }
                // Unmasked.
                3 => {
                    frame[1] &= 0x7f;
                    let at = 2 + extended_len(frame[1]);
                    frame.drain(at..at + 4);
                    let payload_at = frame.len() - payload.len();
                    frame[payload_at..].copy_from_slice(payload);
                }
                _ => {}
            }
            stream.extend_from_slice(&frame);
        }
        stream
    }

    /// One frame's worth of a client's compressed message.
    fn deflate_piece(state: &mut Compress, data: &[u8], last: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len() + 64);
        let start = state.total_in();
        loop {
            let used = (state.total_in() - start) as usize;
            if state.compress_vec(&data[used..], &mut out, FlushCompress::Sync).is_err() {
                break;
            }
            if out.len() < out.capacity() {
                break;
            }
            out.reserve(out.capacity());
        }
        if last && out.ends_with(&[0, 0, 0xff, 0xff]) {
            out.truncate(out.len() - 4);
        }
        out
    }

    /// Bytes of extended length after the second byte of a header.
    fn extended_len(second: u8) -> usize {
        match second & 0x7f {
            126 => 2,
            127 => 8,
            _ => 0,
        }
    }

    /// `protocol`: a client stream through the echo, with or without
    /// permessage-deflate agreed, read whole and in fuzzer-chosen chunks,
    /// optionally with the server closing part-way.
    pub fn protocol(data: &[u8]) {
        let mut reader = Reader(data);
        let limit = LIMITS[usize::from(reader.byte()) % LIMITS.len()];
        let server_close = reader.byte();
        let compressed = server_close & 0x40 != 0;
        let cuts: Vec<usize> = (0..reader.byte() % 8).map(|_| usize::from(reader.u16())).collect();
        let stream = client_stream(&mut reader, compressed);
        let whole = drive(&[&stream], limit, None, compressed);
        let split_run = drive(&split(&stream, &cuts), limit, None, compressed);
        if let Err(err) = check_same_result(&whole, &split_run, limit) {
            panic!("read whole and split at {cuts:?}: {err}\n{stream:x?}");
        }
        if server_close & 0x80 != 0 {
            let chunks = split(&stream, &cuts);
            let close_before = usize::from(server_close & 0x3f);
            let run = drive(&chunks, limit, Some(close_before), compressed);
            if let Err(err) = check_run(&run, limit) {
                panic!("with a server close before chunk {close_before}: {err}");
            }
        }
    }

    /// `lab`: the lab's commands and timing. Each event comes after a time
    /// step and is a timer, a command (made from a template, so that the
    /// fuzzer reaches every command quickly), or a read of a client stream
    /// (as in [`protocol`]).
    pub fn lab(data: &[u8]) {
        let mut reader = Reader(data);
        let limit = [3, 64, 1000, 65_536, 1 << 20, 1 << 20][usize::from(reader.byte()) % 6];
        // Budgets small enough to run out, and the server's default; the
        // byte's high bit agrees to permessage-deflate.
        let budget_byte = reader.byte();
        let budget = [100, 4096, 64 << 20, 64 << 20][usize::from(budget_byte) % 4];
        let compressed = budget_byte & 0x80 != 0;
        let mut events = Vec::new();
        let mut at_ms = 0u64;
        while !reader.is_empty() {
            let kind = reader.byte();
            let step = match kind >> 6 {
                0 => 0,
                1 => u64::from(reader.byte()),
                2 => u64::from(reader.u16()) * 16,
                _ => u64::from(reader.u16()) << 24,
            };
            at_ms = at_ms.saturating_add(step);
            let bytes = match kind & 0x3 {
                0 | 2 => lab_command(&mut reader, kind),
                1 => {
                    events.push(if kind & 0x4 != 0 { LabEvent::Due } else { LabEvent::Wake { at_ms } });
                    continue;
                }
                _ => {
                    let length = usize::from(reader.u16() % 1024);
                    client_stream(&mut Reader(reader.bytes(length)), compressed)
                }
            };
            events.push(LabEvent::Read { bytes, at_ms });
        }
        let outcome = super::lab_with(&events, limit, budget, compressed);
        if let Err(err) = check_lab_run(&outcome.run, limit) {
            panic!("{err}\n{events:x?}");
        }
        assert!(outcome.most_held <= budget, "held {} of a budget of {budget}", outcome.most_held);
        assert_eq!(outcome.held_after_drop, 0, "memory still held after the connection ended");
    }

    /// A lab command as a text message, whole or in two frames, and a pong
    /// after it when `kind` asks (which answers a `/ping`).
    fn lab_command(reader: &mut Reader<'_>, kind: u8) -> Vec<u8> {
        let number = reader.u16();
        let length = usize::from(reader.byte() % 64);
        let text = String::from_utf8_lossy(reader.bytes(length)).into_owned();
        let line = match reader.byte() % 8 {
            0 => format!("/delay {}", number % 12_000),
            1 => format!("/close {} {text}", number % 5100),
            2 => format!("/ping {text}"),
            3 => format!("/fragment {} {text}", number % 70),
            4 => "/drop".to_owned(),
            5 => "/help".to_owned(),
            6 => text,
            // Now and then past the lab's 4096-byte command limit.
            _ => format!("/{}", text.repeat(usize::from(number % 200))),
        };
        let line = line.as_bytes();
        let mut bytes = match usize::from(number) % (line.len() + 8) {
            cut if cut < line.len() && kind & 0x4 != 0 => {
                let mut bytes = client_frame(0x01, &line[..cut], [0; 4]);
                bytes.extend(client_frame(0x80, &line[cut..], [0; 4]));
                bytes
            }
            _ => client_frame(0x81, line, [0; 4]),
        };
        if kind & 0x8 != 0 {
            bytes.extend(client_frame(0x8a, &line[..line.len().min(125)], [0; 4]));
        }
        bytes
    }

    /// `utf8`: pieces of one text message against `std::str::from_utf8` on
    /// the whole: the same verdict, failing at the piece where the bytes stop
    /// being the start of UTF-8, and passing exactly the complete characters
    /// before that.
    pub fn utf8(data: &[u8]) {
        let mut reader = Reader(data);
        let cuts: Vec<usize> = (0..reader.byte() % 16).map(|_| usize::from(reader.byte())).collect();
        let whole = reader.rest();
        let pieces = split(whole, &cuts);
        let run = super::utf8(&pieces);
        let starts: Vec<usize> =
            pieces.iter().scan(0, |at, piece| Some(std::mem::replace(at, *at + piece.len()))).collect();
        match std::str::from_utf8(whole) {
            Ok(_) => {
                assert_eq!(run, Utf8Run { passed: whole.to_vec(), failed_at: None, at_boundary: true });
            }
            Err(err) if err.error_len().is_none() => {
                let expected = &whole[..err.valid_up_to()];
                assert_eq!(run, Utf8Run { passed: expected.to_vec(), failed_at: None, at_boundary: false });
            }
            Err(err) => {
                // The first byte after which no continuation can make UTF-8.
                let broken = (err.valid_up_to()..whole.len())
                    .find(|end| std::str::from_utf8(&whole[..=*end]).is_err_and(|err| err.error_len().is_some()))
                    .expect("an invalid sequence ends somewhere");
                // Empty pieces start where the next begins: the failing piece is
                // the last that starts at or before the broken byte and is not empty.
                let piece = (0..pieces.len())
                    .rev()
                    .find(|index| starts[*index] <= broken && !pieces[*index].is_empty())
                    .expect("some piece holds the broken byte");
                assert_eq!(run.failed_at, Some(piece), "{whole:x?} in {pieces:x?}");
                let before = &whole[..starts[piece]];
                let valid = match std::str::from_utf8(before) {
                    Ok(_) => before.len(),
                    Err(err) => err.valid_up_to(),
                };
                assert_eq!(run.passed, &before[..valid], "{whole:x?} in {pieces:x?}");
            }
        }
    }

    /// The headers of a good upgrade request (RFC 6455 section 4.1's example key).
    const UPGRADE: [(&str, &str); 4] = [
        ("connection", "keep-alive, Upgrade"),
        ("upgrade", "websocket"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];

    /// Header names worth trying: what the checks and the report look at.
    const NAMES: [&str; 12] = [
        "connection",
        "upgrade",
        "sec-websocket-version",
        "sec-websocket-key",
        "origin",
        "cookie",
        "authorization",
        "x-forwarded-for",
        "x-api-key",
        "x-session-id",
        "sec-websocket-protocol",
        "host",
    ];

    /// `handshake`: arbitrary header maps into the checks and the report:
    /// no panic, a one-line refusal or the right accept key, a bounded report
    /// that hides secret values.
    pub fn handshake(data: &[u8]) {
        let mut reader = Reader(data);
        let method = match reader.byte() % 4 {
            0 => b"POST".to_vec(),
            1 => reader.bytes(4).to_vec(),
            _ => b"GET".to_vec(),
        };
        let allowed: Vec<String> = match reader.byte() % 3 {
            0 => Vec::new(),
            1 => vec!["https://echo.example".into()],
            _ => vec![String::from_utf8_lossy(reader.bytes(16)).into_owned(), "http://127.0.0.1:3000".into()],
        };
        let mut request = UpgradeRequest { method, target: b"/ws?inspect".to_vec(), headers: Vec::new() };
        if reader.byte() & 1 != 0 {
            let length = usize::from(reader.u16() % 2048);
            request.target = [b"/ws?".as_slice(), reader.bytes(length)].concat();
        }
        // Start from a good upgrade, so that acceptance and the report are
        // reached: each header it needs is kept, dropped, replaced or repeated.
        for (name, good) in UPGRADE {
            let value = match reader.byte() % 8 {
                0 => continue,
                1 => {
                    let length = usize::from(reader.byte() % 64);
                    reader.bytes(length).to_vec()
                }
                2 => {
                    request.headers.push((name.as_bytes().to_vec(), good.as_bytes().to_vec()));
                    good.as_bytes().to_vec()
                }
                _ => good.as_bytes().to_vec(),
            };
            request.headers.push((name.as_bytes().to_vec(), value));
        }
        while !reader.is_empty() {
            let pick = reader.byte();
            let name = match NAMES.get(usize::from(pick % 16)) {
                Some(name) => name.as_bytes().to_vec(),
                None => {
                    let length = usize::from(reader.byte() % 32);
                    reader.bytes(length).to_vec()
                }
            };
            // Large values now and then, to reach the report's limits.
            let length = match pick >> 4 {
                0 => usize::from(reader.u16()),
                _ => usize::from(reader.byte()),
            };
            let value = reader.bytes(length).to_vec();
            let repeat = usize::from(pick >> 6) * 10 + 1;
            for _ in 0..repeat {
                request.headers.push((name.clone(), value.clone()));
            }
        }
        let Some(answer) = super::handshake(&request, &allowed) else {
            return;
        };
        if let Err(err) = check_handshake_answer(&answer) {
            panic!("{err}\n{request:?}");
        }
    }
}
