//! `/ws/lab`: the echo, plus commands that make the server do on purpose what
//! servers otherwise do only when something goes wrong, so that every event a
//! browser can report can be seen. A text message starting with `/` is a
//! command and is not echoed; everything else is echoed as on `/ws`.
//!
//! The lab is a [`Stage`] over the same protocol engine as `/ws`, so framing,
//! UTF-8 and size rules are exactly the echo's. It reassembles each echoed
//! message (bounded by the message size limit) to tell commands from data, and
//! sends each echo as one frame. What the server says about a command (a pong
//! time, a new delay, an error) is a text message holding a JSON object whose
//! first key is `"server"`; those go out at once, never behind delayed echoes.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use super::protocol::{
    is_valid_close_code, write_header, Protocol, OP_BINARY, OP_CLOSE, OP_CONTINUATION, OP_PING, OP_TEXT,
};
use super::report::{json_value, report};
use super::stage::{Action, Stage};

/// The longest echo delay `/delay` accepts.
const MAX_DELAY_MS: u64 = 10_000;
/// Bytes of echoes that may wait in the delay at once. A client that sends
/// faster than its delay lets out is closed (1008) instead of filling memory.
const MAX_QUEUED_BYTES: usize = 1 << 20;
/// The most frames `/fragment` splits a message into.
const MAX_FRAGMENTS: usize = 64;
/// Policy violation (RFC 6455 section 7.4.1).
const POLICY_VIOLATION: u16 = 1008;

/// The commands, as `/help` lists them.
pub(crate) const COMMANDS: [&str; 6] =
    ["/close <code> [reason]", "/drop", "/delay <ms>", "/ping [text]", "/fragment <frames> <text>", "/help"];

/// A command, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Command {
    /// Send a close frame with this code and reason.
    Close { code: u16, reason: String },
    /// End TCP without a close frame.
    Drop,
    /// Hold every later echo back this many milliseconds.
    Delay(u64),
    /// Send a ping with this payload and report the pong's time.
    Ping(String),
    /// Send `text` as one message split into `frames` frames.
    Fragment { frames: usize, text: String },
    /// List the commands.
    Help,
}

/// Reads a command line; the error is the message to send back.
fn parse(line: &str) -> Result<Command, String> {
    let (name, rest) = line.split_once(' ').unwrap_or((line, ""));
    match name {
        "/close" => {
            let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
            let code: u16 = code.parse().map_err(|_| "/close needs a close code, e.g. /close 4000 bye".to_string())?;
            if !is_valid_close_code(code) {
                return Err(format!(
                    "{code} may not be sent in a close frame (RFC 6455 7.4): use 1000-1003, 1007-1014 or 3000-4999"
                ));
            }
            if reason.len() > 123 {
                return Err("a close reason must fit in 123 bytes of UTF-8".into());
            }
            Ok(Command::Close { code, reason: reason.into() })
        }
        "/drop" => Ok(Command::Drop),
        "/delay" => match rest.trim().parse::<u64>() {
            Ok(ms) if ms <= MAX_DELAY_MS => Ok(Command::Delay(ms)),
            _ => Err(format!("/delay needs a number of milliseconds from 0 to {MAX_DELAY_MS}")),
        },
        "/ping" if rest.len() <= 125 => Ok(Command::Ping(rest.into())),
        "/ping" => Err("a ping carries at most 125 bytes".into()),
        "/fragment" => {
            let (frames, text) = rest.split_once(' ').unwrap_or((rest, ""));
            match frames.parse::<usize>() {
                Ok(frames) if (2..=MAX_FRAGMENTS).contains(&frames) && text.len() >= frames => {
                    Ok(Command::Fragment { frames, text: text.into() })
                }
                _ => Err(format!(
                    "/fragment needs a frame count from 2 to {MAX_FRAGMENTS} and at least that many bytes of text, \
                     e.g. /fragment 3 hello world"
                )),
            }
        }
        "/help" => Ok(Command::Help),
        _ => {
            // Quote a little of what was sent, never all of a large message.
            let shown: String = name.chars().take(40).collect();
            Err(format!("unknown command {shown}; try /help"))
        }
    }
}

/// The lab's state on one connection.
#[derive(Debug, Default)]
pub(crate) struct Lab {
    delay: Duration,
    /// Echo frames waiting for their time, in sending order.
    queue: VecDeque<(Instant, Vec<u8>)>,
    queued_bytes: usize,
    /// The message being reassembled: its opcode and payload so far.
    message: Option<(u8, Vec<u8>)>,
    /// When the `/ping` still awaiting its pong went out.
    ping_sent: Option<Instant>,
    /// Set once a close frame is out: nothing may follow it.
    closed: bool,
}

impl Stage for Lab {
    fn outgoing(&mut self, out: &mut Vec<u8>, from: usize, protocol: &mut Protocol, now: Instant) -> Action {
        if from >= out.len() {
            return Action::Continue;
        }
        let produced = out.split_off(from);
        let mut position = 0;
        let mut action = Action::Continue;
        while action == Action::Continue && !self.closed {
            let Some(frame) = frame_at(&produced, &mut position) else {
                break;
            };
            match frame.opcode {
                OP_TEXT | OP_BINARY | OP_CONTINUATION => {
                    let (_, payload) = self.message.get_or_insert_with(|| (frame.opcode, Vec::new()));
                    payload.extend_from_slice(frame.payload);
                    if frame.fin {
                        if let Some((opcode, payload)) = self.message.take() {
                            action = self.message_done(opcode, payload, out, protocol, now);
                        }
                    }
                }
                opcode => {
                    // Pongs and close frames the protocol wrote go out at once; a
                    // close frame ends everything still waiting.
                    if opcode == OP_CLOSE {
                        self.close_down();
                    }
                    out.extend_from_slice(frame.raw);
                }
            }
        }
        action
    }

    fn deadline(&self) -> Option<Instant> {
        self.queue.front().map(|(due, _)| *due)
    }

    fn wake(&mut self, out: &mut Vec<u8>, _: &mut Protocol, now: Instant) -> Action {
        while let Some((due, _)) = self.queue.front() {
            if *due > now {
                break;
            }
            if let Some((_, frame)) = self.queue.pop_front() {
                self.queued_bytes -= frame.len();
                out.extend_from_slice(&frame);
            }
        }
        Action::Continue
    }

    fn pong(&mut self, out: &mut Vec<u8>, now: Instant) {
        if let Some(sent) = self.ping_sent.take() {
            if !self.closed {
                let micros = now.saturating_duration_since(sent).as_micros();
                report(out, &format!(r#"{{"server":"pong","ms":{}.{:03}}}"#, micros / 1000, micros % 1000));
            }
        }
    }
}

impl Lab {
    /// A whole message arrived: run it if it is a command, echo it otherwise.
    fn message_done(
        &mut self,
        opcode: u8,
        payload: Vec<u8>,
        out: &mut Vec<u8>,
        protocol: &mut Protocol,
        now: Instant,
    ) -> Action {
        if opcode == OP_TEXT && payload.first() == Some(&b'/') {
            // The protocol has already checked that text is UTF-8.
            if let Ok(line) = std::str::from_utf8(&payload) {
                return self.run(parse(line), out, protocol, now);
            }
        }
        let mut frame = Vec::with_capacity(payload.len() + 10);
        write_header(&mut frame, true, opcode, payload.len() as u64);
        frame.extend_from_slice(&payload);
        if self.delay.is_zero() && self.queue.is_empty() {
            out.extend_from_slice(&frame);
            return Action::Continue;
        }
        if self.queued_bytes + frame.len() > MAX_QUEUED_BYTES {
            protocol.close(POLICY_VIOLATION, "lab: over 1 MiB of echoes waiting in the delay", out);
            self.close_down();
            return Action::Closed(POLICY_VIOLATION);
        }
        // Never before an earlier echo, even after the delay was shortened.
        let due = self.queue.back().map_or(now + self.delay, |(last, _)| (*last).max(now + self.delay));
        self.queued_bytes += frame.len();
        self.queue.push_back((due, frame));
        Action::Continue
    }

    fn run(
        &mut self,
        command: Result<Command, String>,
        out: &mut Vec<u8>,
        protocol: &mut Protocol,
        now: Instant,
    ) -> Action {
        match command {
            Ok(Command::Close { code, reason }) => {
                protocol.close(code, &reason, out);
                self.close_down();
                return Action::Closed(code);
            }
            Ok(Command::Drop) => {
                self.close_down();
                return Action::Drop;
            }
            Ok(Command::Delay(ms)) => {
                self.delay = Duration::from_millis(ms);
                report(out, &format!(r#"{{"server":"delay","ms":{ms}}}"#));
            }
            Ok(Command::Ping(payload)) => {
                write_header(out, true, OP_PING, payload.len() as u64);
                out.extend_from_slice(payload.as_bytes());
                self.ping_sent = Some(now);
            }
            Ok(Command::Fragment { frames, text }) => {
                let bytes = text.as_bytes();
                let size = bytes.len().div_ceil(frames);
                // Pieces may split a character: the browser checks UTF-8 over the
                // whole message, which is what this shows.
                let pieces: Vec<&[u8]> = bytes.chunks(size).collect();
                for (index, piece) in pieces.iter().enumerate() {
                    let opcode = if index == 0 { OP_TEXT } else { OP_CONTINUATION };
                    write_header(out, index + 1 == pieces.len(), opcode, piece.len() as u64);
                    out.extend_from_slice(piece);
                }
                let sent = pieces.len();
                report(out, &format!(r#"{{"server":"fragmented","frames":{sent},"bytes":{}}}"#, bytes.len()));
            }
            Ok(Command::Help) => {
                report(out, &format!(r#"{{"server":"help","commands":{}}}"#, json_value(COMMANDS.to_vec())));
            }
            Err(message) => report(out, &format!(r#"{{"server":"error","message":{}}}"#, json_value(message))),
        }
        Action::Continue
    }

    /// A close frame is out (or TCP is about to end): drop what waits.
    fn close_down(&mut self) {
        self.closed = true;
        self.queue = VecDeque::new();
        self.queued_bytes = 0;
        self.message = None;
    }
}

/// One server frame inside a byte string.
struct Frame<'a> {
    fin: bool,
    opcode: u8,
    payload: &'a [u8],
    /// The whole frame, header included.
    raw: &'a [u8],
}

/// Reads the unmasked server frame at `position`, moving past it; `None` at the
/// end (the protocol writes whole frames only).
fn frame_at<'a>(bytes: &'a [u8], position: &mut usize) -> Option<Frame<'a>> {
    let rest = bytes.get(*position..)?;
    let (first, second) = (*rest.first()?, *rest.get(1)?);
    let (header, length): (usize, usize) = match second & 0x7f {
        126 => (4, usize::from(u16::from_be_bytes(rest.get(2..4)?.try_into().ok()?))),
        127 => (10, usize::try_from(u64::from_be_bytes(rest.get(2..10)?.try_into().ok()?)).ok()?),
        short => (2, usize::from(short)),
    };
    let raw = rest.get(..header.checked_add(length)?)?;
    *position += raw.len();
    Some(Frame { fin: first & 0x80 != 0, opcode: first & 0x0f, payload: &raw[header..], raw })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A masked client frame (with a zero mask, so the payload reads as sent).
    fn client(first: u8, payload: &[u8]) -> Vec<u8> {
        let mut frame = vec![first];
        match payload.len() {
            len @ 0..=125 => frame.push(0x80 | len as u8),
            len => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(len as u16).to_be_bytes());
            }
        }
        frame.extend_from_slice(&[0; 4]);
        frame.extend_from_slice(payload);
        frame
    }

    fn text(payload: &str) -> Vec<u8> {
        client(0x81, payload.as_bytes())
    }

    /// The (fin, opcode, payload) of every frame in `bytes`.
    fn frames(bytes: &[u8]) -> Vec<(bool, u8, Vec<u8>)> {
        let mut position = 0;
        let mut frames = Vec::new();
        while let Some(frame) = frame_at(bytes, &mut position) {
            frames.push((frame.fin, frame.opcode, frame.payload.to_vec()));
        }
        assert_eq!(position, bytes.len(), "trailing bytes");
        frames
    }

    /// The server's texts, in order.
    fn texts(bytes: &[u8]) -> Vec<String> {
        frames(bytes).into_iter().map(|(_, _, payload)| String::from_utf8(payload).unwrap()).collect()
    }

    struct Harness {
        lab: Lab,
        protocol: Protocol,
        start: Instant,
    }

    impl Harness {
        fn new() -> Harness {
            Harness { lab: Lab::default(), protocol: Protocol::new(1 << 20), start: Instant::now() }
        }

        /// Feeds client bytes at `ms` after the start; the output and the lab's action.
        fn send(&mut self, bytes: &[u8], ms: u64) -> (Vec<u8>, Action) {
            let mut input = bytes.to_vec();
            let mut out = Vec::new();
            self.protocol.feed(&mut input, &mut out);
            let now = self.at(ms);
            let action = self.lab.outgoing(&mut out, 0, &mut self.protocol, now);
            (out, action)
        }

        fn wake(&mut self, ms: u64) -> Vec<u8> {
            let mut out = Vec::new();
            let now = self.at(ms);
            self.lab.wake(&mut out, &mut self.protocol, now);
            out
        }

        fn at(&self, ms: u64) -> Instant {
            self.start + Duration::from_millis(ms)
        }
    }

    #[test]
    fn commands_parse_and_bad_ones_say_why() {
        assert_eq!(parse("/close 4000 bye now"), Ok(Command::Close { code: 4000, reason: "bye now".into() }));
        assert_eq!(parse("/close 1000"), Ok(Command::Close { code: 1000, reason: String::new() }));
        assert_eq!(parse("/drop"), Ok(Command::Drop));
        assert_eq!(parse("/delay 250"), Ok(Command::Delay(250)));
        assert_eq!(parse("/ping"), Ok(Command::Ping(String::new())));
        assert_eq!(parse("/ping hi"), Ok(Command::Ping("hi".into())));
        assert_eq!(parse("/fragment 3 hello"), Ok(Command::Fragment { frames: 3, text: "hello".into() }));
        assert_eq!(parse("/help"), Ok(Command::Help));
        for (line, says) in [
            ("/close", "needs a close code"),
            ("/close 1006", "may not be sent"),
            ("/close 1005 x", "may not be sent"),
            ("/close 2999", "may not be sent"),
            ("/delay", "milliseconds"),
            ("/delay 10001", "milliseconds"),
            ("/delay -1", "milliseconds"),
            ("/fragment 1 hello", "frame count"),
            ("/fragment 65 hello", "frame count"),
            ("/fragment 6 hello", "frame count"),
            ("/nope", "unknown command /nope"),
        ] {
            let error = parse(line).unwrap_err();
            assert!(error.contains(says), "{line}: {error}");
        }
        assert!(parse(&format!("/close 4000 {}", "x".repeat(124))).is_err());
        assert!(parse(&format!("/ping {}", "x".repeat(126))).is_err());
        assert!(parse(&format!("/{}", "é".repeat(1000))).unwrap_err().len() < 200);
    }

    #[test]
    fn data_is_echoed_and_commands_are_not() {
        let mut lab = Harness::new();
        let (out, action) = lab.send(&[text("hi"), client(0x82, &[1, 2]), text("/help")].concat(), 0);
        assert_eq!(action, Action::Continue);
        let frames = frames(&out);
        assert_eq!(frames[0], (true, OP_TEXT, b"hi".to_vec()));
        assert_eq!(frames[1], (true, OP_BINARY, vec![1, 2]));
        assert_eq!(frames.len(), 3);
        let help = String::from_utf8(frames[2].2.clone()).unwrap();
        assert!(help.starts_with(r#"{"server":"help","commands":["/close <code> [reason]""#), "{help}");
    }

    #[test]
    fn a_fragmented_client_message_is_reassembled_before_it_is_read() {
        let mut lab = Harness::new();
        let (out, _) = lab.send(&[client(0x01, b"/dr"), client(0x80, b"op")].concat(), 0);
        assert_eq!(out, b"");
        let mut lab = Harness::new();
        let (out, _) = lab.send(&[client(0x01, b"ab"), client(0x80, b"cd")].concat(), 0);
        assert_eq!(frames(&out), vec![(true, OP_TEXT, b"abcd".to_vec())]);
    }

    #[test]
    fn close_sends_the_code_and_reason_and_nothing_after_it() {
        let mut lab = Harness::new();
        let (out, action) = lab.send(&[text("/close 4000 bye"), text("late")].concat(), 0);
        assert_eq!(action, Action::Closed(4000));
        assert_eq!(frames(&out), vec![(true, OP_CLOSE, [&4000u16.to_be_bytes()[..], b"bye"].concat())]);
        assert_eq!(lab.protocol.server_close_code(), Some(4000));
    }

    #[test]
    fn drop_keeps_what_came_before_and_asks_to_end_tcp() {
        let mut lab = Harness::new();
        let (out, action) = lab.send(&[text("first"), text("/drop"), text("never")].concat(), 0);
        assert_eq!(action, Action::Drop);
        assert_eq!(texts(&out), ["first"]);
    }

    #[test]
    fn delayed_echoes_wait_their_time_and_keep_their_order() {
        let mut lab = Harness::new();
        let (out, _) = lab.send(&text("/delay 100"), 0);
        assert_eq!(texts(&out), [r#"{"server":"delay","ms":100}"#]);
        let (out, _) = lab.send(&text("a"), 10);
        assert_eq!(out, b"");
        assert_eq!(lab.lab.deadline(), Some(lab.at(110)));
        // Shortening the delay does not let a later echo overtake.
        let (out, _) = lab.send(&[text("/delay 0"), text("b")].concat(), 20);
        assert_eq!(texts(&out), [r#"{"server":"delay","ms":0}"#]);
        assert_eq!(lab.wake(109), b"");
        assert_eq!(texts(&lab.wake(110)), ["a", "b"]);
        assert_eq!(lab.lab.deadline(), None);
        let (out, _) = lab.send(&text("c"), 120);
        assert_eq!(texts(&out), ["c"]);
    }

    #[test]
    fn a_client_that_outruns_its_delay_is_closed_not_buffered() {
        let mut lab = Harness::new();
        lab.send(&text("/delay 10000"), 0);
        let big = client(0x82, &[0; 60_000]);
        let mut action = Action::Continue;
        for _ in 0..20 {
            action = lab.send(&big, 1).1;
            if action != Action::Continue {
                break;
            }
        }
        assert_eq!(action, Action::Closed(POLICY_VIOLATION));
        assert!(lab.lab.queued_bytes == 0 && lab.lab.deadline().is_none());
    }

    #[test]
    fn the_clients_close_goes_out_at_once_and_drops_waiting_echoes() {
        let mut lab = Harness::new();
        lab.send(&[text("/delay 50"), text("waiting")].concat(), 0);
        let (out, _) = lab.send(&client(0x88, &1000u16.to_be_bytes()), 1);
        assert_eq!(frames(&out), vec![(true, OP_CLOSE, 1000u16.to_be_bytes().to_vec())]);
        assert_eq!(lab.wake(100), b"");
    }

    #[test]
    fn ping_goes_out_and_its_pong_is_timed() {
        let mut lab = Harness::new();
        let (out, _) = lab.send(&text("/ping hello"), 0);
        assert_eq!(frames(&out), vec![(true, OP_PING, b"hello".to_vec())]);
        let mut out = Vec::new();
        lab.lab.pong(&mut out, lab.at(0) + Duration::from_micros(1_234));
        assert_eq!(texts(&out), [r#"{"server":"pong","ms":1.234}"#]);
        // Only one report per ping (keep-alive pongs are not reported).
        let mut out = Vec::new();
        lab.lab.pong(&mut out, lab.at(5));
        assert_eq!(out, b"");
    }

    #[test]
    fn fragment_splits_one_message_into_frames() {
        let mut lab = Harness::new();
        let (out, _) = lab.send(&text("/fragment 3 hello world"), 0);
        let frames = frames(&out);
        assert_eq!(
            frames[..3],
            [
                (false, OP_TEXT, b"hell".to_vec()),
                (false, OP_CONTINUATION, b"o wo".to_vec()),
                (true, OP_CONTINUATION, b"rld".to_vec()),
            ]
        );
        assert_eq!(frames[3].2, br#"{"server":"fragmented","frames":3,"bytes":11}"#);
    }

    #[test]
    fn errors_are_reported_as_json() {
        let mut lab = Harness::new();
        let (out, action) = lab.send(&text("/close 1006 \"quoted\""), 0);
        assert_eq!(action, Action::Continue);
        let report = texts(&out).remove(0);
        assert!(report.starts_with(r#"{"server":"error","message":"1006 may not be sent"#), "{report}");
        let (out, _) = lab.send(&text("/what\"ever"), 0);
        assert_eq!(texts(&out), [r#"{"server":"error","message":"unknown command /what\"ever; try /help"}"#]);
    }
}
