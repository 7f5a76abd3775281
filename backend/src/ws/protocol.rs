//! The server side of RFC 6455 as a pure state machine: bytes from the client
//! go in; pongs and close frames go out through the [`Output`], and each checked
//! piece of a data message goes to the endpoint's [`Stage`] (which on `/ws`
//! echoes it at once).
//!
//! Data is handed on as it arrives, piece by piece, so no message is ever held
//! whole by the engine and a connection's memory does not grow with message
//! size. Text is handed on only once it is known to be valid UTF-8. The stage
//! is called in the order the client's frames arrive, before anything later in
//! the same read is parsed, so a stage that closes or drops the connection
//! acts exactly where the client's bytes say it should.

use tokio::time::Instant;

use super::deflate::Inflater;
use super::frame::{
    code, is_valid_close_code, unmask, MAX_CONTROL, OP_BINARY, OP_CLOSE, OP_CONTINUATION, OP_PING, OP_PONG, OP_TEXT,
};
use super::output::{Output, Piece};
use super::stage::{Action, Stage};
use super::utf8::{InvalidUtf8, Utf8Stream};

/// What the connection should do after a call to [`Protocol::feed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Keep reading. (If the server has sent a close frame, because the client
    /// broke a rule or the stage closed, the output says so, and only the
    /// client's close reply matters now.)
    Continue,
    /// The client's close frame arrived (its code, if it gave one). If the server
    /// had not closed first, the reply is already in the output; either way the
    /// server now ends TCP.
    PeerClosed(Option<u16>),
    /// Nothing sensible can follow (a violation after the server's close): end TCP.
    Abort,
    /// The stage asked to end TCP without a close frame.
    Drop,
}

/// One connection's protocol state.
#[derive(Debug)]
pub(crate) struct Protocol {
    max_message_bytes: u64,
    /// The header bytes of a frame not yet complete.
    header: [u8; 14],
    header_len: u8,
    frame: Option<Frame>,
    message: Option<Message>,
    /// A control frame's payload being collected.
    control: [u8; MAX_CONTROL],
    control_len: u8,
    /// A pong arrived since the last call to [`Protocol::take_pong`].
    pong: bool,
    /// The decompressor, when permessage-deflate was agreed.
    inflater: Option<Inflater>,
}

#[derive(Debug, Clone, Copy)]
struct Frame {
    opcode: u8,
    fin: bool,
    /// RSV1: the first frame of a compressed message.
    compressed: bool,
    mask: [u8; 4],
    /// Where in the mask the next payload byte is.
    mask_offset: usize,
    remaining: u64,
    /// The payload is read and dropped (a data frame arriving while closing,
    /// or the rest of a frame whose header broke a rule).
    skip: bool,
}

#[derive(Debug)]
struct Message {
    text: bool,
    /// Sent compressed (RSV1 on its first frame).
    compressed: bool,
    /// Payload bytes so far (decompressed, for a compressed message).
    size: u64,
    /// Payload bytes on the wire so far, for a compressed message.
    wire: u64,
    /// Bytes of the message's frames on the wire so far, headers included.
    on_wire: u64,
    utf8: Utf8Stream,
    /// Whether a piece of this message was handed to the stage.
    delivered: bool,
}

/// A protocol violation: the close code and the reason sent with it.
struct Violation(u16, String);

impl Violation {
    fn protocol(reason: impl Into<String>) -> Violation {
        Violation(code::PROTOCOL_ERROR, reason.into())
    }
}

/// What went wrong while reading a frame.
enum Problem {
    /// The client broke the protocol; its close reply may still come.
    Violation(Violation),
    /// The client's own close frame was malformed: it will send no other, so
    /// the server answers with its close code and ends the connection.
    BadClose(Violation),
}

impl From<Violation> for Problem {
    fn from(violation: Violation) -> Problem {
        Problem::Violation(violation)
    }
}

/// The violation for a message over the size limit.
fn too_big(limit: u64) -> Violation {
    Violation(code::TOO_BIG, format!("message too big: the limit is {limit} bytes"))
}

enum Step {
    More,
    NeedInput,
    Closed(Option<u16>),
    Drop,
}

/// Why handing on a decompressed message stopped early.
enum Halt {
    Violation(Violation),
    Drop,
    Closed,
}

impl Protocol {
    /// A fresh connection accepting messages up to `max_message_bytes`, with
    /// `inflater` when compression was agreed.
    pub(crate) fn new(max_message_bytes: u64, inflater: Option<Inflater>) -> Protocol {
        Protocol {
            max_message_bytes,
            header: [0; 14],
            header_len: 0,
            frame: None,
            message: None,
            control: [0; MAX_CONTROL],
            control_len: 0,
            pong: false,
            inflater,
        }
    }

    /// Whether a pong arrived since the last call; clears the flag.
    pub(crate) fn take_pong(&mut self) -> bool {
        std::mem::take(&mut self.pong)
    }

    /// Processes bytes from the client (unmasking them in place): answers
    /// control frames through `out` and hands each checked piece of data to
    /// `stage`, at `now`.
    pub(crate) fn feed<S: Stage>(
        &mut self,
        input: &mut [u8],
        out: &mut Output,
        stage: &mut S,
        now: Instant,
    ) -> Outcome {
        let mut position = 0;
        loop {
            // A violation after the server's close frame leaves nothing to wait for.
            let closing = out.is_closed();
            let result = match self.frame {
                None if position == input.len() => return Outcome::Continue,
                None => self.read_header(input, &mut position, closing),
                Some(_) => self.read_payload(input, &mut position, out, stage, now),
            };
            match result {
                Ok(Step::More) => {}
                Ok(Step::NeedInput) => return Outcome::Continue,
                Ok(Step::Closed(close_code)) => return Outcome::PeerClosed(close_code),
                Ok(Step::Drop) => return Outcome::Drop,
                Err(_) if closing => return Outcome::Abort,
                Err(Problem::BadClose(Violation(close_code, reason))) => {
                    out.close(close_code, &reason);
                    return Outcome::PeerClosed(None);
                }
                // The rest of the input may hold the client's close reply.
                Err(Problem::Violation(Violation(close_code, reason))) => out.close(close_code, &reason),
            }
        }
    }

    fn read_header(&mut self, input: &[u8], position: &mut usize, closing: bool) -> Result<Step, Problem> {
        let need = |header: &[u8]| match header.len() {
            0 | 1 => 2,
            _ => {
                2 + 4
                    + match header[1] & 0x7f {
                        126 => 2,
                        127 => 8,
                        _ => 0,
                    }
            }
        };
        loop {
            let have = usize::from(self.header_len);
            if have == 2 && self.header[1] & 0x80 == 0 {
                // Unmasked: the header's shape is unknown, so nothing after it can
                // be trusted; closing mode will give up at the next violation.
                self.header_len = 0;
                return Err(Violation::protocol("client frames must be masked").into());
            }
            let wanted = need(&self.header[..have]);
            if have == wanted {
                break;
            }
            // Copy as much of the header as is known to be needed at once.
            let take = (wanted - have).min(input.len() - *position);
            if take == 0 {
                return Ok(Step::NeedInput);
            }
            self.header[have..have + take].copy_from_slice(&input[*position..*position + take]);
            self.header_len += take as u8;
            *position += take;
        }
        let header = self.header;
        let header_len = usize::from(self.header_len);
        self.header_len = 0;
        let (first, second) = (header[0], header[1]);
        let (length, mask_at) = match second & 0x7f {
            126 => (u64::from(u16::from_be_bytes([header[2], header[3]])), 4),
            127 => (
                u64::from_be_bytes([
                    header[2], header[3], header[4], header[5], header[6], header[7], header[8], header[9],
                ]),
                10,
            ),
            short => (u64::from(short), 2),
        };
        debug_assert_eq!(mask_at + 4, header_len);
        let frame = Frame {
            opcode: first & 0x0f,
            fin: first & 0x80 != 0,
            compressed: first & 0x40 != 0,
            mask: [header[mask_at], header[mask_at + 1], header[mask_at + 2], header[mask_at + 3]],
            mask_offset: 0,
            remaining: length,
            // While closing, data is dropped; control frames still count.
            skip: closing && first & 0x08 == 0,
        };
        // After a violation in this header, the rest of the frame is skipped
        // so that the client's close reply can still be read.
        self.frame = Some(Frame { skip: true, ..frame });
        // RSV1 marks a compressed message, on its first frame only.
        let compressed = first & 0x40 != 0;
        let compressible = self.inflater.is_some() && matches!(first & 0x0f, OP_TEXT | OP_BINARY);
        if first & 0x30 != 0 || (compressed && !compressible) {
            let reason = match self.inflater {
                Some(_) => "RSV1 is only for the first frame of a compressed message; RSV2 and RSV3 are unused",
                None => "reserved bits set without a negotiated extension",
            };
            return Err(Violation::protocol(reason).into());
        }
        if length >> 63 != 0 {
            return Err(Violation::protocol("frame length has its most significant bit set").into());
        }
        match frame.opcode {
            OP_CLOSE | OP_PING | OP_PONG => {
                let problem = |violation| match frame.opcode {
                    OP_CLOSE => Problem::BadClose(violation),
                    _ => Problem::Violation(violation),
                };
                if !frame.fin {
                    return Err(problem(Violation::protocol("control frames must not be fragmented")));
                }
                if length > MAX_CONTROL as u64 {
                    return Err(problem(Violation::protocol("control frame payload over 125 bytes")));
                }
                self.control_len = 0;
            }
            OP_TEXT | OP_BINARY | OP_CONTINUATION if !closing => self.start_data(&frame, header_len)?,
            OP_TEXT | OP_BINARY | OP_CONTINUATION => {}
            reserved => return Err(Violation::protocol(format!("reserved opcode {reserved:#x}")).into()),
        }
        self.frame = Some(frame);
        Ok(Step::More)
    }

    /// Checks a data frame against the message in progress and the size limit.
    fn start_data(&mut self, frame: &Frame, header_len: usize) -> Result<(), Violation> {
        let message = match (frame.opcode, self.message.as_mut()) {
            (OP_CONTINUATION, Some(message)) => message,
            (OP_CONTINUATION, None) => {
                return Err(Violation::protocol("continuation frame without a message to continue"));
            }
            (_, Some(_)) => {
                return Err(Violation::protocol("a new message began before the previous one was finished"));
            }
            (opcode, None) => self.message.insert(Message {
                text: opcode == OP_TEXT,
                compressed: frame.compressed,
                size: 0,
                wire: 0,
                on_wire: 0,
                utf8: Utf8Stream::default(),
                delivered: false,
            }),
        };
        message.on_wire = message.on_wire.saturating_add(header_len as u64).saturating_add(frame.remaining);
        if message.compressed {
            // What matters is the size once decompressed, counted as it is
            // produced; the wire size is bounded only loosely, allowing for
            // data that compression makes a little larger.
            message.wire = message.wire.saturating_add(frame.remaining);
            if message.wire > self.max_message_bytes.saturating_add(self.max_message_bytes / 8).saturating_add(1024) {
                return Err(too_big(self.max_message_bytes));
            }
            return Ok(());
        }
        message.size = message.size.saturating_add(frame.remaining);
        if message.size > self.max_message_bytes {
            return Err(too_big(self.max_message_bytes));
        }
        Ok(())
    }

    fn read_payload<S: Stage>(
        &mut self,
        input: &mut [u8],
        position: &mut usize,
        out: &mut Output,
        stage: &mut S,
        now: Instant,
    ) -> Result<Step, Problem> {
        let frame = self.frame.as_mut().expect("a frame is being read");
        let available = (input.len() - *position) as u64;
        let take = frame.remaining.min(available) as usize;
        let piece = &mut input[*position..*position + take];
        *position += take;
        frame.remaining -= take as u64;
        let frame = *frame;
        let frame_done = frame.remaining == 0;
        // A frame that is not done has used up the input.
        let next = if frame_done { Step::More } else { Step::NeedInput };
        if frame_done {
            self.frame = None;
        }
        if frame.skip {
            return Ok(next);
        }
        unmask(piece, frame.mask, frame.mask_offset);
        if let Some(current) = self.frame.as_mut() {
            current.mask_offset = (frame.mask_offset + take) % 4;
        }
        if frame.opcode & 0x8 != 0 {
            let start = usize::from(self.control_len);
            self.control[start..start + take].copy_from_slice(piece);
            self.control_len += take as u8;
            if !frame_done {
                return Ok(next);
            }
            return self.control_frame(frame.opcode, out);
        }
        // A stage may have closed since this frame began: its rest is dropped.
        if out.is_closed() {
            return Ok(next);
        }
        let ends_message = frame_done && frame.fin;
        if self.message.as_ref().is_some_and(|message| message.compressed) {
            return match self.inflate(piece, ends_message, out, stage, now) {
                Ok(()) | Err(Halt::Closed) => Ok(next),
                Err(Halt::Drop) => Ok(Step::Drop),
                Err(Halt::Violation(violation)) => Err(violation.into()),
            };
        }
        match self.deliver(piece, ends_message, out, stage, now)? {
            Action::Continue => Ok(next),
            Action::Drop => Ok(Step::Drop),
        }
    }

    /// Decompresses a piece of a compressed message and hands each step of
    /// the result on, checking the size limit as the bytes are produced.
    fn inflate<S: Stage>(
        &mut self,
        piece: &[u8],
        ends_message: bool,
        out: &mut Output,
        stage: &mut S,
        now: Instant,
    ) -> Result<(), Halt> {
        let Some(mut inflater) = self.inflater.take() else {
            return Err(Halt::Violation(Violation::protocol("a compressed frame without a negotiated extension")));
        };
        let limit = self.max_message_bytes;
        let result = inflater.inflate(
            piece,
            ends_message,
            |chunk| {
                if out.is_closed() {
                    return Err(Halt::Closed);
                }
                // The part within the limit is handed on (and checked) first, as
                // it would be had the output come in smaller steps; then 1009.
                let message = self.message.as_mut().expect("a message is in progress");
                let room = usize::try_from(limit.saturating_sub(message.size)).unwrap_or(usize::MAX);
                let within = &chunk[..chunk.len().min(room)];
                message.size = message.size.saturating_add(within.len() as u64);
                if self.deliver(within, false, out, stage, now).map_err(Halt::Violation)? == Action::Drop {
                    return Err(Halt::Drop);
                }
                if within.len() < chunk.len() {
                    return Err(Halt::Violation(too_big(limit)));
                }
                Ok(())
            },
            |_| Halt::Violation(Violation(code::INVALID_PAYLOAD, "compressed data that does not inflate".into())),
        );
        self.inflater = Some(inflater);
        result?;
        if !ends_message || out.is_closed() {
            return Ok(());
        }
        match self.deliver(&[], true, out, stage, now).map_err(Halt::Violation)? {
            Action::Continue => Ok(()),
            Action::Drop => Err(Halt::Drop),
        }
    }

    /// Checks one piece of a data message and hands it to the stage.
    fn deliver<S: Stage>(
        &mut self,
        piece: &[u8],
        ends_message: bool,
        out: &mut Output,
        stage: &mut S,
        now: Instant,
    ) -> Result<Action, Violation> {
        let message = self.message.as_mut().expect("a message is in progress");
        let invalid = |_: InvalidUtf8| Violation(code::INVALID_PAYLOAD, "text message is not valid UTF-8".into());
        let (held, held_len, body) = if message.text {
            let checked = message.utf8.check(piece).map_err(invalid)?;
            if ends_message && !message.utf8.is_at_boundary() {
                return Err(invalid(InvalidUtf8));
            }
            (checked.completed, checked.completed_len, &piece[checked.complete_from..checked.complete_to])
        } else {
            ([0; 4], 0, piece)
        };
        if held_len + body.len() == 0 && !ends_message {
            return Ok(Action::Continue);
        }
        let piece = Piece {
            text: message.text,
            compressed: message.compressed,
            on_wire: message.on_wire,
            first: !message.delivered,
            last: ends_message,
            parts: [&held[..held_len], body],
        };
        message.delivered = true;
        if ends_message {
            self.message = None;
        }
        Ok(stage.data(piece, out, now))
    }

    fn control_frame(&mut self, opcode: u8, out: &mut Output) -> Result<Step, Problem> {
        let payload = &self.control[..usize::from(self.control_len)];
        match opcode {
            OP_PING => out.pong(payload),
            OP_PONG => self.pong = true,
            OP_CLOSE => {
                let close_code = match payload {
                    [] => None,
                    [_] => return Err(Problem::BadClose(Violation::protocol("close frame with a one-byte payload"))),
                    [high, low, reason @ ..] => {
                        let close_code = u16::from_be_bytes([*high, *low]);
                        if !is_valid_close_code(close_code) {
                            let reason = format!("invalid close code {close_code}");
                            return Err(Problem::BadClose(Violation::protocol(reason)));
                        }
                        if std::str::from_utf8(reason).is_err() {
                            let reason = "close reason is not valid UTF-8".into();
                            return Err(Problem::BadClose(Violation(code::INVALID_PAYLOAD, reason)));
                        }
                        Some(close_code)
                    }
                };
                // Echo the client's code and reason back, completing the
                // handshake (nothing is sent if the server closed first).
                out.reply_close(payload);
                return Ok(Step::Closed(close_code));
            }
            _ => {}
        }
        Ok(Step::More)
    }
}

#[cfg(test)]
mod tests {
    use super::super::frame::{client_frame, parse_server_frames};
    use super::super::stage::Echo;
    use super::*;

    const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

    /// A masked client frame.
    fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
        client_frame(first, payload, MASK)
    }

    /// One connection's engine on the plain echo.
    struct Connection {
        protocol: Protocol,
        out: Output,
    }

    impl Connection {
        fn new(max_message_bytes: u64) -> Connection {
            Connection { protocol: Protocol::new(max_message_bytes, None), out: Output::new(Vec::new(), None) }
        }

        fn feed(&mut self, bytes: &[u8]) -> Outcome {
            self.protocol.feed(&mut bytes.to_vec(), &mut self.out, &mut Echo, Instant::now())
        }

        /// The server frames written so far, as (first byte, payload).
        fn frames(&self) -> Vec<(u8, Vec<u8>)> {
            let frames = parse_server_frames(self.out.bytes()).unwrap();
            frames.into_iter().map(|frame| (frame.first, frame.payload)).collect()
        }
    }

    /// Feeds `input` in pieces of `chunk` bytes; returns the output frames and the last outcome.
    fn run(input: &[u8], chunk: usize) -> (Vec<(u8, Vec<u8>)>, Outcome, Connection) {
        let mut connection = Connection::new(1 << 20);
        let mut outcome = Outcome::Continue;
        for piece in input.chunks(chunk.max(1)) {
            outcome = connection.feed(piece);
            if outcome != Outcome::Continue {
                break;
            }
        }
        (connection.frames(), outcome, connection)
    }

    /// The payloads of the echoed frames, joined into messages.
    fn messages(frames: &[(u8, Vec<u8>)]) -> Vec<(u8, Vec<u8>)> {
        let mut messages: Vec<(u8, Vec<u8>)> = Vec::new();
        let mut open = false;
        for (first, payload) in frames {
            match first & 0x0f {
                0 => messages.last_mut().unwrap().1.extend_from_slice(payload),
                opcode @ (1 | 2) => {
                    assert!(!open, "a new message inside another");
                    messages.push((opcode, payload.clone()));
                }
                _ => continue,
            }
            open = first & 0x80 == 0;
        }
        assert!(!open, "the last message is unfinished");
        messages
    }

    #[test]
    fn echoes_text_and_binary_whatever_the_read_sizes() {
        let text = "κόσμε ✓ echo".as_bytes();
        let binary: Vec<u8> = (0..=255).collect();
        let mut input = frame(0x81, text);
        input.extend(frame(0x82, &binary));
        input.extend(frame(0x81, b""));
        for chunk in [1, 2, 3, 7, 64, 1000] {
            let (frames, outcome, _) = run(&input, chunk);
            assert_eq!(outcome, Outcome::Continue);
            let expected = vec![(1, text.to_vec()), (2, binary.clone()), (1, vec![])];
            assert_eq!(messages(&frames), expected, "reads of {chunk} bytes");
        }
    }

    #[test]
    fn a_whole_frame_in_one_read_is_echoed_as_one_frame() {
        let (frames, _, _) = run(&frame(0x81, b"hello"), 1000);
        assert_eq!(frames, [(0x81, b"hello".to_vec())]);
    }

    #[test]
    fn fragmented_messages_with_pings_between_are_echoed_whole_and_pings_answered() {
        let mut input = frame(0x01, b"frag");
        input.extend(frame(0x89, b"ping!"));
        input.extend(frame(0x00, b""));
        input.extend(frame(0x00, b"men"));
        input.extend(frame(0x80, b"ted"));
        let (frames, _, _) = run(&input, 1000);
        assert!(frames.contains(&(0x8a, b"ping!".to_vec())));
        assert_eq!(messages(&frames), [(1, b"fragmented".to_vec())]);
    }

    #[test]
    fn the_clients_close_is_echoed_with_its_code_and_reason() {
        let mut payload = 4001u16.to_be_bytes().to_vec();
        payload.extend_from_slice(b"bye");
        let (frames, outcome, _) = run(&frame(0x88, &payload), 1000);
        assert_eq!(frames, [(0x88, payload)]);
        assert_eq!(outcome, Outcome::PeerClosed(Some(4001)));
        let (frames, outcome, _) = run(&frame(0x88, b""), 1000);
        assert_eq!(frames, [(0x88, vec![])]);
        assert_eq!(outcome, Outcome::PeerClosed(None));
    }

    #[test]
    fn violations_get_the_right_close_code() {
        let close = |code: u16| {
            let mut payload = code.to_be_bytes().to_vec();
            payload.extend_from_slice(b"x");
            payload
        };
        let unmasked = vec![0x81, 0x02, b'h', b'i'];
        let cases: Vec<(Vec<u8>, u16)> = vec![
            (unmasked, 1002),
            (frame(0xc1, b"rsv1"), 1002),
            (frame(0x83, b""), 1002),
            (frame(0x8b, b""), 1002),
            (frame(0x09, b""), 1002),
            (frame(0x89, &[0; 126]), 1002),
            (frame(0x80, b"orphan"), 1002),
            ([frame(0x01, b"a"), frame(0x81, b"b")].concat(), 1002),
            (frame(0x88, &[3]), 1002),
            (frame(0x88, &close(1005)), 1002),
            (frame(0x88, &close(999)), 1002),
            (frame(0x88, &close(5000)), 1002),
            (frame(0x88, &[0x03, 0xe8, 0xff]), 1007),
            (frame(0x81, &[0xce, 0xba, 0xff]), 1007),
            ([frame(0x01, &[0xce]), frame(0x80, b"")].concat(), 1007),
        ];
        for (input, code) in cases {
            let (frames, outcome, connection) = run(&input, 1000);
            let expected = match input[0] & 0x0f {
                // A bad close frame is the client's last word: no reply will follow.
                0x8 => Outcome::PeerClosed(None),
                // After an unmasked frame nothing can be parsed, so the server gives
                // up at once rather than wait for a reply it cannot recognise.
                _ if input[1] & 0x80 == 0 => Outcome::Abort,
                // Otherwise the server waits for the client's close reply.
                _ => Outcome::Continue,
            };
            assert_eq!(outcome, expected, "{input:x?}");
            assert_eq!(connection.out.server_close_code(), Some(code), "{input:x?}");
            let (first, payload) = frames.last().unwrap();
            assert_eq!(*first, 0x88);
            assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), code);
        }
    }

    #[test]
    fn a_message_one_byte_over_the_limit_gets_1009_before_any_of_it_is_echoed() {
        let mut connection = Connection::new(10);
        assert_eq!(connection.feed(&frame(0x82, &[1; 10])), Outcome::Continue);
        connection.out.written();
        let over = [frame(0x02, &[1; 6]), frame(0x80, &[1; 5])].concat();
        assert_eq!(connection.feed(&over), Outcome::Continue);
        assert_eq!(connection.out.server_close_code(), Some(1009));
        let frames = connection.frames();
        // The first fragment was within the limit and was echoed; then the close.
        assert_eq!(frames[0], (0x02, vec![1; 6]));
        assert_eq!(frames[1].0, 0x88);
        assert!(String::from_utf8_lossy(&frames[1].1[2..]).contains("limit is 10 bytes"));
    }

    #[test]
    fn after_a_violation_the_clients_close_reply_is_still_recognised() {
        let mut input = frame(0x83, b"reserved");
        input.extend(frame(0x88, &1002u16.to_be_bytes()));
        for split in [input.len(), frame(0x83, b"reserved").len(), 3] {
            let mut connection = Connection::new(1 << 20);
            let (first, second) = input.split_at(split);
            let mut outcomes = vec![connection.feed(first)];
            if !second.is_empty() {
                outcomes.push(connection.feed(second));
            }
            assert_eq!(outcomes.last(), Some(&Outcome::PeerClosed(Some(1002))), "split at {split}");
            assert_eq!(connection.out.server_close_code(), Some(1002));
            assert_eq!(connection.frames().len(), 1, "only the server's close frame is sent");
        }
    }

    #[test]
    fn a_frame_skipped_while_closing_waits_for_the_rest_of_its_payload() {
        let mut connection = Connection::new(1 << 20);
        let bad = frame(0x87, &[0; 40]);
        // The reserved opcode is seen, but only half of its payload has arrived.
        assert_eq!(connection.feed(&bad[..20]), Outcome::Continue);
        assert_eq!(connection.out.server_close_code(), Some(1002));
        assert_eq!(connection.feed(&bad[20..]), Outcome::Continue);
        assert_eq!(connection.feed(&frame(0x88, &1002u16.to_be_bytes())), Outcome::PeerClosed(Some(1002)));
    }

    #[test]
    fn a_server_close_waits_for_the_reply_and_sends_no_more_data() {
        let mut connection = Connection::new(1 << 20);
        connection.out.close(code::GOING_AWAY, "server shutting down");
        let frames = connection.frames();
        assert_eq!(frames[0].0, 0x88);
        assert_eq!(&frames[0].1[2..], b"server shutting down");
        connection.out.written();
        let mut input = frame(0x81, b"late");
        input.extend(frame(0x89, b"late ping"));
        input.extend(frame(0x88, &1001u16.to_be_bytes()));
        assert_eq!(connection.feed(&input), Outcome::PeerClosed(Some(1001)));
        assert!(connection.out.is_empty(), "nothing is echoed or replied after the server's close");
    }

    #[test]
    fn long_payloads_use_the_extended_lengths() {
        for length in [125usize, 126, 65535, 65536] {
            let payload = vec![7u8; length];
            let (frames, _, _) = run(&frame(0x82, &payload), 4096);
            assert_eq!(messages(&frames), [(2, payload)], "length {length}");
        }
    }
}
