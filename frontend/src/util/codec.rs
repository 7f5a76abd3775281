//! Bytes as text and back: hex and base64 for the composer's binary modes, and
//! the hex preview and hex dump the log shows for binary messages.

use std::fmt::Write as _;

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Reads hex digits into bytes. Whitespace, `:` and `,` separate nothing and are
/// skipped, as is a `0x` before a group, so dumps pasted from most tools work.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let mut digits = Vec::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    while let Some((index, c)) = chars.next() {
        match c {
            c if c.is_whitespace() || c == ':' || c == ',' => {}
            '0' if matches!(chars.peek(), Some((_, 'x' | 'X'))) => {
                chars.next();
            }
            c => match c.to_digit(16) {
                Some(digit) => digits.push(digit as u8),
                None => return Err(format!("'{c}' at position {} is not a hex digit", index + 1)),
            },
        }
    }
    if digits.len() % 2 == 1 {
        return Err(format!("{} hex digits is an odd number: each byte needs two", digits.len()));
    }
    Ok(digits.chunks(2).map(|pair| pair[0] << 4 | pair[1]).collect())
}

/// Standard base64 with padding.
pub fn encode_base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let group = (chunk[0] as u32) << 16
            | (chunk.get(1).copied().unwrap_or(0) as u32) << 8
            | chunk.get(2).copied().unwrap_or(0) as u32;
        for position in 0..4 {
            if position <= chunk.len() {
                out.push(BASE64[(group >> (18 - 6 * position) & 0x3f) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Reads base64, standard or URL-safe, padded or not; whitespace is skipped.
pub fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    let mut values = Vec::with_capacity(text.len());
    let mut padding = 0;
    for (index, c) in text.char_indices() {
        let value = match c {
            c if c.is_whitespace() => continue,
            '=' => {
                padding += 1;
                continue;
            }
            'A'..='Z' => c as u8 - b'A',
            'a'..='z' => c as u8 - b'a' + 26,
            '0'..='9' => c as u8 - b'0' + 52,
            '+' | '-' => 62,
            '/' | '_' => 63,
            c => return Err(format!("'{c}' at position {} is not a base64 character", index + 1)),
        };
        if padding > 0 {
            return Err(format!("'{c}' at position {} comes after the '=' padding", index + 1));
        }
        values.push(value as u32);
    }
    if values.len() % 4 == 1 || padding > 2 {
        return Err("the base64 text is cut short: its length does not fit whole bytes".to_owned());
    }
    let mut bytes = Vec::with_capacity(values.len() * 3 / 4);
    for chunk in values.chunks(4) {
        let group = chunk.iter().enumerate().fold(0, |group, (index, value)| group | value << (18 - 6 * index));
        let whole = chunk.len() - 1;
        bytes.extend((0..whole).map(|index| (group >> (16 - 8 * index)) as u8));
    }
    Ok(bytes)
}

/// The first `limit` bytes in hex, `…` marking that more follow.
pub fn hex_preview(bytes: &[u8], limit: usize) -> String {
    let mut preview = String::with_capacity(limit.min(bytes.len()) * 3 + 2);
    for (index, byte) in bytes.iter().take(limit).enumerate() {
        if index > 0 {
            preview.push(' ');
        }
        let _ = write!(preview, "{byte:02x}");
    }
    if bytes.len() > limit {
        preview.push_str(" …");
    }
    preview
}

/// A classic hex dump: offset, sixteen bytes in hex, and the printable ASCII.
/// At most `limit` bytes are dumped; a last line says how many were left out.
pub fn hex_dump(bytes: &[u8], limit: usize) -> String {
    let mut out = String::new();
    for (line, chunk) in bytes[..bytes.len().min(limit)].chunks(16).enumerate() {
        if line > 0 {
            out.push('\n');
        }
        let _ = write!(out, "{:08x} ", line * 16);
        for column in 0..16 {
            if column == 8 {
                out.push(' ');
            }
            match chunk.get(column) {
                Some(byte) => {
                    let _ = write!(out, " {byte:02x}");
                }
                None => out.push_str("   "),
            }
        }
        out.push_str("  |");
        out.extend(chunk.iter().map(|&byte| if byte.is_ascii_graphic() || byte == b' ' { byte as char } else { '.' }));
        out.push('|');
    }
    if bytes.len() > limit {
        let _ = write!(out, "\n… {} more bytes not shown", bytes.len() - limit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_accepts_common_separators() {
        let cases: [(&str, &[u8]); 5] = [
            ("", &[]),
            ("00ff10", &[0x00, 0xff, 0x10]),
            ("de ad\nBE EF", &[0xde, 0xad, 0xbe, 0xef]),
            ("0x01, 0x02", &[1, 2]),
            ("ca:fe", &[0xca, 0xfe]),
        ];
        for (text, bytes) in cases {
            assert_eq!(parse_hex(text).as_deref(), Ok(bytes), "{text}");
        }
    }

    #[test]
    fn bad_hex_says_where() {
        assert_eq!(parse_hex("0g"), Err("'g' at position 2 is not a hex digit".to_owned()));
        assert_eq!(parse_hex("abc"), Err("3 hex digits is an odd number: each byte needs two".to_owned()));
    }

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let vectors =
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE=")];
        for (plain, encoded) in vectors {
            assert_eq!(encode_base64(plain.as_bytes()), encoded);
            assert_eq!(decode_base64(encoded).unwrap(), plain.as_bytes());
        }
        assert_eq!(decode_base64("Zm9vYg").unwrap(), b"foob", "padding is optional");
        assert_eq!(decode_base64("-_8=").unwrap(), [0xfb, 0xff], "URL-safe alphabet");
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(decode_base64(&encode_base64(&all)).unwrap(), all);
    }

    #[test]
    fn bad_base64_says_why() {
        assert_eq!(decode_base64("ab!c"), Err("'!' at position 3 is not a base64 character".to_owned()));
        assert!(decode_base64("abcde").unwrap_err().contains("cut short"));
        assert!(decode_base64("ab=c").unwrap_err().contains("after the '=' padding"));
    }

    #[test]
    fn hex_previews_stop_at_their_limit() {
        assert_eq!(hex_preview(&[0x00, 0x0f, 0xff], 32), "00 0f ff");
        assert_eq!(hex_preview(&[1, 2, 3, 4], 2), "01 02 …");
        assert_eq!(hex_preview(&[], 2), "");
    }

    #[test]
    fn hex_dump_shows_offsets_hex_and_ascii() {
        let bytes: Vec<u8> = b"Hello, WebSocket\x00\x01".to_vec();
        assert_eq!(
            hex_dump(&bytes, 1024),
            "00000000  48 65 6c 6c 6f 2c 20 57  65 62 53 6f 63 6b 65 74  |Hello, WebSocket|\n\
             00000010  00 01                                             |..|"
        );
        assert_eq!(hex_dump(&[0xff; 20], 16).lines().last(), Some("… 4 more bytes not shown"));
        assert_eq!(hex_dump(&[], 16), "");
    }
}
