//! WebSocket frames written and read by hand (RFC 6455 section 5), so the load
//! generator spends its time on the wire and not in a client library: client
//! frames are always masked and unfragmented; server frames are never masked.

/// Frame opcodes the load generator sends or expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opcode {
    /// A continuation of a fragmented message.
    Continuation,
    /// A UTF-8 text message.
    Text,
    /// A binary message.
    Binary,
    /// The close handshake.
    Close,
    /// A ping; must be answered with a pong carrying the same payload.
    Ping,
    /// A pong.
    Pong,
}

impl Opcode {
    fn bits(self) -> u8 {
        match self {
            Opcode::Continuation => 0x0,
            Opcode::Text => 0x1,
            Opcode::Binary => 0x2,
            Opcode::Close => 0x8,
            Opcode::Ping => 0x9,
            Opcode::Pong => 0xA,
        }
    }

    fn from_bits(bits: u8) -> Option<Opcode> {
        match bits {
            0x0 => Some(Opcode::Continuation),
            0x1 => Some(Opcode::Text),
            0x2 => Some(Opcode::Binary),
            0x8 => Some(Opcode::Close),
            0x9 => Some(Opcode::Ping),
            0xA => Some(Opcode::Pong),
            _ => None,
        }
    }
}

/// Appends one complete, masked client frame (FIN set) carrying `payload` to `out`.
pub fn encode_client_frame(opcode: Opcode, payload: &[u8], mask: [u8; 4], out: &mut Vec<u8>) {
    encode(0x80 | opcode.bits(), payload, mask, out);
}

/// Appends one complete, masked client frame with RSV1 set: a message whose
/// payload is compressed with permessage-deflate (RFC 7692 section 6).
pub fn encode_compressed_frame(opcode: Opcode, payload: &[u8], mask: [u8; 4], out: &mut Vec<u8>) {
    encode(0x80 | RSV1 | opcode.bits(), payload, mask, out);
}

/// The first header bit an extension may use; permessage-deflate marks compressed messages with it.
const RSV1: u8 = 0x40;

fn encode(first_byte: u8, payload: &[u8], mask: [u8; 4], out: &mut Vec<u8>) {
    out.push(first_byte);
    let len = payload.len();
    if len < 126 {
        out.push(0x80 | len as u8);
    } else if len <= usize::from(u16::MAX) {
        out.push(0x80 | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, byte)| byte ^ mask[i % 4]));
}

/// Appends a masked close frame with `code` and no reason.
pub fn encode_close(code: u16, mask: [u8; 4], out: &mut Vec<u8>) {
    encode_client_frame(Opcode::Close, &code.to_be_bytes(), mask, out);
}

/// One server frame found at the start of a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// Whether this is the last frame of its message.
    pub fin: bool,
    /// RSV1: with permessage-deflate, the message this frame starts is compressed.
    pub rsv1: bool,
    /// What the frame carries.
    pub opcode: Opcode,
    /// Where the payload lies in the buffer that was decoded.
    pub payload: std::ops::Range<usize>,
    /// Bytes the whole frame takes, header included: where the next frame starts.
    pub frame_len: usize,
}

/// Why the bytes from the server are not a frame a server may send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// The server masked its frame (RFC 6455 5.1 forbids it).
    Masked,
    /// Reserved bits are set that no negotiated extension defines.
    ReservedBits,
    /// An opcode the RFC does not define.
    UnknownOpcode(u8),
    /// A frame larger than the load generator will buffer.
    TooLarge(u64),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Masked => write!(f, "the server sent a masked frame"),
            FrameError::ReservedBits => write!(f, "the server set reserved bits"),
            FrameError::UnknownOpcode(bits) => write!(f, "the server sent unknown opcode {bits:#x}"),
            FrameError::TooLarge(len) => {
                write!(f, "the server sent a {len}-byte frame, more than the load generator buffers")
            }
        }
    }
}

impl std::error::Error for FrameError {}

/// Largest frame payload accepted from the server; echoes are never larger than
/// what was sent, and the suite sends small messages.
pub const MAX_FRAME_PAYLOAD: u64 = 16 << 20;

/// Decodes the server frame at the start of `buf`, or `Ok(None)` when `buf`
/// does not yet hold all of it. RSV1 is accepted only when `rsv1_allowed`
/// (permessage-deflate was negotiated); RSV2 and RSV3 never are.
pub fn decode_server_frame(buf: &[u8], rsv1_allowed: bool) -> Result<Option<Decoded>, FrameError> {
    let [first, second, ..] = *buf else {
        return Ok(None);
    };
    let reserved = if rsv1_allowed { 0x30 } else { 0x70 };
    if first & reserved != 0 {
        return Err(FrameError::ReservedBits);
    }
    if second & 0x80 != 0 {
        return Err(FrameError::Masked);
    }
    let opcode = Opcode::from_bits(first & 0x0F).ok_or(FrameError::UnknownOpcode(first & 0x0F))?;
    let (header_len, payload_len) = match second & 0x7F {
        126 => match buf.get(2..4) {
            Some(bytes) => (4, u64::from(u16::from_be_bytes([bytes[0], bytes[1]]))),
            None => return Ok(None),
        },
        127 => match buf.get(2..10) {
            Some(bytes) => (10, u64::from_be_bytes(bytes.try_into().expect("eight bytes"))),
            None => return Ok(None),
        },
        short => (2, u64::from(short)),
    };
    if payload_len > MAX_FRAME_PAYLOAD {
        return Err(FrameError::TooLarge(payload_len));
    }
    let frame_len = header_len + payload_len as usize;
    if buf.len() < frame_len {
        return Ok(None);
    }
    Ok(Some(Decoded {
        fin: first & 0x80 != 0,
        rsv1: first & RSV1 != 0,
        opcode,
        payload: header_len..frame_len,
        frame_len,
    }))
}

/// A cheap pseudo-random source for masks and handshake keys. Masking exists to
/// stop cache poisoning through proxies, which cannot happen on loopback, so a
/// fast xorshift is enough here; it is not for anything secret.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator seeded with `seed` (zero is replaced, since xorshift stays at zero).
    pub fn new(seed: u64) -> XorShift {
        XorShift(if seed == 0 { 0x9E37_79B9_7F4A_7C15 } else { seed })
    }

    /// A generator seeded from the clock and `salt`, different per connection.
    pub fn from_clock(salt: u64) -> XorShift {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        XorShift::new((nanos as u64) ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    /// The next 64 pseudo-random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A fresh masking key.
    pub fn mask(&mut self) -> [u8; 4] {
        (self.next_u64() as u32).to_le_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Turns a client frame into what a server would decode: unmasked, for the decoder.
    fn unmask(frame: &[u8]) -> Vec<u8> {
        let (header_len, len) = match frame[1] & 0x7F {
            126 => (4, u16::from_be_bytes([frame[2], frame[3]]) as usize),
            127 => (10, u64::from_be_bytes(frame[2..10].try_into().unwrap()) as usize),
            short => (2, short as usize),
        };
        let mask = &frame[header_len..header_len + 4];
        let mut out = frame[..header_len].to_vec();
        out[1] &= 0x7F;
        out.extend(frame[header_len + 4..].iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        assert_eq!(out.len(), header_len + len);
        out
    }

    #[test]
    fn rfc_example_masked_hello() {
        // RFC 6455 section 5.7: a masked text "Hello".
        let mut out = Vec::new();
        encode_client_frame(Opcode::Text, b"Hello", [0x37, 0xfa, 0x21, 0x3d], &mut out);
        assert_eq!(out, [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    }

    #[test]
    fn rfc_example_unmasked_hello_decodes() {
        let buf = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0xff];
        let frame = decode_server_frame(&buf, false).unwrap().unwrap();
        assert_eq!(frame, Decoded { fin: true, rsv1: false, opcode: Opcode::Text, payload: 2..7, frame_len: 7 });
        assert_eq!(&buf[frame.payload], b"Hello");
    }

    #[test]
    fn lengths_round_trip_across_the_three_encodings() {
        for len in [0, 1, 125, 126, 127, 65535, 65536, 70000] {
            let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut out = Vec::new();
            encode_client_frame(Opcode::Binary, &payload, [1, 2, 3, 4], &mut out);
            let server_bytes = unmask(&out);
            let frame = decode_server_frame(&server_bytes, false).unwrap().unwrap();
            assert_eq!(frame.opcode, Opcode::Binary, "{len}");
            assert_eq!(frame.frame_len, server_bytes.len(), "{len}");
            assert_eq!(&server_bytes[frame.payload], &payload[..], "{len}");
        }
    }

    #[test]
    fn partial_frames_wait_for_more() {
        let mut out = Vec::new();
        encode_client_frame(Opcode::Binary, &[7; 300], [9, 9, 9, 9], &mut out);
        let server_bytes = unmask(&out);
        for cut in 0..server_bytes.len() {
            assert_eq!(decode_server_frame(&server_bytes[..cut], false), Ok(None), "cut at {cut}");
        }
    }

    #[test]
    fn frames_a_server_must_not_send_are_errors() {
        assert_eq!(decode_server_frame(&[0x81, 0x80, 0, 0, 0, 0], false), Err(FrameError::Masked));
        assert_eq!(decode_server_frame(&[0xC1, 0x00], false), Err(FrameError::ReservedBits));
        assert_eq!(decode_server_frame(&[0x83, 0x00], false), Err(FrameError::UnknownOpcode(3)));
        let huge = [0x82, 0x7F, 0, 0, 0, 0, 0x10, 0, 0, 0];
        assert_eq!(decode_server_frame(&huge, false), Err(FrameError::TooLarge(1 << 28)));
    }

    #[test]
    fn rsv1_only_once_an_extension_defines_it() {
        let compressed = [0xC1, 0x01, 0x00];
        assert_eq!(decode_server_frame(&compressed, false), Err(FrameError::ReservedBits));
        let frame = decode_server_frame(&compressed, true).unwrap().unwrap();
        assert!(frame.rsv1 && frame.fin);
        assert_eq!(decode_server_frame(&[0xA1, 0x00], true), Err(FrameError::ReservedBits), "RSV2");
        assert_eq!(decode_server_frame(&[0x91, 0x00], true), Err(FrameError::ReservedBits), "RSV3");
        let mut out = Vec::new();
        encode_compressed_frame(Opcode::Text, b"x", [0, 0, 0, 0], &mut out);
        assert_eq!(out, [0xC1, 0x81, 0, 0, 0, 0, b'x']);
    }

    #[test]
    fn close_frames_carry_the_code() {
        let mut out = Vec::new();
        encode_close(1000, [0, 0, 0, 0], &mut out);
        assert_eq!(out, [0x88, 0x82, 0, 0, 0, 0, 0x03, 0xE8]);
    }

    #[test]
    fn xorshift_never_sticks_at_zero() {
        let mut rng = XorShift::new(0);
        assert_ne!(rng.next_u64(), 0);
        assert_ne!(rng.mask(), rng.mask());
    }
}
