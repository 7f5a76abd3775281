//! The server side of RFC 6455 as a pure state machine: bytes from the client go
//! in, the bytes to send back (echoes, pongs, close replies) come out.
//!
//! Data is echoed as it arrives, piece by piece: each piece of a client frame
//! becomes one server frame (a fragment of the same message), so no message is
//! ever held whole and a connection's memory does not grow with message size.
//! Text is passed on only once it is known to be valid UTF-8.

use super::utf8::{InvalidUtf8, Utf8Stream};

/// Close codes (RFC 6455 section 7.4).
pub(crate) mod code {
    pub(crate) const GOING_AWAY: u16 = 1001;
    pub(crate) const PROTOCOL_ERROR: u16 = 1002;
    pub(crate) const NO_STATUS: u16 = 1005;
    pub(crate) const INVALID_PAYLOAD: u16 = 1007;
    pub(crate) const TOO_BIG: u16 = 1009;
}

pub(crate) const OP_CONTINUATION: u8 = 0x0;
pub(crate) const OP_TEXT: u8 = 0x1;
pub(crate) const OP_BINARY: u8 = 0x2;
pub(crate) const OP_CLOSE: u8 = 0x8;
pub(crate) const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xa;

/// The largest control frame payload.
const MAX_CONTROL: usize = 125;

/// Messages and payload bytes echoed, by type.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) text_messages: u64,
    pub(crate) text_bytes: u64,
    pub(crate) binary_messages: u64,
    pub(crate) binary_bytes: u64,
}

/// What the connection should do after a call to [`Protocol::feed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Keep reading.
    Continue,
    /// The client's close frame arrived (its code, if it gave one). If the server
    /// had not closed first, the reply is already in the output; either way the
    /// server now ends TCP.
    PeerClosed(Option<u16>),
    /// The client broke the protocol: the server's close frame with this code is
    /// in the output; the server waits a little for the client's reply.
    Failed(u16),
    /// Nothing sensible can follow (a second violation while closing): end TCP.
    Abort,
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
    /// The server sent its close frame: only the client's close matters now.
    closing: bool,
    server_close_code: Option<u16>,
    /// Data messages echoed in full.
    messages: u64,
    /// Echoed since the last [`Protocol::take_counts`].
    counts: Counts,
    /// A pong arrived since the last call to [`Protocol::take_pong`].
    pong: bool,
}

#[derive(Debug, Clone, Copy)]
struct Frame {
    opcode: u8,
    fin: bool,
    mask: [u8; 4],
    /// Where in the mask the next payload byte is.
    mask_offset: usize,
    remaining: u64,
    /// The payload is read and dropped (a frame arriving while closing).
    skip: bool,
}

#[derive(Debug)]
struct Message {
    text: bool,
    size: u64,
    utf8: Utf8Stream,
    /// Whether the echo's first fragment (which carries the opcode) was sent.
    started: bool,
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

impl Protocol {
    /// A fresh connection accepting messages up to `max_message_bytes`.
    pub(crate) fn new(max_message_bytes: u64) -> Protocol {
        Protocol {
            max_message_bytes,
            header: [0; 14],
            header_len: 0,
            frame: None,
            message: None,
            control: [0; MAX_CONTROL],
            control_len: 0,
            closing: false,
            server_close_code: None,
            messages: 0,
            counts: Counts::default(),
            pong: false,
        }
    }

    /// Data messages echoed in full so far.
    pub(crate) fn messages(&self) -> u64 {
        self.messages
    }

    /// What was echoed since the last call.
    pub(crate) fn take_counts(&mut self) -> Counts {
        std::mem::take(&mut self.counts)
    }

    /// Whether a pong arrived since the last call; clears the flag.
    pub(crate) fn take_pong(&mut self) -> bool {
        std::mem::take(&mut self.pong)
    }

    /// Starts a server-side close: writes the close frame and from now on waits
    /// only for the client's close.
    pub(crate) fn close(&mut self, close_code: u16, reason: &str, out: &mut Vec<u8>) {
        if !self.closing {
            write_close(out, Some(close_code), reason.as_bytes());
            self.closing = true;
            self.server_close_code = Some(close_code);
        }
    }

    /// Processes bytes from the client (unmasking them in place) and appends to
    /// `out` whatever must be sent back.
    pub(crate) fn feed(&mut self, input: &mut [u8], out: &mut Vec<u8>) -> Outcome {
        let mut position = 0;
        let mut failed = None;
        loop {
            let result = match self.frame {
                None if position == input.len() => break,
                None => self.read_header(input, &mut position),
                Some(_) => self.read_payload(input, &mut position, out),
            };
            match result {
                Ok(Step::More) => {}
                Ok(Step::NeedInput) => break,
                Ok(Step::Closed(close_code)) => return Outcome::PeerClosed(close_code),
                Err(_) if self.closing => return Outcome::Abort,
                Err(Problem::BadClose(Violation(close_code, reason))) => {
                    self.close(close_code, &reason, out);
                    return Outcome::PeerClosed(None);
                }
                Err(Problem::Violation(Violation(close_code, reason))) => {
                    // The rest of the input may hold the client's close reply.
                    self.close(close_code, &reason, out);
                    failed = Some(close_code);
                }
            }
        }
        failed.map_or(Outcome::Continue, Outcome::Failed)
    }

    /// The code of the close frame the server sent, if it has sent one.
    pub(crate) fn server_close_code(&self) -> Option<u16> {
        self.server_close_code
    }

    fn read_header(&mut self, input: &[u8], position: &mut usize) -> Result<Step, Problem> {
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
            127 => (u64::from_be_bytes(header[2..10].try_into().expect("eight length bytes")), 10),
            short => (u64::from(short), 2),
        };
        debug_assert_eq!(mask_at + 4, header_len);
        let frame = Frame {
            opcode: first & 0x0f,
            fin: first & 0x80 != 0,
            mask: header[mask_at..mask_at + 4].try_into().expect("four mask bytes"),
            mask_offset: 0,
            remaining: length,
            // While closing, data is dropped; control frames still count.
            skip: self.closing && first & 0x08 == 0,
        };
        // After a violation in this header, the rest of the frame is skipped
        // so that the client's close reply can still be read.
        self.frame = Some(Frame { skip: true, ..frame });
        if first & 0x70 != 0 {
            return Err(Violation::protocol("reserved bits set without a negotiated extension").into());
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
            OP_TEXT | OP_BINARY | OP_CONTINUATION if !self.closing => self.start_data(&frame)?,
            OP_TEXT | OP_BINARY | OP_CONTINUATION => {}
            reserved => return Err(Violation::protocol(format!("reserved opcode {reserved:#x}")).into()),
        }
        self.frame = Some(frame);
        Ok(Step::More)
    }

    /// Checks a data frame against the message in progress and the size limit.
    fn start_data(&mut self, frame: &Frame) -> Result<(), Violation> {
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
                size: 0,
                utf8: Utf8Stream::default(),
                started: false,
            }),
        };
        message.size = message.size.saturating_add(frame.remaining);
        if message.size > self.max_message_bytes {
            return Err(Violation(
                code::TOO_BIG,
                format!("message too big: the limit is {} bytes", self.max_message_bytes),
            ));
        }
        Ok(())
    }

    fn read_payload(&mut self, input: &mut [u8], position: &mut usize, out: &mut Vec<u8>) -> Result<Step, Problem> {
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
        if !self.closing {
            self.echo_piece(piece, frame_done && frame.fin, out)?;
        }
        Ok(next)
    }

    /// Echoes one piece of a data message as one frame of the reply.
    fn echo_piece(&mut self, piece: &[u8], ends_message: bool, out: &mut Vec<u8>) -> Result<(), Violation> {
        let message = self.message.as_mut().expect("a message is in progress");
        let invalid = |_: InvalidUtf8| Violation(code::INVALID_PAYLOAD, "text message is not valid UTF-8".into());
        let (held, body) = if message.text {
            let checked = message.utf8.check(piece).map_err(invalid)?;
            if ends_message && !message.utf8.is_at_boundary() {
                return Err(invalid(InvalidUtf8));
            }
            (checked.completed, (checked.completed_len, &piece[checked.complete_from..checked.complete_to]))
        } else {
            ([0; 4], (0, piece))
        };
        let (held_len, body) = body;
        let length = held_len + body.len();
        if length == 0 && !ends_message {
            return Ok(());
        }
        let opcode = match (message.started, message.text) {
            (true, _) => OP_CONTINUATION,
            (false, true) => OP_TEXT,
            (false, false) => OP_BINARY,
        };
        write_header(out, ends_message, opcode, length as u64);
        out.extend_from_slice(&held[..held_len]);
        out.extend_from_slice(body);
        message.started = true;
        let (messages, bytes) = match message.text {
            true => (&mut self.counts.text_messages, &mut self.counts.text_bytes),
            false => (&mut self.counts.binary_messages, &mut self.counts.binary_bytes),
        };
        *bytes += length as u64;
        if ends_message {
            *messages += 1;
            self.message = None;
            self.messages += 1;
        }
        Ok(())
    }

    fn control_frame(&mut self, opcode: u8, out: &mut Vec<u8>) -> Result<Step, Problem> {
        let payload = &self.control[..usize::from(self.control_len)];
        match opcode {
            OP_PING if !self.closing => {
                write_header(out, true, OP_PONG, payload.len() as u64);
                out.extend_from_slice(payload);
            }
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
                if !self.closing {
                    // Echo the client's code and reason back, completing the handshake.
                    write_header(out, true, OP_CLOSE, payload.len() as u64);
                    out.extend_from_slice(payload);
                    self.closing = true;
                }
                return Ok(Step::Closed(close_code));
            }
            _ => {}
        }
        Ok(Step::More)
    }
}

enum Step {
    More,
    NeedInput,
    Closed(Option<u16>),
}

/// Codes a peer may send (RFC 6455 section 7.4.1 and the IANA registry).
pub(crate) fn is_valid_close_code(close_code: u16) -> bool {
    matches!(close_code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// Appends an unmasked server frame header.
pub(crate) fn write_header(out: &mut Vec<u8>, fin: bool, opcode: u8, length: u64) {
    out.push(if fin { 0x80 } else { 0 } | opcode);
    match length {
        0..=125 => out.push(length as u8),
        126..=0xffff => {
            out.push(126);
            out.extend_from_slice(&(length as u16).to_be_bytes());
        }
        _ => {
            out.push(127);
            out.extend_from_slice(&length.to_be_bytes());
        }
    }
}

/// Appends a ping with an empty payload.
pub(crate) fn write_ping(out: &mut Vec<u8>) {
    write_header(out, true, OP_PING, 0);
}

/// Appends a close frame; the reason is cut to fit the 125-byte control payload.
pub(crate) fn write_close(out: &mut Vec<u8>, close_code: Option<u16>, reason: &[u8]) {
    let Some(close_code) = close_code else {
        write_header(out, true, OP_CLOSE, 0);
        return;
    };
    let mut reason_len = reason.len().min(MAX_CONTROL - 2);
    // Never cut inside a character.
    while reason_len < reason.len() && reason_len > 0 && (reason[reason_len] & 0xc0) == 0x80 {
        reason_len -= 1;
    }
    write_header(out, true, OP_CLOSE, 2 + reason_len as u64);
    out.extend_from_slice(&close_code.to_be_bytes());
    out.extend_from_slice(&reason[..reason_len]);
}

/// XORs `data` with the mask, starting `offset` bytes into it; eight bytes at a
/// time where it can.
fn unmask(data: &mut [u8], mask: [u8; 4], offset: usize) {
    let rotated: [u8; 4] = std::array::from_fn(|i| mask[(offset + i) % 4]);
    let wide = u64::from_ne_bytes([
        rotated[0], rotated[1], rotated[2], rotated[3], rotated[0], rotated[1], rotated[2], rotated[3],
    ]);
    let mut chunks = data.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let value = u64::from_ne_bytes(chunk.try_into().expect("eight bytes")) ^ wide;
        chunk.copy_from_slice(&value.to_ne_bytes());
    }
    for (i, byte) in chunks.into_remainder().iter_mut().enumerate() {
        *byte ^= rotated[i % 4];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

    /// A masked client frame.
    fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
        let mut bytes = vec![first];
        match payload.len() {
            n @ 0..=125 => bytes.push(0x80 | n as u8),
            n @ 126..=0xffff => {
                bytes.push(0x80 | 126);
                bytes.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                bytes.push(0x80 | 127);
                bytes.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        bytes.extend_from_slice(&MASK);
        bytes.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
        bytes
    }

    /// Server frames as (first byte, payload).
    fn parse(mut bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
        let mut frames = Vec::new();
        while !bytes.is_empty() {
            let (length, start) = match bytes[1] {
                126 => (usize::from(u16::from_be_bytes([bytes[2], bytes[3]])), 4),
                127 => (u64::from_be_bytes(bytes[2..10].try_into().unwrap()) as usize, 10),
                n => (usize::from(n), 2),
            };
            frames.push((bytes[0], bytes[start..start + length].to_vec()));
            bytes = &bytes[start + length..];
        }
        frames
    }

    /// Feeds `input` in pieces of `chunk` bytes; returns the output frames and the last outcome.
    fn run(input: &[u8], chunk: usize) -> (Vec<(u8, Vec<u8>)>, Outcome) {
        let mut protocol = Protocol::new(1 << 20);
        let mut out = Vec::new();
        let mut outcome = Outcome::Continue;
        for piece in input.chunks(chunk.max(1)) {
            let mut piece = piece.to_vec();
            outcome = protocol.feed(&mut piece, &mut out);
            if outcome != Outcome::Continue {
                break;
            }
        }
        (parse(&out), outcome)
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
            let (frames, outcome) = run(&input, chunk);
            assert_eq!(outcome, Outcome::Continue);
            let expected = vec![(1, text.to_vec()), (2, binary.clone()), (1, vec![])];
            assert_eq!(messages(&frames), expected, "reads of {chunk} bytes");
        }
    }

    #[test]
    fn a_whole_frame_in_one_read_is_echoed_as_one_frame() {
        let (frames, _) = run(&frame(0x81, b"hello"), 1000);
        assert_eq!(frames, [(0x81, b"hello".to_vec())]);
    }

    #[test]
    fn fragmented_messages_with_pings_between_are_echoed_whole_and_pings_answered() {
        let mut input = frame(0x01, b"frag");
        input.extend(frame(0x89, b"ping!"));
        input.extend(frame(0x00, b"men"));
        input.extend(frame(0x80, b"ted"));
        let (frames, _) = run(&input, 1000);
        assert!(frames.contains(&(0x8a, b"ping!".to_vec())));
        assert_eq!(messages(&frames), [(1, b"fragmented".to_vec())]);
    }

    #[test]
    fn the_clients_close_is_echoed_with_its_code_and_reason() {
        let mut payload = 4001u16.to_be_bytes().to_vec();
        payload.extend_from_slice(b"bye");
        let (frames, outcome) = run(&frame(0x88, &payload), 1000);
        assert_eq!(frames, [(0x88, payload)]);
        assert_eq!(outcome, Outcome::PeerClosed(Some(4001)));
        let (frames, outcome) = run(&frame(0x88, b""), 1000);
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
            let (frames, outcome) = run(&input, 1000);
            let expected = match input[0] & 0x0f {
                // A bad close frame is the client's last word: no reply will follow.
                0x8 => Outcome::PeerClosed(None),
                // After an unmasked frame nothing can be parsed, so the server gives
                // up at once rather than wait for a reply it cannot recognise.
                _ if input[1] & 0x80 == 0 => Outcome::Abort,
                _ => Outcome::Failed(code),
            };
            assert_eq!(outcome, expected, "{input:x?}");
            let (first, payload) = frames.last().unwrap();
            assert_eq!(*first, 0x88);
            assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), code);
        }
    }

    #[test]
    fn a_message_one_byte_over_the_limit_gets_1009_before_any_of_it_is_echoed() {
        let mut protocol = Protocol::new(10);
        let mut out = Vec::new();
        assert_eq!(protocol.feed(&mut frame(0x82, &[1; 10]), &mut out), Outcome::Continue);
        out.clear();
        let mut over = [frame(0x02, &[1; 6]), frame(0x80, &[1; 5])].concat();
        assert_eq!(protocol.feed(&mut over, &mut out), Outcome::Failed(1009));
        let frames = parse(&out);
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
            let mut protocol = Protocol::new(1 << 20);
            let mut out = Vec::new();
            let (first, second) = input.split_at(split);
            let mut outcomes = vec![protocol.feed(&mut first.to_vec(), &mut out)];
            if !second.is_empty() {
                outcomes.push(protocol.feed(&mut second.to_vec(), &mut out));
            }
            assert_eq!(outcomes.last(), Some(&Outcome::PeerClosed(Some(1002))), "split at {split}");
            assert_eq!(protocol.server_close_code(), Some(1002));
            assert_eq!(parse(&out).len(), 1, "only the server's close frame is sent");
        }
    }

    #[test]
    fn a_frame_skipped_while_closing_waits_for_the_rest_of_its_payload() {
        let mut protocol = Protocol::new(1 << 20);
        let mut out = Vec::new();
        let bad = frame(0x87, &[0; 40]);
        // The reserved opcode is seen, but only half of its payload has arrived.
        assert_eq!(protocol.feed(&mut bad[..20].to_vec(), &mut out), Outcome::Failed(1002));
        assert_eq!(protocol.feed(&mut bad[20..].to_vec(), &mut out), Outcome::Continue);
        let mut reply = frame(0x88, &1002u16.to_be_bytes());
        assert_eq!(protocol.feed(&mut reply, &mut out), Outcome::PeerClosed(Some(1002)));
    }

    #[test]
    fn a_server_close_waits_for_the_reply_and_sends_no_more_data() {
        let mut protocol = Protocol::new(1 << 20);
        let mut out = Vec::new();
        protocol.close(code::GOING_AWAY, "server shutting down", &mut out);
        let frames = parse(&out);
        assert_eq!(frames[0].0, 0x88);
        assert_eq!(&frames[0].1[2..], b"server shutting down");
        out.clear();
        let mut input = frame(0x81, b"late");
        input.extend(frame(0x88, &1001u16.to_be_bytes()));
        assert_eq!(protocol.feed(&mut input, &mut out), Outcome::PeerClosed(Some(1001)));
        assert!(out.is_empty(), "nothing is echoed or replied after the server's close");
    }

    #[test]
    fn long_payloads_use_the_extended_lengths() {
        for length in [125usize, 126, 65535, 65536] {
            let payload = vec![7u8; length];
            let (frames, _) = run(&frame(0x82, &payload), 4096);
            assert_eq!(messages(&frames), [(2, payload)], "length {length}");
        }
    }

    #[test]
    fn close_reasons_are_cut_to_fit_without_splitting_characters() {
        let mut out = Vec::new();
        write_close(&mut out, Some(1000), "é".repeat(100).as_bytes());
        let frames = parse(&out);
        assert_eq!(frames[0].1.len(), 2 + 122);
        assert!(std::str::from_utf8(&frames[0].1[2..]).is_ok());
    }

    #[test]
    fn unmasking_matches_the_bytewise_definition_at_every_offset() {
        let data: Vec<u8> = (0..37).collect();
        for offset in 0..4 {
            let mut fast = data.clone();
            unmask(&mut fast, MASK, offset);
            let slow: Vec<u8> = data.iter().enumerate().map(|(i, b)| b ^ MASK[(offset + i) % 4]).collect();
            assert_eq!(fast, slow);
        }
    }
}
