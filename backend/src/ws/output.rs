//! Everything the server sends on one connection goes through [`Output`], which
//! enforces the rules that hold whoever writes a frame (the protocol engine,
//! the lab, keep-alive, shutdown): nothing follows a close frame, control
//! payloads fit in 125 bytes, and a message's frames are never interleaved
//! with another message's.

use super::deflate::Deflater;
use super::frame::{
    close_reason_len, write_header, MAX_CONTROL, MAX_HEADER, OP_BINARY, OP_CLOSE, OP_CONTINUATION, OP_PING, OP_PONG,
    OP_TEXT,
};

/// Messages and payload bytes echoed, by type.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) text_messages: u64,
    pub(crate) text_bytes: u64,
    pub(crate) binary_messages: u64,
    pub(crate) binary_bytes: u64,
}

/// Whether a close frame has gone out, and whose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Closing {
    /// No close frame yet.
    Open,
    /// The server answered the client's close frame.
    Replied,
    /// The server closed first, with this code, and waits for the client's reply.
    ServerClosed(u16),
}

/// The bytes waiting to be written to one connection, and what has been sent.
#[derive(Debug)]
pub(crate) struct Output {
    bytes: Vec<u8>,
    closing: Closing,
    /// A data message whose first frame is out and whose last is not.
    message_open: bool,
    counts: Counts,
    /// Data messages echoed in full.
    messages: u64,
    /// The compressor, when permessage-deflate was agreed.
    deflater: Option<Deflater>,
}

/// One piece of a data message, as the protocol hands it on: checked (text is
/// valid UTF-8 up to here), in two parts because a character that was split
/// between reads is completed from the bytes held back from the last piece.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Piece<'a> {
    pub(crate) text: bool,
    /// The client sent the message compressed; its echo goes back compressed.
    pub(crate) compressed: bool,
    /// Bytes of the message's frames on the wire so far, headers included
    /// (the whole message's, on its last piece).
    pub(crate) on_wire: u64,
    /// The first piece of its message.
    pub(crate) first: bool,
    /// The last piece of its message.
    pub(crate) last: bool,
    pub(crate) parts: [&'a [u8]; 2],
}

impl Piece<'_> {
    /// The piece's length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.parts[0].len() + self.parts[1].len()
    }
}

impl Output {
    /// An output that starts with `greeting` (frames to send before anything
    /// else), compressing with `deflater` when compression was agreed.
    pub(crate) fn new(greeting: Vec<u8>, deflater: Option<Deflater>) -> Output {
        Output {
            bytes: greeting,
            closing: Closing::Open,
            message_open: false,
            counts: Counts::default(),
            messages: 0,
            deflater,
        }
    }

    /// The bytes not yet written.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Room for `additional` more bytes without reallocating.
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.bytes.reserve(additional);
    }

    /// Forgets the bytes that were written, keeping the allocation for the next ones.
    #[cfg(test)]
    pub(crate) fn written(&mut self) {
        self.bytes.clear();
    }

    /// Forgets the bytes that were written and frees the buffer: an idle
    /// connection holds none.
    pub(crate) fn release(&mut self) {
        self.bytes = Vec::new();
    }

    /// Whether a close frame has gone out.
    #[cfg(test)]
    pub(crate) fn closing(&self) -> Closing {
        self.closing
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closing != Closing::Open
    }

    /// The code of the close frame the server sent first, if it did.
    pub(crate) fn server_close_code(&self) -> Option<u16> {
        match self.closing {
            Closing::ServerClosed(code) => Some(code),
            _ => None,
        }
    }

    /// What was echoed since the last call.
    pub(crate) fn take_counts(&mut self) -> Counts {
        std::mem::take(&mut self.counts)
    }

    /// Data messages echoed in full so far.
    pub(crate) fn messages(&self) -> u64 {
        self.messages
    }

    /// Echoes one piece of a client's message as one frame of the reply;
    /// returns the frame's size on the wire.
    pub(crate) fn echo(&mut self, piece: Piece<'_>) -> usize {
        if self.is_closed() {
            return 0;
        }
        let before = self.bytes.len();
        let opcode = match (piece.first, piece.text) {
            (false, _) => OP_CONTINUATION,
            (true, true) => OP_TEXT,
            (true, false) => OP_BINARY,
        };
        debug_assert_eq!(piece.first, !self.message_open, "a message's frames are contiguous");
        match self.deflater.as_mut().filter(|_| piece.compressed) {
            Some(deflater) => {
                // Compress straight into the output after room for the longest
                // header, then close the gap once the length is known.
                let start = self.bytes.len();
                self.bytes.extend_from_slice(&[0; MAX_HEADER]);
                deflater.deflate(piece.parts, piece.last, &mut self.bytes);
                let length = self.bytes.len() - start - MAX_HEADER;
                let mut header = Vec::with_capacity(MAX_HEADER);
                write_header(&mut header, piece.last, opcode, length as u64);
                if piece.first {
                    // RSV1 on the first frame marks the message as compressed.
                    header[0] |= 0x40;
                }
                self.bytes.copy_within(start + MAX_HEADER.., start + header.len());
                self.bytes.truncate(start + header.len() + length);
                self.bytes[start..start + header.len()].copy_from_slice(&header);
            }
            None => {
                write_header(&mut self.bytes, piece.last, opcode, piece.len() as u64);
                self.bytes.extend_from_slice(piece.parts[0]);
                self.bytes.extend_from_slice(piece.parts[1]);
            }
        }
        self.message_open = !piece.last;
        let (messages, bytes) = match piece.text {
            true => (&mut self.counts.text_messages, &mut self.counts.text_bytes),
            false => (&mut self.counts.binary_messages, &mut self.counts.binary_bytes),
        };
        *bytes += piece.len() as u64;
        if piece.last {
            *messages += 1;
            self.messages += 1;
        }
        self.bytes.len() - before
    }

    /// Sends one whole frame of a message the server composed itself (a lab
    /// reply, a report, a fragment of `/fragment`). Returns false, sending
    /// nothing, once a close frame is out or while an echo is half sent.
    pub(crate) fn frame(&mut self, fin: bool, opcode: u8, payload: &[u8]) -> bool {
        let data = opcode & 0x08 == 0;
        let continues = opcode == OP_CONTINUATION;
        if self.is_closed() || (data && continues != self.message_open) {
            return false;
        }
        if !data && (!fin || payload.len() > MAX_CONTROL) {
            debug_assert!(false, "control frames are whole and at most 125 bytes");
            return false;
        }
        write_header(&mut self.bytes, fin, opcode, payload.len() as u64);
        self.bytes.extend_from_slice(payload);
        if data {
            self.message_open = !fin;
        }
        true
    }

    /// Sends a text message holding `json`, something the server says about
    /// itself (first key `"server"`).
    pub(crate) fn report(&mut self, json: &str) {
        self.frame(true, OP_TEXT, json.as_bytes());
    }

    /// Sends a ping.
    pub(crate) fn ping(&mut self, payload: &[u8]) {
        self.frame(true, OP_PING, payload);
    }

    /// Answers a ping.
    pub(crate) fn pong(&mut self, payload: &[u8]) {
        self.frame(true, OP_PONG, payload);
    }

    /// Closes from the server's side with `code` and `reason` (cut to fit),
    /// unless a close frame already went out.
    pub(crate) fn close(&mut self, code: u16, reason: &str) {
        if self.is_closed() {
            return;
        }
        let reason = &reason.as_bytes()[..close_reason_len(reason.as_bytes())];
        write_header(&mut self.bytes, true, OP_CLOSE, 2 + reason.len() as u64);
        self.bytes.extend_from_slice(&code.to_be_bytes());
        self.bytes.extend_from_slice(reason);
        self.closing = Closing::ServerClosed(code);
    }

    /// Answers the client's close frame with its own code and reason (RFC 6455
    /// section 5.5.1), unless a close frame already went out.
    pub(crate) fn reply_close(&mut self, payload: &[u8]) {
        if self.is_closed() {
            return;
        }
        write_header(&mut self.bytes, true, OP_CLOSE, payload.len() as u64);
        self.bytes.extend_from_slice(payload);
        self.closing = Closing::Replied;
    }
}

#[cfg(test)]
mod tests {
    use super::super::frame::parse_server_frames;
    use super::*;

    fn piece(text: bool, first: bool, last: bool, bytes: &[u8]) -> Piece<'_> {
        Piece { text, compressed: false, on_wire: 0, first, last, parts: [&[], bytes] }
    }

    fn opcodes(output: &Output) -> Vec<u8> {
        parse_server_frames(output.bytes()).unwrap().iter().map(|frame| frame.first).collect()
    }

    #[test]
    fn nothing_follows_a_close_frame_whoever_writes_it() {
        let mut output = Output::new(Vec::new(), None);
        output.echo(piece(true, true, true, b"before"));
        output.close(1001, "going away");
        output.echo(piece(true, true, true, b"after"));
        output.report(r#"{"server":"late"}"#);
        output.ping(b"");
        output.pong(b"");
        output.close(1000, "");
        output.reply_close(&1000u16.to_be_bytes());
        assert_eq!(opcodes(&output), [0x81, 0x88]);
        assert_eq!(output.server_close_code(), Some(1001));
    }

    #[test]
    fn a_reply_to_the_clients_close_is_not_a_server_close() {
        let mut output = Output::new(Vec::new(), None);
        output.reply_close(&4000u16.to_be_bytes());
        assert_eq!(output.closing(), Closing::Replied);
        assert_eq!(output.server_close_code(), None);
    }

    #[test]
    fn composed_messages_never_land_inside_a_half_sent_echo() {
        let mut output = Output::new(Vec::new(), None);
        output.echo(piece(false, true, false, b"ab"));
        assert!(!output.frame(true, OP_TEXT, b"{}"), "a report inside an echo");
        assert!(output.frame(true, OP_PING, b""), "control frames may interleave");
        output.echo(piece(false, false, true, b"cd"));
        assert!(output.frame(true, OP_TEXT, b"{}"));
        assert_eq!(opcodes(&output), [0x02, 0x89, 0x80, 0x81]);
        assert_eq!(output.take_counts().binary_messages, 1);
        assert_eq!(output.messages(), 1);
    }

    #[test]
    fn compressed_echoes_get_rsv1_on_their_first_frame_and_the_shortest_header() {
        use super::super::deflate::{Agreement, Deflater};
        use flate2::{Decompress, FlushDecompress};

        let agreement = Agreement { server_takeover: false, client_takeover: false, server_window_bits: 15 };
        // Incompressible bytes, so that the compressed lengths need each header size.
        let mut seed = 7u32;
        let noise: Vec<u8> = (0..70_000)
            .map(|_| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                (seed >> 16) as u8
            })
            .collect();
        for size in [10, 1_000, 70_000] {
            let mut output = Output::new(Vec::new(), Some(Deflater::new(agreement)));
            let data = &noise[..size];
            output.echo(Piece { compressed: true, ..piece(false, true, false, &data[..size / 2]) });
            output.echo(Piece { compressed: true, ..piece(false, false, true, &data[size / 2..]) });
            let frames = parse_server_frames(output.bytes()).unwrap();
            assert_eq!(frames.iter().map(|frame| frame.first).collect::<Vec<_>>(), [0x42, 0x80], "size {size}");
            assert!(frames.iter().all(|frame| frame.minimal_length), "size {size}");
            let mut compressed: Vec<u8> = frames.iter().flat_map(|frame| frame.payload.clone()).collect();
            compressed.extend_from_slice(&[0, 0, 0xff, 0xff]);
            let mut inflated = Vec::with_capacity(size + 16);
            Decompress::new(false).decompress_vec(&compressed, &mut inflated, FlushDecompress::Sync).unwrap();
            assert_eq!(inflated, data, "size {size}");
        }
    }

    #[test]
    fn a_message_ends_with_an_empty_frame_and_an_empty_message_is_one_frame() {
        let mut output = Output::new(Vec::new(), None);
        output.echo(piece(true, true, false, b"a"));
        output.echo(piece(true, false, true, b""));
        output.echo(piece(false, true, true, b""));
        assert_eq!(opcodes(&output), [0x01, 0x80, 0x82]);
    }
}
