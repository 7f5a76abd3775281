//! Differential tests: the same client byte streams go to the engine (through
//! its fuzzing facade) and to tungstenite in server role over an in-memory
//! stream, with the same message limit, and the two must agree on the
//! messages and on how the stream ends: open, closed by the client (with its
//! code), or failed with 1002, 1007 or 1009.
//!
//! Where they legitimately differ, [`Explained`] says why, each case has a
//! test of its own below, and the property accepts a difference only when
//! the stream is exactly such a case. Anything else fails.

mod streams;

use std::io::{self, Cursor, Read, Write};

use backend::fuzzing::{self, check_run, End};
use proptest::prelude::*;
use streams::{config, encode, expect, ExpectedEnd, Frame, Length};
use tungstenite::error::{Error, ProtocolError};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{Role, WebSocket, WebSocketConfig};
use tungstenite::Message;

/// How a stream ended, in the terms both implementations share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Every byte was read; the connection is open.
    Open,
    /// The client closed, with this code if it gave one.
    ClientClosed(Option<u16>),
    /// The server failed the connection with this close code.
    Failed(u16),
}

/// The messages read (text or not, payload) and how the stream ended.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    messages: Vec<(bool, Vec<u8>)>,
    verdict: Verdict,
}

fn ours(input: &[u8], limit: u64) -> Outcome {
    let run = fuzzing::echo(&[input], limit);
    let transcript = check_run(&run, limit).unwrap_or_else(|err| panic!("{err}"));
    let messages = transcript.messages().into_iter().map(|message| (message.text, message.payload.clone())).collect();
    let verdict = match (run.server_close, run.end) {
        (Some(code), _) => Verdict::Failed(code),
        (None, End::PeerClosed(code)) => Verdict::ClientClosed(code),
        (None, End::Open) => Verdict::Open,
        (None, end) => panic!("the echo ended with {end:?} and no close frame"),
    };
    Outcome { messages, verdict }
}

/// The client's bytes to read, and somewhere to write the server's.
struct Pipe {
    input: Cursor<Vec<u8>>,
    output: Vec<u8>,
}

impl Read for Pipe {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        self.input.read(buffer)
    }
}

impl Write for Pipe {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.output.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn theirs(input: &[u8], limit: u64) -> Outcome {
    let limit = usize::try_from(limit).expect("a test limit fits in usize");
    // The same limit for frames as for messages: tungstenite's own frame limit
    // (16 MiB) is not a rule of the protocol and would only add differences.
    let config = WebSocketConfig::default().max_message_size(Some(limit)).max_frame_size(Some(limit));
    let pipe = Pipe { input: Cursor::new(input.to_vec()), output: Vec::new() };
    let mut socket = WebSocket::from_raw_socket(pipe, Role::Server, Some(config));
    let mut messages = Vec::new();
    let verdict = loop {
        match socket.read() {
            Ok(Message::Text(text)) => messages.push((true, text.as_bytes().to_vec())),
            Ok(Message::Binary(bytes)) => messages.push((false, bytes.to_vec())),
            Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => {}
            // tungstenite answers a close frame whose code may not be sent with
            // this close of its own and hands that to the application.
            Ok(Message::Close(Some(close)))
                if close.code == CloseCode::Protocol && close.reason.as_str() == "Protocol violation" =>
            {
                break Verdict::Failed(1002);
            }
            Ok(Message::Close(close)) => break Verdict::ClientClosed(close.map(|close| close.code.into())),
            // The input ran out: the connection would stay open, waiting.
            Err(Error::Protocol(ProtocolError::ResetWithoutClosingHandshake)) => break Verdict::Open,
            Err(Error::Protocol(_)) => break Verdict::Failed(1002),
            Err(Error::Utf8(_)) => break Verdict::Failed(1007),
            Err(Error::Capacity(_)) => break Verdict::Failed(1009),
            Err(err) => panic!("tungstenite failed in a way this test does not know: {err}"),
        }
    };
    Outcome { messages, verdict }
}

/// The differences between the two that are not bugs, each with its reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Explained {
    /// A 64-bit length with its most significant bit set: RFC 6455 section
    /// 5.2 says that bit must be 0, so the engine fails with 1002; tungstenite
    /// does not look at it and fails because the length is over its limit (1009).
    TopBitLength,
    /// tungstenite compares a frame's length with its limit as soon as it has
    /// the header, before it looks at the RSV bits, the opcode, the control
    /// frame rules or the mask; the engine checks the frame's form first. A
    /// frame that breaks a rule and is over the limit is 1002 here, 1009 there.
    SizeCheckedFirst,
    /// tungstenite applies its limit to every frame, control frames too; the
    /// engine's limit is on messages. With a limit under 125 bytes, a ping or
    /// close frame over the limit fails in tungstenite (1009) and is answered here.
    ControlFrameOverTheLimit,
    /// A close frame with both a code that may not be sent and a reason that
    /// is not UTF-8 breaks two rules: the engine checks the code first (1002),
    /// tungstenite the reason (1007). Either answer is right.
    CloseCheckOrder,
    /// Close code 1014 (Bad Gateway) is in the IANA registry that RFC 6455
    /// section 7.4.2 points to; tungstenite treats it as not allowed and
    /// answers 1002, while the engine accepts it.
    CloseCode1014,
}

/// Why `ours` and `theirs` differ on `frames`, if the difference is one of
/// the known ones and nothing else differs.
fn explain(frames: &[Frame], limit: u64, ours: &Outcome, theirs: &Outcome) -> Option<Explained> {
    let expected = expect(frames, limit);
    let model_end = expected.ended_at.unwrap_or(frames.len());
    let declared = |frame: &Frame| match frame.length {
        Length::TopBit => u64::MAX,
        _ => frame.payload.len() as u64,
    };
    // tungstenite stops at the first frame over its limit, if that comes
    // no later than where the engine stops.
    let over = frames.iter().position(|frame| declared(frame) > limit).filter(|index| *index <= model_end);
    if let Some(index) = over {
        let frame = &frames[index];
        // Up to that frame both read the same messages.
        if theirs.verdict != Verdict::Failed(1009) || !ours.messages.starts_with(&theirs.messages) {
            return None;
        }
        let control = frame.first & 0x08 != 0;
        return match ours.verdict {
            _ if frame.length == Length::TopBit && ours.verdict == Verdict::Failed(1002) && index == model_end => {
                Some(Explained::TopBitLength)
            }
            Verdict::Failed(1002 | 1007) if index == model_end => Some(Explained::SizeCheckedFirst),
            _ if control && index < model_end => Some(Explained::ControlFrameOverTheLimit),
            _ if control && expected.end == ExpectedEnd::ClientClosed(ours.verdict_code()) => {
                Some(Explained::ControlFrameOverTheLimit)
            }
            _ => None,
        };
    }
    let last_word_codes =
        expected.ended_at.map(|index| &frames[index]).and_then(|frame| match frame.payload.as_slice() {
            [high, low, reason @ ..] if frame.first == 0x88 => Some((u16::from_be_bytes([*high, *low]), reason)),
            _ => None,
        });
    if let Some((code, reason)) = last_word_codes {
        let code_refused = !matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999);
        if code_refused
            && std::str::from_utf8(reason).is_err()
            && (ours.verdict, theirs.verdict) == (Verdict::Failed(1002), Verdict::Failed(1007))
            && ours.messages == theirs.messages
        {
            return Some(Explained::CloseCheckOrder);
        }
    }
    let closed_with_1014 = expected.end == ExpectedEnd::ClientClosed(Some(1014));
    if closed_with_1014
        && ours.verdict == Verdict::ClientClosed(Some(1014))
        && theirs.verdict == Verdict::Failed(1002)
        && ours.messages == theirs.messages
    {
        return Some(Explained::CloseCode1014);
    }
    None
}

impl Outcome {
    /// The client's close code, when the client closed.
    fn verdict_code(&self) -> Option<u16> {
        match self.verdict {
            Verdict::ClientClosed(code) => code,
            _ => None,
        }
    }
}

/// Compares the two on `frames`; the explanation, if they differ.
fn compare(frames: &[Frame], limit: u64) -> Result<Option<Explained>, String> {
    let input = encode(frames);
    let (ours, theirs) = (ours(&input, limit), theirs(&input, limit));
    if ours == theirs {
        return Ok(None);
    }
    explain(frames, limit, &ours, &theirs)
        .map(Some)
        .ok_or_else(|| format!("an unexplained difference:\nours:   {ours:?}\ntheirs: {theirs:?}"))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_engine_and_tungstenite_agree_or_differ_only_in_explained_ways(
        frames in streams::frames(),
        limit in streams::limit(),
    ) {
        compare(&frames, limit).map_err(TestCaseError::fail)?;
    }
}

// ── Each explained difference, shown ──

const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

fn text(payload: &str) -> Frame {
    Frame::new(0x81, payload.as_bytes().to_vec(), MASK)
}

#[test]
fn agreement_on_ordinary_traffic_and_each_violation_class() {
    let close = |code: u16| Frame::new(0x88, code.to_be_bytes().to_vec(), MASK);
    let cases: Vec<(Vec<Frame>, Verdict)> = vec![
        (vec![text("hello"), Frame::new(0x82, vec![1, 2, 3], MASK), close(1000)], Verdict::ClientClosed(Some(1000))),
        (vec![Frame::new(0x01, b"frag".to_vec(), MASK), Frame::new(0x80, b"ment".to_vec(), MASK)], Verdict::Open),
        (vec![text("a"), Frame::new(0x83, Vec::new(), MASK)], Verdict::Failed(1002)),
        (vec![text("a"), Frame::new(0x81, vec![0xff], MASK)], Verdict::Failed(1007)),
        (vec![text("a"), Frame::new(0x82, vec![0; 20], MASK)], Verdict::Failed(1009)),
        (vec![close(999)], Verdict::Failed(1002)),
    ];
    for (frames, verdict) in cases {
        let input = encode(&frames);
        assert_eq!(ours(&input, 10), theirs(&input, 10), "{frames:?}");
        assert_eq!(ours(&input, 10).verdict, verdict, "{frames:?}");
    }
}

#[test]
fn a_length_with_its_top_bit_set_is_1002_here_and_1009_in_tungstenite() {
    let frames = [Frame { length: Length::TopBit, ..text("x") }];
    assert_eq!(compare(&frames, 1 << 20), Ok(Some(Explained::TopBitLength)));
    let input = encode(&frames);
    assert_eq!(ours(&input, 1 << 20).verdict, Verdict::Failed(1002));
    assert_eq!(theirs(&input, 1 << 20).verdict, Verdict::Failed(1009));
}

#[test]
fn a_broken_frame_over_the_limit_is_1002_here_and_1009_in_tungstenite() {
    let reserved_bit = Frame::new(0xc2, vec![0; 40], MASK);
    assert_eq!(compare(&[reserved_bit], 10), Ok(Some(Explained::SizeCheckedFirst)));
    let unmasked = Frame { mask: None, ..Frame::new(0x82, vec![0; 40], MASK) };
    assert_eq!(compare(&[unmasked], 10), Ok(Some(Explained::SizeCheckedFirst)));
    let long_ping = Frame::new(0x89, vec![0; 126], MASK);
    assert_eq!(compare(&[long_ping], 100), Ok(Some(Explained::SizeCheckedFirst)));
}

#[test]
fn a_control_frame_over_a_small_limit_is_answered_here_and_fails_in_tungstenite() {
    let ping = Frame::new(0x89, vec![7; 20], MASK);
    assert_eq!(compare(&[ping, text("ok")], 10), Ok(Some(Explained::ControlFrameOverTheLimit)));
    let input = encode(&[Frame::new(0x89, vec![7; 20], MASK), text("ok")]);
    assert_eq!(ours(&input, 10), Outcome { messages: vec![(true, b"ok".to_vec())], verdict: Verdict::Open });
    let close = Frame::new(0x88, [&1000u16.to_be_bytes()[..], &[b'x'; 20]].concat(), MASK);
    assert_eq!(compare(&[close], 10), Ok(Some(Explained::ControlFrameOverTheLimit)));
}

#[test]
fn a_close_frame_breaking_two_rules_gets_either_code() {
    let payload = [&1015u16.to_be_bytes()[..], &[0xce, 0xba, 0xff]].concat();
    let frames = [Frame::new(0x88, payload, MASK)];
    assert_eq!(compare(&frames, 1 << 20), Ok(Some(Explained::CloseCheckOrder)));
}

#[test]
fn close_code_1014_is_accepted_here_and_refused_by_tungstenite() {
    let frames = [text("hi"), Frame::new(0x88, 1014u16.to_be_bytes().to_vec(), MASK)];
    assert_eq!(compare(&frames, 1 << 20), Ok(Some(Explained::CloseCode1014)));
}
