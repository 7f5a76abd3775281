//! permessage-deflate (RFC 7692): choosing what to agree to from a client's
//! offers, and the compressor and decompressor that carry the agreement out.
//!
//! By default (`--deflate on`) the server agrees to no context takeover in both
//! directions, which RFC 7692 lets a server ask for even when the client did
//! not: then no compression state lives between messages, and an idle
//! connection holds nothing more than without compression. The compressor is
//! then one per thread, reset for every piece it compresses: each piece ends
//! in a sync flush, so the pieces of one message, compressed independently,
//! still make one valid deflate stream. The decompressor exists only while a
//! compressed message is arriving. `--deflate context-takeover` keeps both
//! between messages, for a better ratio at a cost of a few hundred kilobytes
//! per connection.

use std::cell::RefCell;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use crate::config::DeflateMode;

/// The extension's name in `Sec-WebSocket-Extensions`.
const NAME: &str = "permessage-deflate";
/// What ends every sync-flushed deflate block sequence; RFC 7692 has senders
/// drop it from a message's end and receivers put it back.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];
/// How much one decompression step produces at most, so that an inflating
/// message is checked against the size limit in steps of this size.
pub(crate) const INFLATE_STEP: usize = 16 * 1024;
/// zlib's default level: a fair trade of speed for ratio on text.
const LEVEL: u32 = 6;

/// What the server and one client agreed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Agreement {
    /// The server keeps its compression history between messages.
    pub(crate) server_takeover: bool,
    /// The client keeps its history, so the server's decompressor must too.
    pub(crate) client_takeover: bool,
    /// The server's compression window, 9 to 15 bits.
    pub(crate) server_window_bits: u8,
}

/// One offer's parameters, as read (RFC 7692 section 7.1).
#[derive(Debug, Default, PartialEq, Eq)]
struct Offer {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// Present, with or without a value.
    client_max_window_bits: Option<Option<u8>>,
}

/// Picks the first of the client's offers the server can honour under `mode`
/// (window at most `window_bits`) and says how to answer it, or `None` to
/// leave the connection uncompressed. `offers` are the values of every
/// `Sec-WebSocket-Extensions` header, in order.
pub(crate) fn negotiate<'a>(
    offers: impl IntoIterator<Item = &'a str>,
    mode: DeflateMode,
    window_bits: u8,
) -> Option<(Agreement, String)> {
    if mode == DeflateMode::Off {
        return None;
    }
    let window_bits = window_bits.clamp(9, 15);
    offers.into_iter().flat_map(|value| split_outside_quotes(value, ',')).find_map(|offer| {
        let offer = read_offer(offer)?;
        // Raw deflate cannot compress with an 8-bit window, so an offer that
        // insists on one cannot be honoured; the next offer may be.
        if offer.server_max_window_bits == Some(8) {
            return None;
        }
        Some(accept(&offer, mode, window_bits))
    })
}

/// The agreement for an acceptable offer and the response that states it.
fn accept(offer: &Offer, mode: DeflateMode, window_bits: u8) -> (Agreement, String) {
    let takeover = mode == DeflateMode::ContextTakeover;
    let agreement = Agreement {
        server_takeover: takeover && !offer.server_no_context_takeover,
        client_takeover: takeover && !offer.client_no_context_takeover,
        server_window_bits: offer.server_max_window_bits.map_or(window_bits, |bits| bits.min(window_bits)),
    };
    let mut response = NAME.to_owned();
    if !agreement.server_takeover {
        response.push_str("; server_no_context_takeover");
    }
    if !agreement.client_takeover {
        response.push_str("; client_no_context_takeover");
    }
    if offer.server_max_window_bits.is_some() {
        response.push_str(&format!("; server_max_window_bits={}", agreement.server_window_bits));
    }
    // Only a client that said it can limit its window may be told to.
    if let Some(offered) = offer.client_max_window_bits {
        let client_bits = offered.unwrap_or(15).min(window_bits);
        if client_bits < 15 {
            response.push_str(&format!("; client_max_window_bits={client_bits}"));
        }
    }
    (agreement, response)
}

/// Reads one offer; `None` if it is not permessage-deflate or is malformed
/// (an unknown or repeated parameter, or a bad value), which declines it.
fn read_offer(text: &str) -> Option<Offer> {
    let mut parts = split_outside_quotes(text, ';').into_iter().map(str::trim);
    if !parts.next()?.eq_ignore_ascii_case(NAME) {
        return None;
    }
    let mut offer = Offer::default();
    let mut seen = Vec::new();
    for part in parts {
        let (name, value) = match part.split_once('=') {
            Some((name, value)) => (name.trim(), Some(unquote(value.trim())?)),
            None => (part, None),
        };
        let name = name.to_ascii_lowercase();
        if seen.contains(&name) {
            return None;
        }
        match (name.as_str(), value) {
            ("server_no_context_takeover", None) => offer.server_no_context_takeover = true,
            ("client_no_context_takeover", None) => offer.client_no_context_takeover = true,
            ("server_max_window_bits", Some(value)) => offer.server_max_window_bits = Some(window_bits(value)?),
            ("client_max_window_bits", None) => offer.client_max_window_bits = Some(None),
            ("client_max_window_bits", Some(value)) => offer.client_max_window_bits = Some(Some(window_bits(value)?)),
            _ => return None,
        }
        seen.push(name);
    }
    Some(offer)
}

/// A window size: 8 to 15, written without leading zeros.
fn window_bits(value: &str) -> Option<u8> {
    match value.parse::<u8>() {
        Ok(bits @ 8..=15) if !value.starts_with('0') && !value.starts_with('+') => Some(bits),
        _ => None,
    }
}

/// A token, or a quoted string's content (no escapes are needed for a number).
fn unquote(value: &str) -> Option<&str> {
    match value.strip_prefix('"') {
        Some(rest) => rest.strip_suffix('"').filter(|inner| !inner.contains(['"', '\\'])),
        None => Some(value),
    }
}

/// Splits at `separator` where it is not inside a quoted string.
fn split_outside_quotes(text: &str, separator: char) -> Vec<&str> {
    let mut pieces = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (index, character) in text.char_indices() {
        match character {
            '"' => quoted = !quoted,
            _ if character == separator && !quoted => {
                pieces.push(&text[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    pieces.push(&text[start..]);
    pieces.into_iter().filter(|piece| !piece.trim().is_empty()).collect()
}

/// The compressed data of a message could not be decompressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadData;

/// The server's decompressor for one connection.
#[derive(Debug)]
pub(crate) struct Inflater {
    takeover: bool,
    /// Only while a compressed message arrives, unless history is kept.
    state: Option<Box<Decompress>>,
    /// The client ended its deflate stream (BFINAL) inside this message.
    finished: bool,
}

impl Inflater {
    pub(crate) fn new(agreement: &Agreement) -> Inflater {
        Inflater { takeover: agreement.client_takeover, state: None, finished: false }
    }

    /// Decompresses `input`, a piece of a compressed message, handing the
    /// output to `each` in steps of at most [`INFLATE_STEP`] bytes; `each`
    /// may stop the work by returning an error. At the message's end
    /// (`ends_message`) the flush tail is put back first.
    pub(crate) fn inflate<E>(
        &mut self,
        input: &[u8],
        ends_message: bool,
        mut each: impl FnMut(&[u8]) -> Result<(), E>,
        bad_data: impl Fn(BadData) -> E,
    ) -> Result<(), E> {
        // The client's window may be 15 bits whatever it was told; a 15-bit
        // decompressor reads any smaller window too.
        let mut state = self.state.take().unwrap_or_else(|| Box::new(Decompress::new_with_window_bits(false, 15)));
        let mut output = Vec::with_capacity(INFLATE_STEP);
        let tail: &[u8] = if ends_message && !self.finished { &TAIL } else { &[] };
        for mut rest in [input, tail] {
            loop {
                if self.finished {
                    // Nothing may follow the end of the stream in this message.
                    if rest.is_empty() {
                        break;
                    }
                    return Err(bad_data(BadData));
                }
                output.clear();
                let before = state.total_in();
                let status = state.decompress_vec(rest, &mut output, FlushDecompress::None);
                let consumed = (state.total_in() - before) as usize;
                rest = &rest[consumed..];
                // What came out before any error is handed on first, so that the
                // verdict does not depend on where the reads split the input.
                if !output.is_empty() {
                    each(&output)?;
                }
                let status = status.map_err(|_| bad_data(BadData))?;
                if status == Status::StreamEnd {
                    self.finished = true;
                }
                // Done with this input once it is used up and the output had room.
                if rest.is_empty() && output.len() < INFLATE_STEP {
                    break;
                }
                if consumed == 0 && output.is_empty() && !self.finished {
                    return Err(bad_data(BadData));
                }
            }
        }
        if ends_message {
            let finished = std::mem::take(&mut self.finished);
            if !self.takeover {
                // Without context takeover nothing is kept between messages.
                return Ok(());
            }
            // A stream the client ended cannot go on into the next message.
            if finished {
                state.reset(false);
            }
        }
        self.state = Some(state);
        Ok(())
    }
}

/// The server's compressor for one connection.
#[derive(Debug)]
pub(crate) struct Deflater {
    agreement: Agreement,
    /// With context takeover: the history kept between messages.
    kept: Option<Box<Compress>>,
}

thread_local! {
    /// Compressors without history, one per window size, reset before each use.
    static SHARED: RefCell<[Option<Compress>; 7]> = const { RefCell::new([None, None, None, None, None, None, None]) };
}

impl Deflater {
    pub(crate) fn new(agreement: Agreement) -> Deflater {
        Deflater { agreement, kept: None }
    }

    /// Compresses one piece of a message and appends the result to `out`; the
    /// last piece of a message loses the flush tail, as RFC 7692 asks.
    pub(crate) fn deflate(&mut self, parts: [&[u8]; 2], last: bool, out: &mut Vec<u8>) {
        let start = out.len();
        if self.agreement.server_takeover {
            let bits = self.agreement.server_window_bits;
            let state = self
                .kept
                .get_or_insert_with(|| Box::new(Compress::new_with_window_bits(Compression::new(LEVEL), false, bits)));
            compress(state, parts, out);
        } else {
            let index = usize::from(self.agreement.server_window_bits - 9);
            SHARED.with_borrow_mut(|shared| {
                let state = shared[index].get_or_insert_with(|| {
                    Compress::new_with_window_bits(Compression::new(LEVEL), false, self.agreement.server_window_bits)
                });
                // No history may reach into this piece; each piece is its own run.
                state.reset();
                compress(state, parts, out);
            });
        }
        if last && out[start..].ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
    }
}

/// Compresses `parts` and sync-flushes, appending to `out`.
fn compress(state: &mut Compress, parts: [&[u8]; 2], out: &mut Vec<u8>) {
    for (index, mut input) in parts.into_iter().enumerate() {
        let flush = if index == 1 { FlushCompress::Sync } else { FlushCompress::None };
        loop {
            // Deflate can grow incompressible data a little; leave room for it.
            out.reserve(input.len() + input.len() / 16 + 64);
            let before = state.total_in();
            if state.compress_vec(input, out, flush).is_err() {
                // Compression of valid input cannot fail; if it ever did, the
                // frame would be cut, which the client would report.
                return;
            }
            input = &input[(state.total_in() - before) as usize..];
            // Done once the input is used up and the output had room to finish.
            if input.is_empty() && out.len() < out.capacity() {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agree(offers: &[&str], mode: DeflateMode) -> Option<(Agreement, String)> {
        negotiate(offers.iter().copied(), mode, 15)
    }

    #[test]
    fn a_browsers_offer_gets_no_context_takeover_both_ways_by_default() {
        let (agreement, response) = agree(&["permessage-deflate; client_max_window_bits"], DeflateMode::On).unwrap();
        assert_eq!(response, "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
        assert_eq!(agreement, Agreement { server_takeover: false, client_takeover: false, server_window_bits: 15 });
    }

    #[test]
    fn offers_are_honoured_or_declined_parameter_by_parameter() {
        let on = DeflateMode::On;
        let takeover = DeflateMode::ContextTakeover;
        let cases: [(&[&str], DeflateMode, Option<&str>); 12] = [
            (&["permessage-deflate"], DeflateMode::Off, None),
            (&["x-webkit-deflate-frame"], on, None),
            (&["permessage-deflate; server_max_window_bits=10"], on,
             Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10")),
            // An 8-bit server window cannot be honoured: the next offer is taken.
            (&["permessage-deflate; server_max_window_bits=8", "permessage-deflate"], on,
             Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover")),
            (&["permessage-deflate; server_max_window_bits=8"], on, None),
            // Malformed offers are declined, not answered.
            (&["permessage-deflate; server_max_window_bits"], on, None),
            (&["permessage-deflate; server_max_window_bits=16"], on, None),
            (&["permessage-deflate; server_max_window_bits=010"], on, None),
            (&["permessage-deflate; client_no_context_takeover; client_no_context_takeover"], on, None),
            // The client will use at most the window it named; the answer says so.
            (&["permessage-deflate; mystery=1, permessage-deflate; client_max_window_bits=\"10\""], takeover,
             Some("permessage-deflate; client_max_window_bits=10")),
            (&["permessage-deflate; server_no_context_takeover; client_no_context_takeover"], takeover,
             Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover")),
            (&["permessage-deflate; client_no_context_takeover"], takeover,
             Some("permessage-deflate; client_no_context_takeover")),
        ];
        for (offers, mode, expected) in cases {
            let answered = agree(offers, mode).map(|(_, response)| response);
            assert_eq!(answered.as_deref(), expected, "{offers:?} under {mode:?}");
        }
    }

    #[test]
    fn a_smaller_configured_window_is_told_to_clients_that_can_limit_theirs() {
        let offers = ["permessage-deflate; client_max_window_bits; server_max_window_bits=12"];
        let (agreement, response) = negotiate(offers, DeflateMode::On, 10).unwrap();
        assert_eq!(agreement.server_window_bits, 10);
        assert!(response.ends_with("; server_max_window_bits=10; client_max_window_bits=10"), "{response}");
    }

    /// What a receiver does: put the tail back and inflate the whole message.
    fn inflate_message(compressed: &[u8]) -> Vec<u8> {
        let mut decompress = Decompress::new(false);
        let mut input = compressed.to_vec();
        input.extend_from_slice(&TAIL);
        let mut output = Vec::with_capacity(1 << 20);
        decompress.decompress_vec(&input, &mut output, FlushDecompress::Sync).unwrap();
        output
    }

    #[test]
    fn pieces_compressed_one_by_one_make_one_message_a_receiver_can_inflate() {
        let mut deflater =
            Deflater::new(Agreement { server_takeover: false, client_takeover: false, server_window_bits: 15 });
        let text = "the same words again and again, ".repeat(200);
        let (first, rest) = text.as_bytes().split_at(1000);
        let mut compressed = Vec::new();
        deflater.deflate([&first[..10], &first[10..]], false, &mut compressed);
        deflater.deflate([&[], rest], true, &mut compressed);
        assert!(compressed.len() < text.len() / 10, "{} bytes", compressed.len());
        assert_eq!(inflate_message(&compressed), text.as_bytes());
        let mut empty = Vec::new();
        deflater.deflate([&[], &[]], true, &mut empty);
        assert_eq!(inflate_message(&empty), b"");
    }

    #[test]
    fn the_inflater_checks_each_step_and_frees_its_state_between_messages() {
        let mut deflater =
            Deflater::new(Agreement { server_takeover: false, client_takeover: false, server_window_bits: 15 });
        let big = vec![b'a'; 200_000];
        let mut compressed = Vec::new();
        deflater.deflate([&[], &big], true, &mut compressed);
        let mut inflater =
            Inflater::new(&Agreement { server_takeover: false, client_takeover: false, server_window_bits: 15 });
        let mut steps = Vec::new();
        let result: Result<(), BadData> = inflater.inflate(
            &compressed,
            true,
            |chunk| {
                steps.push(chunk.len());
                Ok(())
            },
            |bad| bad,
        );
        result.unwrap();
        assert_eq!(steps.iter().sum::<usize>(), big.len());
        assert!(steps.iter().all(|step| *step <= INFLATE_STEP));
        assert!(inflater.state.is_none(), "no state is kept without context takeover");
        // Garbage is bad data, not a panic.
        let result = inflater.inflate(&[0xff; 20], true, |_| Ok(()), |bad| bad);
        assert_eq!(result, Err(BadData));
    }
}
