//! Streaming UTF-8 validation for text messages that arrive in pieces.
//!
//! A text message may be split across frames and reads at any byte, even inside
//! a character. The validator fails as soon as the bytes seen can no longer be
//! the start of valid UTF-8 (RFC 6455 section 8.1 asks endpoints to fail fast),
//! and holds back the bytes of a character that is not complete yet.

/// Validation state between two pieces of one message.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Utf8Stream {
    /// The start of a character whose remaining bytes have not arrived.
    pending: [u8; 4],
    pending_len: u8,
}

/// The bytes were not UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InvalidUtf8;

/// What of a piece may be passed on: first the held-back bytes completed by the
/// start of the piece, then `piece[complete_from..complete_to]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Checked {
    /// Bytes held back from earlier pieces that are now complete (0 to 4).
    pub(crate) completed: [u8; 4],
    pub(crate) completed_len: usize,
    /// The range of `piece` that is complete, valid UTF-8.
    pub(crate) complete_from: usize,
    pub(crate) complete_to: usize,
}

impl Utf8Stream {
    /// Validates the next piece of the message.
    pub(crate) fn check(&mut self, piece: &[u8]) -> Result<Checked, InvalidUtf8> {
        let mut checked = Checked { completed: [0; 4], completed_len: 0, complete_from: 0, complete_to: 0 };
        let mut rest = piece;
        if self.pending_len > 0 {
            // Complete the held-back character with the first bytes of this piece.
            let have = usize::from(self.pending_len);
            let need = char_width(self.pending[0]).ok_or(InvalidUtf8)?;
            let take = (need - have).min(rest.len());
            let mut char_bytes = self.pending;
            char_bytes[have..have + take].copy_from_slice(&rest[..take]);
            let now = have + take;
            match std::str::from_utf8(&char_bytes[..now]) {
                Ok(_) => {
                    checked.completed = char_bytes;
                    checked.completed_len = now;
                    self.pending_len = 0;
                }
                Err(err) if err.error_len().is_none() => {
                    // Still incomplete, and still a valid beginning.
                    self.pending = char_bytes;
                    self.pending_len = now as u8;
                    return Ok(Checked { complete_from: piece.len(), complete_to: piece.len(), ..checked });
                }
                Err(_) => return Err(InvalidUtf8),
            }
            rest = &rest[take..];
            checked.complete_from = take;
        }
        let offset = piece.len() - rest.len();
        match std::str::from_utf8(rest) {
            Ok(_) => checked.complete_to = piece.len(),
            Err(err) if err.error_len().is_none() => {
                let valid = err.valid_up_to();
                let tail = &rest[valid..];
                self.pending[..tail.len()].copy_from_slice(tail);
                self.pending_len = tail.len() as u8;
                checked.complete_to = offset + valid;
            }
            Err(_) => return Err(InvalidUtf8),
        }
        Ok(checked)
    }

    /// Whether the message may end here: no character is left unfinished.
    pub(crate) fn is_at_boundary(&self) -> bool {
        self.pending_len == 0
    }
}

/// The length of the character a lead byte starts, or `None` for a byte that
/// cannot start one.
fn char_width(lead: u8) -> Option<usize> {
    match lead {
        0x00..=0x7f => Some(1),
        0xc2..=0xdf => Some(2),
        0xe0..=0xef => Some(3),
        0xf0..=0xf4 => Some(4),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `text` split at every position in `cuts`, collecting what passes.
    fn feed(bytes: &[u8], cuts: &[usize]) -> Result<(Vec<u8>, bool), InvalidUtf8> {
        let mut stream = Utf8Stream::default();
        let mut passed = Vec::new();
        let mut start = 0;
        for &end in cuts.iter().chain(std::iter::once(&bytes.len())) {
            let piece = &bytes[start..end];
            let checked = stream.check(piece)?;
            passed.extend_from_slice(&checked.completed[..checked.completed_len]);
            passed.extend_from_slice(&piece[checked.complete_from..checked.complete_to]);
            start = end;
        }
        Ok((passed, stream.is_at_boundary()))
    }

    #[test]
    fn valid_text_passes_whole_whatever_the_cuts() {
        let text = "κόσμε ✓ 𝄞 ascii".as_bytes();
        for first in 0..text.len() {
            for second in first..text.len() {
                let (passed, done) = feed(text, &[first, second]).unwrap();
                assert_eq!(passed, text, "cuts at {first} and {second}");
                assert!(done);
            }
        }
    }

    #[test]
    fn an_unfinished_character_is_held_back() {
        let (passed, done) = feed(&[b'a', 0xe2, 0x9c], &[]).unwrap();
        assert_eq!(passed, b"a");
        assert!(!done);
    }

    #[test]
    fn invalid_bytes_fail_as_soon_as_they_are_seen() {
        let cases: [(&[u8], &[usize]); 6] = [
            (&[0xff], &[]),
            (&[b'a', 0xc0, 0x80], &[]),
            // A surrogate half fails at its second byte, before the third arrives.
            (&[0xed, 0xa0], &[1]),
            (&[0xf4, 0x90], &[1]),
            (&[0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80], &[10]),
            (&[0xe2, 0x28], &[1]),
        ];
        for (bytes, cuts) in cases {
            assert_eq!(feed(bytes, cuts), Err(InvalidUtf8), "{bytes:x?}");
        }
    }
}
