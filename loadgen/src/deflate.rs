//! permessage-deflate (RFC 7692) on the client side: the offer, the check of
//! the server's answer, and the compression of what is sent and the inflation
//! of what comes back (raw DEFLATE, each message ending in a sync flush whose
//! 4-byte tail `00 00 ff ff` is left off the wire).
//!
//! Compression uses flate2's default pure-Rust backend (miniz_oxide), whose
//! window is always 32 KiB. That is enough to inflate anything a server sends
//! (a server's window is at most 15 bits). For sending, a server that limits
//! the client's window below 15 bits is obeyed without a smaller window: every
//! message is compressed on its own (the client never takes context over), so a
//! message no longer than the window cannot refer further back than allowed,
//! and a longer one is sent in stored (uncompressed) DEFLATE blocks, which
//! refer to nothing. flate2's zlib backends, which could shrink the window,
//! would switch the backend's flate2 too wherever both are built together.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// What the client offers in `Sec-WebSocket-Extensions`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
pub enum Offer {
    /// No extension.
    #[default]
    Off,
    /// `permessage-deflate; client_max_window_bits`: the server decides
    /// about context takeover and may limit the client's window.
    Window,
    /// `permessage-deflate; client_no_context_takeover; server_no_context_takeover`:
    /// each message compressed on its own both ways.
    NoContextTakeover,
}

impl Offer {
    /// The header line's value, or `None` when nothing is offered.
    pub fn header_value(self) -> Option<&'static str> {
        match self {
            Offer::Off => None,
            Offer::Window => Some("permessage-deflate; client_max_window_bits"),
            Offer::NoContextTakeover => {
                Some("permessage-deflate; client_no_context_takeover; server_no_context_takeover")
            }
        }
    }
}

/// The permessage-deflate parameters the server accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Agreed {
    /// The server starts each message it sends with an empty window.
    pub server_no_context_takeover: bool,
    /// The server asked the client to start each message with an empty window.
    pub client_no_context_takeover: bool,
    /// The largest window the server compresses with (bits).
    pub server_max_window_bits: u8,
    /// The largest window the client may compress with (bits).
    pub client_max_window_bits: u8,
}

impl std::fmt::Display for Agreed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "permessage-deflate")?;
        if self.server_no_context_takeover {
            write!(f, "; server_no_context_takeover")?;
        }
        if self.client_no_context_takeover {
            write!(f, "; client_no_context_takeover")?;
        }
        if self.server_max_window_bits != 15 {
            write!(f, "; server_max_window_bits={}", self.server_max_window_bits)?;
        }
        if self.client_max_window_bits != 15 {
            write!(f, "; client_max_window_bits={}", self.client_max_window_bits)?;
        }
        Ok(())
    }
}

/// Reads the server's `Sec-WebSocket-Extensions` values (every such header
/// line of the 101 response) against what was offered: `Ok(None)` when the
/// server accepted no extension, an error when it answered with anything
/// that was not offered or that RFC 7692 forbids.
pub fn parse_answer(values: &[&str], offer: Offer) -> Result<Option<Agreed>, String> {
    let elements: Vec<&str> =
        values.iter().flat_map(|value| value.split(',')).map(str::trim).filter(|element| !element.is_empty()).collect();
    let Some((first, rest)) = elements.split_first() else {
        return Ok(None);
    };
    if !rest.is_empty() {
        return Err(format!("the server accepted {} extensions, but one was offered", elements.len()));
    }
    let mut params = first.split(';').map(str::trim);
    let name = params.next().unwrap_or_default();
    if !name.eq_ignore_ascii_case("permessage-deflate") || offer == Offer::Off {
        return Err(format!("the server accepted the extension `{name}`, which was not offered"));
    }
    let mut agreed = Agreed {
        server_no_context_takeover: false,
        client_no_context_takeover: false,
        server_max_window_bits: 15,
        client_max_window_bits: 15,
    };
    let mut seen = Vec::new();
    for param in params {
        let (key, value) = match param.split_once('=') {
            Some((key, value)) => (key.trim(), Some(value.trim().trim_matches('"'))),
            None => (param, None),
        };
        let key = key.to_ascii_lowercase();
        if seen.contains(&key) {
            return Err(format!("the server repeated the parameter `{key}`"));
        }
        let bits = |value: Option<&str>| -> Result<u8, String> {
            value
                .and_then(|value| value.parse().ok())
                .filter(|bits| (8..=15).contains(bits))
                .ok_or_else(|| format!("`{param}` needs a window size from 8 to 15"))
        };
        match (key.as_str(), value) {
            ("server_no_context_takeover", None) => agreed.server_no_context_takeover = true,
            ("client_no_context_takeover", None) => agreed.client_no_context_takeover = true,
            ("server_max_window_bits", value) => agreed.server_max_window_bits = bits(value)?,
            // RFC 7692 7.1.2.2: only a client that offered this may be sent it.
            ("client_max_window_bits", value) if offer == Offer::Window => agreed.client_max_window_bits = bits(value)?,
            _ => return Err(format!("the server answered `{param}`, which permessage-deflate does not allow here")),
        }
        seen.push(key);
    }
    // RFC 7692 7.1.1.1: a server that cannot honour this part of the offer must decline the offer.
    if offer == Offer::NoContextTakeover && !agreed.server_no_context_takeover {
        return Err("the server accepted permessage-deflate without the server_no_context_takeover offered".into());
    }
    Ok(Some(agreed))
}

/// The 4 bytes a sync flush ends with, which RFC 7692 keeps off the wire.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Compresses messages for sending, each one on its own.
pub struct Deflater {
    compress: Compress,
    /// Stored blocks, for messages longer than a window the server limited.
    stored: Compress,
    /// The longest message `compress` may compress normally: the window the
    /// server allowed, or any length when that is the full 32 KiB window the
    /// compressor uses anyway.
    window: usize,
}

impl Deflater {
    /// A compressor at `level` (0-9) for what `agreed` allows.
    pub fn new(agreed: &Agreed, level: u32) -> Deflater {
        Deflater {
            compress: Compress::new(Compression::new(level), false),
            stored: Compress::new(Compression::none(), false),
            window: if agreed.client_max_window_bits >= 15 { usize::MAX } else { 1 << agreed.client_max_window_bits },
        }
    }

    /// Appends `message` compressed (the payload of a frame with RSV1) to `out`.
    pub fn compress(&mut self, message: &[u8], out: &mut Vec<u8>) {
        let compress = if message.len() <= self.window { &mut self.compress } else { &mut self.stored };
        // The client never takes context over: each message starts afresh,
        // which every agreement allows.
        compress.reset();
        let start = out.len();
        let mut consumed = 0;
        loop {
            out.reserve(message.len() / 2 + 64);
            let before = compress.total_in();
            compress
                .compress_vec(&message[consumed..], out, FlushCompress::Sync)
                .expect("compressing into memory cannot fail");
            consumed += (compress.total_in() - before) as usize;
            // The flush is complete once all input is in and the output had room to spare.
            if consumed == message.len() && out.len() < out.capacity() {
                break;
            }
        }
        debug_assert!(out[start..].ends_with(&TAIL), "a sync flush ends with 00 00 ff ff");
        out.truncate(out.len() - TAIL.len());
    }
}

/// Inflates the messages the server sent compressed.
pub struct Inflater {
    decompress: Decompress,
    /// The server starts every message afresh, so the window is dropped after each.
    reset_each: bool,
}

/// Largest inflated message accepted: the suite's messages are small, and a
/// runaway inflation should end the connection, not the machine's memory.
pub const MAX_INFLATED: usize = 16 << 20;

impl Inflater {
    /// An inflater for what `agreed` says about the server's side.
    pub fn new(agreed: &Agreed) -> Inflater {
        Inflater { decompress: Decompress::new(false), reset_each: agreed.server_no_context_takeover }
    }

    /// Appends the inflated `payload` (a whole compressed message, the frames'
    /// payloads joined) to `out`.
    pub fn inflate(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        let start = out.len();
        let mut ended = false;
        for input in [payload, &TAIL[..]] {
            let mut consumed = 0;
            loop {
                out.reserve(payload.len() * 2 + 64);
                let before = self.decompress.total_in();
                let status = self
                    .decompress
                    .decompress_vec(&input[consumed..], out, FlushDecompress::Sync)
                    .map_err(|err| format!("the server's compressed message does not inflate: {err}"))?;
                consumed += (self.decompress.total_in() - before) as usize;
                if out.len() - start > MAX_INFLATED {
                    return Err(format!("a compressed message inflates past {MAX_INFLATED} bytes"));
                }
                if status == Status::StreamEnd {
                    // A final block (BFINAL) ends the DEFLATE stream; what follows it is ignored.
                    ended = true;
                    break;
                }
                if consumed == input.len() && out.len() < out.capacity() {
                    break;
                }
            }
            if ended {
                break;
            }
        }
        if self.reset_each || ended {
            self.decompress.reset(false);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agreed(offer: Offer, answer: &str) -> Result<Option<Agreed>, String> {
        parse_answer(&[answer], offer)
    }

    #[test]
    fn answers_are_read_against_the_offer() {
        let plain = agreed(Offer::Window, "permessage-deflate").unwrap().unwrap();
        assert_eq!(plain.to_string(), "permessage-deflate");
        assert_eq!((plain.client_max_window_bits, plain.server_no_context_takeover), (15, false));
        let limited = agreed(Offer::Window, "permessage-deflate; client_max_window_bits=10").unwrap().unwrap();
        assert_eq!(limited.client_max_window_bits, 10);
        let both = "permessage-deflate; server_no_context_takeover; client_no_context_takeover";
        let both = agreed(Offer::NoContextTakeover, both).unwrap().unwrap();
        assert!(both.server_no_context_takeover && both.client_no_context_takeover);
        let quoted = agreed(Offer::Window, "PerMessage-Deflate; server_max_window_bits=\"12\"").unwrap().unwrap();
        assert_eq!(quoted.server_max_window_bits, 12);
        assert_eq!(parse_answer(&[], Offer::Window), Ok(None), "declined");
    }

    #[test]
    fn answers_a_client_must_refuse() {
        let refused = |offer: Offer, answer: &str| assert!(agreed(offer, answer).is_err(), "{offer:?}: {answer}");
        refused(Offer::Off, "permessage-deflate");
        refused(Offer::Window, "x-webkit-deflate-frame");
        refused(Offer::Window, "permessage-deflate, permessage-deflate");
        refused(Offer::Window, "permessage-deflate; client_max_window_bits=16");
        refused(Offer::Window, "permessage-deflate; server_max_window_bits");
        refused(Offer::Window, "permessage-deflate; server_no_context_takeover; server_no_context_takeover");
        refused(Offer::Window, "permessage-deflate; server_no_context_takeover=1");
        refused(Offer::Window, "permessage-deflate; mystery");
        refused(Offer::NoContextTakeover, "permessage-deflate; client_max_window_bits=9");
        refused(Offer::NoContextTakeover, "permessage-deflate; client_no_context_takeover");
    }

    #[test]
    fn rfc_7692_hello_compresses_and_inflates() {
        // RFC 7692 section 7.2.3.1: "Hello" as one compressed message.
        let rfc = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        let agreed = agreed(Offer::Window, "permessage-deflate").unwrap().unwrap();
        let mut out = Vec::new();
        Inflater::new(&agreed).inflate(&rfc, &mut out).unwrap();
        assert_eq!(out, b"Hello");
        let mut compressed = Vec::new();
        Deflater::new(&agreed, 6).compress(b"Hello", &mut compressed);
        let mut back = Vec::new();
        Inflater::new(&agreed).inflate(&compressed, &mut back).unwrap();
        assert_eq!(back, b"Hello");
    }

    #[test]
    fn context_is_kept_between_messages_unless_agreed_otherwise() {
        // RFC 7692 section 7.2.3.2: the second "Hello" refers back into the first.
        let agreed_takeover = agreed(Offer::Window, "permessage-deflate").unwrap().unwrap();
        let mut inflater = Inflater::new(&agreed_takeover);
        let mut out = Vec::new();
        inflater.inflate(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], &mut out).unwrap();
        inflater.inflate(&[0xf2, 0x00, 0x11, 0x00, 0x00], &mut out).unwrap();
        assert_eq!(out, b"HelloHello");
    }

    #[test]
    fn large_and_small_windows_round_trip() {
        let message: Vec<u8> = (0..5_000u32).flat_map(|i| format!("{{\"k\":{}}}", i % 97).into_bytes()).collect();
        for answer in ["permessage-deflate", "permessage-deflate; client_max_window_bits=9"] {
            let agreed = agreed(Offer::Window, answer).unwrap().unwrap();
            let mut deflater = Deflater::new(&agreed, 6);
            let mut inflater = Inflater::new(&agreed);
            for _ in 0..3 {
                let mut compressed = Vec::new();
                deflater.compress(&message, &mut compressed);
                if agreed.client_max_window_bits < 15 {
                    assert!(compressed.len() > message.len(), "stored blocks refer to nothing: {answer}");
                } else {
                    assert!(compressed.len() < message.len() / 4, "compressed: {answer}");
                }
                let mut back = Vec::new();
                inflater.inflate(&compressed, &mut back).unwrap();
                assert_eq!(back, message, "{answer}");
            }
        }
        let empty = agreed(Offer::Window, "permessage-deflate").unwrap().unwrap();
        let mut compressed = Vec::new();
        Deflater::new(&empty, 6).compress(b"", &mut compressed);
        let mut back = Vec::new();
        Inflater::new(&empty).inflate(&compressed, &mut back).unwrap();
        assert!(back.is_empty());
    }

    #[test]
    fn garbage_does_not_inflate() {
        let agreed = agreed(Offer::Window, "permessage-deflate").unwrap().unwrap();
        assert!(Inflater::new(&agreed).inflate(&[0xff, 0xff, 0xff], &mut Vec::new()).is_err());
    }
}
