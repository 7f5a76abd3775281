//! `/ws/lab`: the echo, plus commands that make the server do on purpose what
//! servers otherwise do only when something goes wrong, so that every event a
//! browser can report can be seen. A text message starting with `/` is a
//! command and is not echoed; everything else is echoed as on `/ws`.
//!
//! The lab is a [`Stage`] over the same protocol engine as `/ws`, so framing,
//! UTF-8 and size rules are exactly the echo's, and it sees the client's
//! messages in the order they arrive. It reassembles each message (within the
//! message size limit) to tell commands from data, and sends each echo as one
//! frame, so that what the server says about a command (a pong time, a new
//! delay, an error: a text message holding a JSON object whose first key is
//! `"server"`) can go out at once, never inside an echo or behind delayed ones.
//!
//! Memory is counted as it is really held (buffer capacities, not payload
//! lengths) and drawn from one budget shared by every lab connection, so the
//! server's worst case is that budget, not the number of connections times the
//! per-connection bound.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::frame::{code, is_valid_close_code, OP_CONTINUATION, OP_TEXT};
use super::output::{Output, Piece};
use super::report::json_value;
use super::stage::{Action, Stage};
use crate::budget::{Charge, MemoryBudget};

/// The longest echo delay `/delay` accepts.
const MAX_DELAY_MS: u64 = 10_000;
/// Bytes that delayed echoes may hold at once on one connection, counted as
/// allocated (payload buffers and queue entries). A client that sends faster
/// than its delay lets out is closed (1008) instead of filling memory.
pub(crate) const MAX_QUEUED_BYTES: usize = 1 << 20;
/// The longest command: every command fits in a few hundred bytes.
const MAX_COMMAND_BYTES: usize = 4096;
/// The most frames `/fragment` splits a message into.
const MAX_FRAGMENTS: usize = 64;
/// How many bytes of due echoes one wake-up hands to the output, so that the
/// output stays as small as the echo loop's own batches.
const WAKE_BYTES: usize = 16 * 1024;

/// The commands, as `/help` lists them.
pub(crate) const COMMANDS: [&str; 7] = [
    "/close <code> [reason]",
    "/drop",
    "/delay <ms>",
    "/ping [text]",
    "/fragment <frames> <text>",
    "/sizes on|off",
    "/help",
];

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
    /// Report each echo's size, and its size on the wire both ways, or stop.
    Sizes(bool),
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
        "/sizes" => match rest.trim() {
            "on" => Ok(Command::Sizes(true)),
            "off" => Ok(Command::Sizes(false)),
            _ => Err("/sizes takes on or off".into()),
        },
        "/help" => Ok(Command::Help),
        _ => {
            // Quote a little of what was sent, never all of a large message.
            let shown: String = name.chars().take(40).collect();
            Err(format!("unknown command {shown}; try /help"))
        }
    }
}

/// The lab's state on one connection.
#[derive(Debug)]
pub(crate) struct Lab {
    delay: Duration,
    queue: DelayQueue,
    /// The message being reassembled: its kind, and its bytes.
    message: Option<(Kind, Vec<u8>)>,
    max_message_bytes: usize,
    /// When the `/ping` still awaiting its pong went out.
    ping_sent: Option<Instant>,
    /// Each echo is followed by a report of its sizes (`/sizes on`).
    sizes: bool,
    /// What this connection holds of the labs' shared budget.
    charge: Charge,
}

impl Stage for Lab {
    fn data(&mut self, piece: Piece<'_>, out: &mut Output, now: Instant) -> Action {
        if out.is_closed() {
            self.close_down();
            return Action::Continue;
        }
        if piece.first {
            self.message = Some((Kind { text: piece.text, compressed: piece.compressed, on_wire: 0 }, Vec::new()));
        }
        let Some((_, payload)) = self.message.as_mut() else {
            return Action::Continue;
        };
        let needed = payload.len() + piece.len();
        if needed > payload.capacity() {
            // Double as usual, but never past the message limit, and count the
            // capacity, which is what is really held.
            let capacity = needed.max(payload.capacity() * 2).min(self.max_message_bytes.max(needed));
            if !self.charge.set(self.queue.cost() + capacity) {
                return self.out_of_budget(out);
            }
            payload.reserve_exact(capacity - payload.len());
        }
        payload.extend_from_slice(piece.parts[0]);
        payload.extend_from_slice(piece.parts[1]);
        if !piece.last {
            return Action::Continue;
        }
        let Some((mut kind, payload)) = self.message.take() else {
            return Action::Continue;
        };
        kind.on_wire = piece.on_wire;
        let action = self.message_done(kind, &payload, out, now);
        drop(payload);
        // Giving memory back always succeeds.
        self.charge.set(self.queue.cost());
        action
    }

    fn deadline(&self) -> Option<Instant> {
        self.queue.next_due()
    }

    fn wake(&mut self, out: &mut Output, now: Instant) -> Action {
        if out.is_closed() {
            self.close_down();
            return Action::Continue;
        }
        let budget = out.len() + WAKE_BYTES;
        while out.len() < budget && self.queue.pop_due(now, out, self.sizes) {}
        if self.queue.is_empty() {
            // Give the queue's memory back as soon as it drains.
            self.queue = DelayQueue::new(now);
        }
        self.charge.set(self.queue.cost() + self.message.as_ref().map_or(0, |(_, payload)| payload.capacity()));
        Action::Continue
    }

    fn pong(&mut self, out: &mut Output, now: Instant) {
        if let Some(sent) = self.ping_sent.take() {
            let micros = now.saturating_duration_since(sent).as_micros();
            out.report(&format!(r#"{{"server":"pong","ms":{}.{:03}}}"#, micros / 1000, micros % 1000));
        }
    }
}

impl Lab {
    /// A lab connection accepting messages up to `max_message_bytes`, drawing
    /// its memory from `budget`.
    pub(crate) fn new(max_message_bytes: u64, budget: Arc<MemoryBudget>, now: Instant) -> Lab {
        Lab {
            delay: Duration::ZERO,
            queue: DelayQueue::new(now),
            message: None,
            max_message_bytes: usize::try_from(max_message_bytes).unwrap_or(usize::MAX),
            ping_sent: None,
            sizes: false,
            charge: Charge::new(budget),
        }
    }

    /// Bytes this connection's lab holds now.
    #[cfg(test)]
    fn held(&self) -> usize {
        self.charge.held()
    }

    /// A whole message arrived: run it if it is a command, echo it otherwise.
    fn message_done(&mut self, kind: Kind, payload: &[u8], out: &mut Output, now: Instant) -> Action {
        if kind.text && payload.first() == Some(&b'/') {
            if payload.len() > MAX_COMMAND_BYTES {
                let message = format!("a command is at most {MAX_COMMAND_BYTES} bytes");
                out.report(&format!(r#"{{"server":"error","message":{}}}"#, json_value(message)));
                return Action::Continue;
            }
            // The protocol has already checked that text is UTF-8.
            if let Ok(line) = std::str::from_utf8(payload) {
                return self.run(parse(line), out, now);
            }
        }
        if self.delay.is_zero() && self.queue.is_empty() {
            let sent = out.echo(kind.whole([&[], payload]));
            if self.sizes {
                report_sizes(out, kind, payload.len(), sent);
            }
            return Action::Continue;
        }
        // Never before an earlier echo, even after the delay was shortened.
        let due = self.queue.last_due().map_or(now + self.delay, |last| last.max(now + self.delay));
        let Some(growth) = self.queue.plan(payload.len(), MAX_QUEUED_BYTES) else {
            out.close(code::POLICY_VIOLATION, "lab: over 1 MiB of echoes waiting in the delay");
            self.close_down();
            return Action::Continue;
        };
        // The message being queued is still held while its copy is made.
        if !self.charge.set(growth.cost() + payload.len()) {
            return self.out_of_budget(out);
        }
        if self.queue.push(growth, due, kind, payload).is_err() {
            out.close(code::POLICY_VIOLATION, "lab: an echo delayed past what the queue can express");
            self.close_down();
        }
        Action::Continue
    }

    fn run(&mut self, command: Result<Command, String>, out: &mut Output, now: Instant) -> Action {
        match command {
            Ok(Command::Close { code, reason }) => {
                out.close(code, &reason);
                self.close_down();
            }
            Ok(Command::Drop) => {
                self.close_down();
                return Action::Drop;
            }
            Ok(Command::Delay(ms)) => {
                self.delay = Duration::from_millis(ms);
                out.report(&format!(r#"{{"server":"delay","ms":{ms}}}"#));
            }
            Ok(Command::Ping(payload)) => {
                out.ping(payload.as_bytes());
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
                    out.frame(index + 1 == pieces.len(), opcode, piece);
                }
                let sent = pieces.len();
                out.report(&format!(r#"{{"server":"fragmented","frames":{sent},"bytes":{}}}"#, bytes.len()));
            }
            Ok(Command::Sizes(on)) => {
                self.sizes = on;
                out.report(&format!(r#"{{"server":"sizes","on":{on}}}"#));
            }
            Ok(Command::Help) => {
                out.report(&format!(r#"{{"server":"help","commands":{}}}"#, json_value(COMMANDS.to_vec())));
            }
            Err(message) => out.report(&format!(r#"{{"server":"error","message":{}}}"#, json_value(message))),
        }
        Action::Continue
    }

    /// Every lab connection together has used up the labs' memory budget.
    fn out_of_budget(&mut self, out: &mut Output) -> Action {
        out.close(code::TRY_AGAIN_LATER, "lab: the server's lab memory is in use; try again later");
        self.close_down();
        Action::Continue
    }

    /// A close frame is out (or TCP is about to end): drop what waits and give
    /// its memory back.
    fn close_down(&mut self) {
        self.queue = DelayQueue::new(self.queue.epoch);
        self.message = None;
        self.charge.set(0);
    }
}

/// The delay queue cannot take an echo.
#[derive(Debug)]
struct Full;

/// The capacities of a [`DelayQueue`] about to grow.
#[derive(Debug, Clone, Copy)]
struct Growth {
    bytes: usize,
    entries: usize,
}

impl Growth {
    fn cost(&self) -> usize {
        self.bytes + self.entries * std::mem::size_of::<Delayed>()
    }
}

/// Echoes waiting for their time: their payloads in one byte queue and a small
/// entry each, so that a tiny echo costs its bytes and twelve more, not an
/// allocation of its own.
#[derive(Debug)]
struct DelayQueue {
    /// What due times count from.
    epoch: Instant,
    bytes: VecDeque<u8>,
    entries: VecDeque<Delayed>,
}

/// What a message was: text or binary, whether the client compressed it (its
/// echo is compressed alike), and how many bytes its frames took on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Kind {
    text: bool,
    compressed: bool,
    on_wire: u64,
}

impl Kind {
    /// The echo of a whole message of this kind, as one piece.
    fn whole<'a>(&self, parts: [&'a [u8]; 2]) -> Piece<'a> {
        Piece { text: self.text, compressed: self.compressed, on_wire: 0, first: true, last: true, parts }
    }
}

/// Reports an echo's sizes: the message, its frames on the way in, and the
/// echo's frame on the way out (compressed, when the client compressed).
fn report_sizes(out: &mut Output, kind: Kind, bytes: usize, sent: usize) {
    out.report(&format!(
        r#"{{"server":"sizes","bytes":{bytes},"wire_in":{},"wire_out":{sent},"compressed":{}}}"#,
        kind.on_wire, kind.compressed
    ));
}

/// One waiting echo.
#[derive(Debug, Clone, Copy)]
struct Delayed {
    /// Milliseconds after the queue's epoch.
    due_ms: u32,
    len: u32,
    kind: Kind,
}

impl DelayQueue {
    fn new(epoch: Instant) -> DelayQueue {
        DelayQueue { epoch, bytes: VecDeque::new(), entries: VecDeque::new() }
    }

    fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes held, by capacity.
    fn cost(&self) -> usize {
        Growth { bytes: self.bytes.capacity(), entries: self.entries.capacity() }.cost()
    }

    fn instant(&self, due_ms: u32) -> Instant {
        self.epoch + Duration::from_millis(u64::from(due_ms))
    }

    fn next_due(&self) -> Option<Instant> {
        self.entries.front().map(|entry| self.instant(entry.due_ms))
    }

    fn last_due(&self) -> Option<Instant> {
        self.entries.back().map(|entry| self.instant(entry.due_ms))
    }

    /// The capacities the queue needs to take one more echo of `len` bytes,
    /// if it then still costs at most `limit`. Nothing is allocated yet.
    fn plan(&self, len: usize, limit: usize) -> Option<Growth> {
        let grown =
            |needed: usize, capacity: usize| if needed > capacity { needed.max(capacity * 2) } else { capacity };
        let doubled = Growth {
            bytes: grown(self.bytes.len() + len, self.bytes.capacity()),
            entries: grown(self.entries.len() + 1, self.entries.capacity()),
        };
        // Doubling may overshoot the limit: settle for exactly what is needed.
        let exact = Growth {
            bytes: self.bytes.capacity().max(self.bytes.len() + len),
            entries: self.entries.capacity().max(self.entries.len() + 1),
        };
        [doubled, exact].into_iter().find(|growth| growth.cost() <= limit)
    }

    /// Queues an echo after growing to the planned capacities.
    fn push(&mut self, growth: Growth, due: Instant, kind: Kind, payload: &[u8]) -> Result<(), Full> {
        let due_ms = due.saturating_duration_since(self.epoch).as_millis();
        let (Ok(due_ms), Ok(len)) = (u32::try_from(due_ms), u32::try_from(payload.len())) else {
            return Err(Full);
        };
        self.bytes.reserve_exact(growth.bytes - self.bytes.len());
        self.entries.reserve_exact(growth.entries - self.entries.len());
        self.bytes.extend(payload);
        self.entries.push_back(Delayed { due_ms, len, kind });
        Ok(())
    }

    /// Hands the first echo to `out` if it is due at `now`, reporting its sizes
    /// after it when `sizes` is on.
    fn pop_due(&mut self, now: Instant, out: &mut Output, sizes: bool) -> bool {
        let Some(entry) = self.entries.front().copied() else {
            return false;
        };
        if self.instant(entry.due_ms) > now {
            return false;
        }
        self.entries.pop_front();
        let len = entry.len as usize;
        let (front, back) = self.bytes.as_slices();
        let parts = if front.len() >= len { [&front[..len], &[][..]] } else { [front, &back[..len - front.len()]] };
        let sent = out.echo(entry.kind.whole(parts));
        if sizes {
            report_sizes(out, entry.kind, len, sent);
        }
        self.bytes.drain(..len);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::super::frame::{client_frame, parse_server_frames, OP_BINARY, OP_CLOSE, OP_PING};
    use super::super::protocol::{Outcome, Protocol};
    use super::*;

    /// A masked client frame (with a zero mask, so the payload reads as sent).
    fn client(first: u8, payload: &[u8]) -> Vec<u8> {
        client_frame(first, payload, [0; 4])
    }

    fn text(payload: &str) -> Vec<u8> {
        client(0x81, payload.as_bytes())
    }

    /// The (fin, opcode, payload) of every frame in `bytes`.
    fn frames(bytes: &[u8]) -> Vec<(bool, u8, Vec<u8>)> {
        let frames = parse_server_frames(bytes).unwrap();
        frames.into_iter().map(|frame| (frame.first & 0x80 != 0, frame.first & 0x0f, frame.payload)).collect()
    }

    /// The server's texts, in order.
    fn texts(bytes: &[u8]) -> Vec<String> {
        frames(bytes).into_iter().map(|(_, _, payload)| String::from_utf8(payload).unwrap()).collect()
    }

    /// A lab connection's engine, stage and output, driven by hand.
    struct Harness {
        lab: Lab,
        protocol: Protocol,
        out: Output,
        start: Instant,
        budget: Arc<MemoryBudget>,
    }

    impl Harness {
        fn new() -> Harness {
            Harness::sharing(Arc::new(MemoryBudget::new(64 << 20)))
        }

        fn sharing(budget: Arc<MemoryBudget>) -> Harness {
            let start = Instant::now();
            let lab = Lab::new(1 << 20, Arc::clone(&budget), start);
            Harness { lab, protocol: Protocol::new(1 << 20, None), out: Output::new(Vec::new(), None), start, budget }
        }

        /// Feeds client bytes at `ms` after the start; what went out and the outcome.
        fn send(&mut self, bytes: &[u8], ms: u64) -> (Vec<u8>, Outcome) {
            let now = self.at(ms);
            let outcome = self.protocol.feed(&mut bytes.to_vec(), &mut self.out, &mut self.lab, now);
            (self.take(), outcome)
        }

        fn wake(&mut self, ms: u64) -> Vec<u8> {
            let now = self.at(ms);
            self.lab.wake(&mut self.out, now);
            self.take()
        }

        fn take(&mut self) -> Vec<u8> {
            let bytes = self.out.bytes().to_vec();
            self.out.written();
            bytes
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
            ("/sizes maybe", "on or off"),
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
        let (out, outcome) = lab.send(&[text("hi"), client(0x82, &[1, 2]), text("/help")].concat(), 0);
        assert_eq!(outcome, Outcome::Continue);
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
        let (out, outcome) = lab.send(&[client(0x01, b"/dr"), client(0x80, b"op")].concat(), 0);
        assert_eq!((out, outcome), (Vec::new(), Outcome::Drop));
        let mut lab = Harness::new();
        let (out, _) = lab.send(&[client(0x01, b"ab"), client(0x00, b""), client(0x80, b"cd")].concat(), 0);
        assert_eq!(frames(&out), vec![(true, OP_TEXT, b"abcd".to_vec())]);
        assert_eq!(lab.lab.held(), 0, "the reassembly buffer is given back");
    }

    #[test]
    fn close_sends_the_code_and_reason_and_nothing_after_it() {
        let mut lab = Harness::new();
        let (out, outcome) = lab.send(&[text("/close 4000 bye"), text("late")].concat(), 0);
        assert_eq!(outcome, Outcome::Continue);
        assert_eq!(frames(&out), vec![(true, OP_CLOSE, [&4000u16.to_be_bytes()[..], b"bye"].concat())]);
        assert_eq!(lab.out.server_close_code(), Some(4000));
    }

    #[test]
    fn a_close_command_and_the_clients_close_in_one_read_send_the_commanded_close() {
        let mut lab = Harness::new();
        let input = [text("/close 4000 bye"), client(0x88, &1000u16.to_be_bytes())].concat();
        let (out, outcome) = lab.send(&input, 0);
        // The client's close is the reply to the server's: the handshake is complete.
        assert_eq!(outcome, Outcome::PeerClosed(Some(1000)));
        assert_eq!(frames(&out), vec![(true, OP_CLOSE, [&4000u16.to_be_bytes()[..], b"bye"].concat())]);
    }

    #[test]
    fn a_close_command_then_a_broken_frame_still_sends_the_commanded_close() {
        let mut lab = Harness::new();
        let (out, outcome) = lab.send(&[text("/close 4001"), client(0x83, b"bad")].concat(), 0);
        assert_eq!(outcome, Outcome::Abort);
        assert_eq!(frames(&out), vec![(true, OP_CLOSE, 4001u16.to_be_bytes().to_vec())]);
    }

    #[test]
    fn drop_keeps_what_came_before_and_asks_to_end_tcp() {
        let mut lab = Harness::new();
        let (out, outcome) = lab.send(&[text("first"), text("/drop"), text("never")].concat(), 0);
        assert_eq!(outcome, Outcome::Drop);
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
        assert_eq!(lab.lab.held(), 0, "a drained queue gives its memory back");
        let (out, _) = lab.send(&text("c"), 120);
        assert_eq!(texts(&out), ["c"]);
    }

    #[test]
    fn a_client_that_outruns_its_delay_is_closed_not_buffered() {
        let mut lab = Harness::new();
        lab.send(&text("/delay 10000"), 0);
        let big = client(0x82, &[0; 60_000]);
        let mut sent = 0;
        while !lab.out.is_closed() {
            lab.send(&big, 1);
            sent += 1;
            assert!(lab.lab.held() <= MAX_QUEUED_BYTES, "holds {} bytes", lab.lab.held());
        }
        assert_eq!(lab.out.server_close_code(), Some(code::POLICY_VIOLATION));
        assert_eq!(sent, 1 + MAX_QUEUED_BYTES / 60_000, "closed at the first echo that would not fit");
        assert_eq!((lab.lab.held(), lab.lab.deadline()), (0, None));
    }

    #[test]
    fn tiny_delayed_echoes_are_counted_by_what_they_hold_and_given_back() {
        let mut lab = Harness::new();
        lab.send(&text("/delay 10000"), 0);
        let empty = client(0x82, b"");
        let batch: Vec<u8> = std::iter::repeat_n(empty.as_slice(), 1000).flatten().copied().collect();
        let mut sent = 0;
        while !lab.out.is_closed() {
            lab.send(&batch, 1);
            sent += 1000;
            // What is counted is what the queue's buffers really hold.
            let queue = &lab.lab.queue;
            let real = queue.bytes.capacity() + queue.entries.capacity() * std::mem::size_of::<Delayed>();
            assert!(lab.lab.held() >= real, "counted {} of {real}", lab.lab.held());
            assert!(lab.lab.held() <= MAX_QUEUED_BYTES);
            assert_eq!(lab.budget.used(), lab.lab.held());
        }
        // An entry per waiting empty echo: what fits is 1 MiB over its size.
        let fit = MAX_QUEUED_BYTES / std::mem::size_of::<Delayed>();
        assert!((fit - 1000..=fit + 1000).contains(&sent), "closed after {sent}, {fit} fit");
        assert_eq!(lab.budget.used(), 0, "closing gives everything back");
    }

    #[test]
    fn the_labs_share_one_budget_and_the_one_that_would_exceed_it_gets_1013() {
        let budget = Arc::new(MemoryBudget::new(350_000));
        let mut first = Harness::sharing(Arc::clone(&budget));
        let mut second = Harness::sharing(Arc::clone(&budget));
        first.send(&text("/delay 10000"), 0);
        second.send(&text("/delay 10000"), 0);
        let echo = client(0x82, &[1; 100_000]);
        first.send(&echo, 1);
        first.send(&echo, 1);
        assert!(!first.out.is_closed());
        second.send(&echo, 1);
        assert_eq!(second.out.server_close_code(), Some(code::TRY_AGAIN_LATER));
        assert!(budget.used() <= 350_000);
        drop(first);
        assert_eq!(budget.used(), 0, "a connection's memory is given back when it ends");
        let mut third = Harness::sharing(budget);
        third.send(&echo, 1);
        assert!(!third.out.is_closed());
    }

    #[test]
    fn the_clients_close_goes_out_at_once_and_drops_waiting_echoes() {
        let mut lab = Harness::new();
        lab.send(&[text("/delay 50"), text("waiting")].concat(), 0);
        let (out, _) = lab.send(&client(0x88, &1000u16.to_be_bytes()), 1);
        assert_eq!(frames(&out), vec![(true, OP_CLOSE, 1000u16.to_be_bytes().to_vec())]);
        assert_eq!(lab.wake(100), b"");
        assert_eq!(lab.lab.held(), 0);
    }

    #[test]
    fn ping_goes_out_and_its_pong_is_timed() {
        let mut lab = Harness::new();
        let (out, _) = lab.send(&text("/ping hello"), 0);
        assert_eq!(frames(&out), vec![(true, OP_PING, b"hello".to_vec())]);
        lab.lab.pong(&mut lab.out, lab.start + Duration::from_micros(1_234));
        assert_eq!(texts(&lab.take()), [r#"{"server":"pong","ms":1.234}"#]);
        // Only one report per ping (keep-alive pongs are not reported).
        let later = lab.at(5);
        lab.lab.pong(&mut lab.out, later);
        assert_eq!(lab.take(), b"");
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
    fn sizes_reports_each_echo_with_its_bytes_on_the_wire_both_ways() {
        let mut lab = Harness::new();
        let (out, _) = lab.send(&text("/sizes on"), 0);
        assert_eq!(texts(&out), [r#"{"server":"sizes","on":true}"#]);
        // Two frames of 2 + 4 mask bytes of header each, 200 bytes of payload.
        let (out, _) = lab.send(&[client(0x02, &[7; 100]), client(0x80, &[7; 100])].concat(), 1);
        let frames = frames(&out);
        assert_eq!(frames[0], (true, OP_BINARY, vec![7; 200]));
        assert_eq!(frames[1].2, br#"{"server":"sizes","bytes":200,"wire_in":212,"wire_out":204,"compressed":false}"#);
        // Delayed echoes are reported when they go out.
        lab.send(&text("/delay 10"), 2);
        let (out, _) = lab.send(&client(0x81, b"hi"), 3);
        assert!(out.is_empty());
        let out = lab.wake(13);
        assert_eq!(texts(&out)[1], r#"{"server":"sizes","bytes":2,"wire_in":8,"wire_out":4,"compressed":false}"#);
        let (out, _) = lab.send(&text("/sizes off"), 20);
        assert_eq!(texts(&out), [r#"{"server":"sizes","on":false}"#]);
    }

    #[test]
    fn errors_are_reported_as_json() {
        let mut lab = Harness::new();
        let (out, outcome) = lab.send(&text("/close 1006 \"quoted\""), 0);
        assert_eq!(outcome, Outcome::Continue);
        let report = texts(&out).remove(0);
        assert!(report.starts_with(r#"{"server":"error","message":"1006 may not be sent"#), "{report}");
        let (out, _) = lab.send(&text("/what\"ever"), 0);
        assert_eq!(texts(&out), [r#"{"server":"error","message":"unknown command /what\"ever; try /help"}"#]);
        let (out, _) = lab.send(&text(&format!("/fragment 2 {}", "x".repeat(MAX_COMMAND_BYTES))), 0);
        assert!(texts(&out)[0].contains("a command is at most 4096 bytes"));
    }
}
