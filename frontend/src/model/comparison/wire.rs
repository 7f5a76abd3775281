//! What "Compare with polling" counts on the wire: WebSocket frame headers,
//! HTTP heads, the opening handshake read from the server's report, and the
//! lab's sizes reports (what a compressed echo really took).

use crate::util::json::{self, Value};

/// Bytes of a server frame's header for a payload of `len` bytes (RFC 6455
/// 5.2): 2, plus 2 or 8 for the extended length.
pub fn server_frame_header(len: usize) -> u64 {
    match len {
        0..=125 => 2,
        126..=65535 => 4,
        _ => 10,
    }
}

/// Bytes of a client frame's header: the server's plus the 4-byte mask that
/// every client frame carries.
pub fn client_frame_header(len: usize) -> u64 {
    server_frame_header(len) + 4
}

/// Bytes on the wire for one text message of `len` bytes and its echo.
pub fn websocket_echo_bytes(len: usize) -> u64 {
    client_frame_header(len) + server_frame_header(len) + 2 * len as u64
}

/// Bytes of an HTTP/1.1 head: the start line, each header as `name: value`,
/// each line ended by CRLF, and the empty line that ends the head.
pub fn head_bytes<'a>(start_line: &str, headers: impl IntoIterator<Item = (&'a str, &'a str)>) -> u64 {
    let lines: usize = headers.into_iter().map(|(name, value)| name.len() + 2 + value.len() + 2).sum();
    (start_line.len() + 2 + lines + 2) as u64
}

/// An HTTP/1.1 status line as `Response.status` and `.statusText` give it.
pub fn status_line(status: u16, text: &str) -> String {
    format!("HTTP/1.1 {status} {text}")
}

/// Bytes of the opening handshake (the upgrade request's head and the `101`
/// response's head) from the server's handshake report (`/ws?inspect`), or
/// `None` when `text` is not one.
pub fn handshake_bytes(text: &str) -> Option<u64> {
    let report = json::parse(text).ok()?;
    if report.get("server")?.as_str()? != "handshake" {
        return None;
    }
    let head = |key: &str| -> Option<u64> {
        let part = report.get(key)?;
        let headers = part.get("headers")?.as_array()?;
        let pairs = headers.iter().filter_map(|pair| match pair.as_array()? {
            [Value::String(name), Value::String(value)] => Some((name.as_str(), value.as_str())),
            _ => None,
        });
        Some(head_bytes(part.get("line")?.as_str()?, pairs))
    };
    Some(head("request")? + head("response")?)
}

/// What a lab sizes report (`/sizes on`) says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sizes {
    /// The answer to `/sizes on` (true) or `/sizes off` (false).
    Switched(bool),
    /// After an echo: the bytes its frames took on the wire both ways, and
    /// whether it was compressed.
    Echo {
        /// The client's frames and the echo's, headers included.
        wire: u64,
        /// Whether the message travelled compressed (permessage-deflate).
        compressed: bool,
    },
}

/// Reads a lab sizes report, or `None` when `text` is not one.
pub fn sizes(text: &str) -> Option<Sizes> {
    let report = json::parse(text).ok()?;
    if report.get("server")?.as_str()? != "sizes" {
        return None;
    }
    if let Some(on) = report.get("on") {
        return Some(Sizes::Switched(on.as_bool()?));
    }
    let bytes = |key: &str| report.get(key)?.as_f64();
    let wire = (bytes("wire_in")? + bytes("wire_out")?) as u64;
    Some(Sizes::Echo { wire, compressed: report.get("compressed")?.as_bool()? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_headers_grow_at_126_and_65536_bytes() {
        let cases = [(0, 2, 6), (125, 2, 6), (126, 4, 8), (65535, 4, 8), (65536, 10, 14)];
        for (len, server, client) in cases {
            assert_eq!((server_frame_header(len), client_frame_header(len)), (server, client), "{len}");
        }
        assert_eq!(websocket_echo_bytes(32), 6 + 2 + 64);
        assert_eq!(websocket_echo_bytes(126), 8 + 4 + 252);
    }

    #[test]
    fn a_head_is_its_lines_with_crlf_and_a_blank_line() {
        assert_eq!(head_bytes("HTTP/1.1 204 No Content", []), 23 + 2 + 2);
        let headers = [("content-type", "text/plain"), ("content-length", "2")];
        // "HTTP/1.1 200 OK\r\n" + "content-type: text/plain\r\n" + "content-length: 2\r\n" + "\r\n"
        assert_eq!(head_bytes(&status_line(200, "OK"), headers), 17 + 26 + 19 + 2);
    }

    #[test]
    fn the_handshake_is_counted_from_the_servers_report() {
        let report = r#"{"server":"handshake",
            "request":{"line":"GET /ws HTTP/1.1","headers":[["host","h"],["upgrade","websocket"]]},
            "response":{"line":"HTTP/1.1 101 Switching Protocols","headers":[["upgrade","websocket"]]}}"#;
        let request = 16 + 2 + (4 + 2 + 1 + 2) + (7 + 2 + 9 + 2) + 2;
        let response = 32 + 2 + (7 + 2 + 9 + 2) + 2;
        assert_eq!(handshake_bytes(report), Some(request + response));
        assert_eq!(handshake_bytes(r#"{"server":"pong","ms":1}"#), None);
        assert_eq!(handshake_bytes(r#"{"server":"handshake"}"#), None);
        assert_eq!(handshake_bytes("hello"), None);
    }

    #[test]
    fn sizes_reports_are_read() {
        assert_eq!(sizes(r#"{"server":"sizes","on":true}"#), Some(Sizes::Switched(true)));
        assert_eq!(sizes(r#"{"server":"sizes","on":false}"#), Some(Sizes::Switched(false)));
        let echo = r#"{"server":"sizes","bytes":1024,"wire_in":31,"wire_out":25,"compressed":true}"#;
        assert_eq!(sizes(echo), Some(Sizes::Echo { wire: 56, compressed: true }));
        for other in
            [r#"{"server":"pong","ms":1}"#, r#"{"server":"sizes","bytes":1}"#, "0:xx", r#"{"server":"sizes","on":1}"#]
        {
            assert_eq!(sizes(other), None, "{other}");
        }
    }
}
