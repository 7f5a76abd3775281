//! The WebSocket frame format (RFC 6455 section 5.2): opcodes, close codes and
//! the encoding of server frames. Shared by the protocol engine, the output
//! that enforces what may be sent, and the lab.

/// Close codes (RFC 6455 section 7.4).
pub(crate) mod code {
    pub(crate) const GOING_AWAY: u16 = 1001;
    pub(crate) const PROTOCOL_ERROR: u16 = 1002;
    pub(crate) const NO_STATUS: u16 = 1005;
    pub(crate) const INVALID_PAYLOAD: u16 = 1007;
    pub(crate) const POLICY_VIOLATION: u16 = 1008;
    pub(crate) const TOO_BIG: u16 = 1009;
    pub(crate) const TRY_AGAIN_LATER: u16 = 1013;
}

pub(crate) const OP_CONTINUATION: u8 = 0x0;
pub(crate) const OP_TEXT: u8 = 0x1;
pub(crate) const OP_BINARY: u8 = 0x2;
pub(crate) const OP_CLOSE: u8 = 0x8;
pub(crate) const OP_PING: u8 = 0x9;
pub(crate) const OP_PONG: u8 = 0xa;

/// The largest control frame payload.
pub(crate) const MAX_CONTROL: usize = 125;
/// The longest server frame header: two bytes and a 64-bit length (servers do not mask).
pub(crate) const MAX_HEADER: usize = 10;

/// Codes a peer may send (RFC 6455 section 7.4.1 and the IANA registry).
pub(crate) fn is_valid_close_code(close_code: u16) -> bool {
    matches!(close_code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// Appends an unmasked server frame header with the minimal length encoding.
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

/// The length of a close reason cut to fit the 125-byte control payload after
/// its two code bytes, never inside a character.
pub(crate) fn close_reason_len(reason: &[u8]) -> usize {
    let mut length = reason.len().min(MAX_CONTROL - 2);
    while length < reason.len() && length > 0 && (reason[length] & 0xc0) == 0x80 {
        length -= 1;
    }
    length
}

/// XORs `data` with the mask, starting `offset` bytes into it; eight bytes at a
/// time where it can.
pub(crate) fn unmask(data: &mut [u8], mask: [u8; 4], offset: usize) {
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

/// One server frame read back from bytes the server wrote: for tests, and for
/// the properties the fuzzers check.
#[cfg(any(test, feature = "fuzzing"))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerFrame {
    /// The first byte: FIN, the RSV bits and the opcode.
    pub first: u8,
    pub payload: Vec<u8>,
    /// Whether the length used the shortest encoding (RFC 6455 section 5.2).
    pub minimal_length: bool,
}

/// Reads every frame in `bytes`; `Err` with what is left when the bytes do not
/// end on a frame boundary or a frame is masked.
#[cfg(any(test, feature = "fuzzing"))]
pub fn parse_server_frames(mut bytes: &[u8]) -> Result<Vec<ServerFrame>, String> {
    let mut frames = Vec::new();
    while !bytes.is_empty() {
        let second = *bytes.get(1).ok_or("a frame of one byte")?;
        if second & 0x80 != 0 {
            return Err("a masked server frame".into());
        }
        let (length, start, minimal) = match second & 0x7f {
            126 => {
                let length = u64::from(u16::from_be_bytes([
                    *bytes.get(2).ok_or("cut length")?,
                    *bytes.get(3).ok_or("cut length")?,
                ]));
                (length, 4, length >= 126)
            }
            127 => {
                let raw: [u8; 8] = bytes.get(2..10).ok_or("cut length")?.try_into().map_err(|_| "cut length")?;
                let length = u64::from_be_bytes(raw);
                (length, 10, length > 0xffff && length >> 63 == 0)
            }
            short => (u64::from(short), 2, true),
        };
        let end = usize::try_from(length).ok().and_then(|length| length.checked_add(start)).ok_or("huge length")?;
        let payload = bytes.get(start..end).ok_or_else(|| format!("a frame cut short: {} of {length}", bytes.len()))?;
        frames.push(ServerFrame { first: bytes[0], payload: payload.to_vec(), minimal_length: minimal });
        bytes = &bytes[end..];
    }
    Ok(frames)
}

/// A masked client frame with `first` as its first byte (FIN, RSV, opcode):
/// what tests and fuzzers feed the engine.
#[cfg(any(test, feature = "fuzzing"))]
pub fn client_frame(first: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
    let mut bytes = vec![first];
    match payload.len() {
        length @ 0..=125 => bytes.push(0x80 | length as u8),
        length @ 126..=0xffff => {
            bytes.push(0x80 | 126);
            bytes.extend_from_slice(&(length as u16).to_be_bytes());
        }
        length => {
            bytes.push(0x80 | 127);
            bytes.extend_from_slice(&(length as u64).to_be_bytes());
        }
    }
    bytes.extend_from_slice(&mask);
    bytes.extend(payload.iter().enumerate().map(|(index, byte)| byte ^ mask[index % 4]));
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

    #[test]
    fn headers_use_the_shortest_length_encoding() {
        for (length, size) in [(0u64, 2usize), (125, 2), (126, 4), (0xffff, 4), (0x1_0000, 10)] {
            let mut out = Vec::new();
            write_header(&mut out, true, OP_BINARY, length);
            assert_eq!(out.len(), size, "length {length}");
            out.resize(out.len() + length as usize, 0);
            let frames = parse_server_frames(&out).unwrap();
            assert!(frames[0].minimal_length);
            assert_eq!(frames[0].payload.len() as u64, length);
        }
    }

    #[test]
    fn close_reasons_are_cut_to_fit_without_splitting_characters() {
        assert_eq!(close_reason_len("é".repeat(100).as_bytes()), 122);
        assert_eq!(close_reason_len(b"short"), 5);
        assert_eq!(close_reason_len(&[b'x'; 200]), 123);
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
