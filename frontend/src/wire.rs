//! The arithmetic of "Compare with polling": what each way of sending N
//! messages costs on the wire, and how the results are summed up. Pure, so
//! every number the page shows is tested natively.

use crate::json::{self, Value};
use crate::stats::summarize;

/// The most messages one comparison sends each way.
pub const MAX_COUNT: usize = 200;
/// The largest message, well under the server's 1 MiB limit.
pub const MAX_SIZE: usize = 100_000;
/// The slowest and fastest polling intervals, ms.
pub const INTERVAL_RANGE: (u32, u32) = (20, 5000);

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

/// The k-th message of a comparison: `size` bytes, starting with its number so
/// that each is different and its echo can be recognised.
pub fn message(index: usize, size: usize) -> String {
    let mut text = format!("{index}:");
    let pad = size.saturating_sub(text.len());
    text.extend(std::iter::repeat_n('x', pad));
    text
}

/// What to run: how many messages, how large, and how often to poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Messages per method.
    pub count: usize,
    /// Bytes per message.
    pub size: usize,
    /// The polling interval, ms.
    pub interval_ms: u32,
}

impl Plan {
    /// Reads the three fields; the error names the field and its range.
    pub fn parse(count: &str, size: &str, interval: &str) -> Result<Plan, String> {
        let number = |text: &str| text.trim().parse::<usize>().ok();
        let count = number(count)
            .filter(|n| (1..=MAX_COUNT).contains(n))
            .ok_or_else(|| "Messages must be a whole number from 1 to 200".to_owned())?;
        // Four bytes hold a message's number and its separator.
        let size = number(size)
            .filter(|n| (4..=MAX_SIZE).contains(n))
            .ok_or_else(|| "Message size must be a whole number of bytes from 4 to 100000".to_owned())?;
        let (low, high) = INTERVAL_RANGE;
        let interval_ms = number(interval)
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| (low..=high).contains(n))
            .ok_or_else(|| "Poll every must be a whole number of ms from 20 to 5000".to_owned())?;
        Ok(Plan { count, size, interval_ms })
    }
}

/// The three ways of sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// One `POST /api/echo` per message.
    Http,
    /// `POST` to a mailbox, `GET` it every interval.
    Polling,
    /// One WebSocket, a frame each way per message.
    WebSocket,
}

impl Method {
    /// The method's name in the table.
    pub fn label(self) -> &'static str {
        match self {
            Method::Http => "HTTP request/response",
            Method::Polling => "Periodic polling",
            Method::WebSocket => "WebSocket",
        }
    }
}

/// What one method has cost so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    /// HTTP requests made (a WebSocket makes none after its handshake).
    pub requests: u64,
    /// Bytes on the wire, both directions, heads and frame headers included.
    pub bytes: u64,
    /// Each message's latency, ms.
    pub latencies: Vec<f64>,
}

impl Tally {
    /// Counts one HTTP exchange: both heads and both bodies.
    pub fn exchange(&mut self, request_head: u64, request_body: usize, response_head: u64, response_body: usize) {
        self.requests += 1;
        self.bytes += request_head + request_body as u64 + response_head + response_body as u64;
    }
}

/// One row of the results.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Which method.
    pub method: Method,
    /// Messages that made the round trip.
    pub messages: usize,
    /// Median latency (nearest rank), ms.
    pub median_ms: f64,
    /// Slowest latency, ms.
    pub max_ms: f64,
    /// HTTP requests.
    pub requests: u64,
    /// Bytes on the wire.
    pub bytes: u64,
    /// What the numbers include, when that needs saying.
    pub note: String,
}

impl Row {
    /// The row for `method` from its tally.
    pub fn new(method: Method, tally: &Tally, note: String) -> Row {
        let summary = summarize(&tally.latencies);
        Row {
            method,
            messages: tally.latencies.len(),
            median_ms: summary.map_or(0.0, |summary| summary.p50),
            max_ms: summary.map_or(0.0, |summary| summary.max),
            requests: tally.requests,
            bytes: tally.bytes,
            note,
        }
    }
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

/// `value` as a share of `largest`, 0–100, for a bar's length (0 when `largest` is 0).
pub fn percent_of(value: f64, largest: f64) -> f64 {
    if largest > 0.0 {
        (value / largest * 100.0).clamp(0.0, 100.0)
    } else {
        0.0
    }
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
    fn messages_are_numbered_and_sized() {
        assert_eq!(message(7, 6), "7:xxxx");
        assert_eq!(message(12, 4), "12:x");
        assert_eq!(message(123, 2), "123:", "never cut: the number keeps it recognisable");
    }

    #[test]
    fn plans_are_read_within_their_limits() {
        assert_eq!(Plan::parse(" 20", "32", "250"), Ok(Plan { count: 20, size: 32, interval_ms: 250 }));
        // The messages name the limits (written out: formatting them costs the page).
        assert!(Plan::parse("0", "32", "250").unwrap_err().ends_with(&format!("from 1 to {MAX_COUNT}")));
        assert!(Plan::parse("5", "2", "250").unwrap_err().ends_with(&format!("from 4 to {MAX_SIZE}")));
        let (low, high) = INTERVAL_RANGE;
        assert!(Plan::parse("5", "32", "1").unwrap_err().ends_with(&format!("from {low} to {high}")));
        assert!(Plan::parse("201", "32", "250").is_err());
        assert!(Plan::parse("5", "3", "250").unwrap_err().starts_with("Message size"));
        assert!(Plan::parse("5", "32", "10").unwrap_err().starts_with("Poll every"));
        assert!(Plan::parse("5", "32", "x").is_err());
    }

    #[test]
    fn a_run_sums_requests_bytes_and_latencies() {
        let mut tally = Tally::default();
        tally.exchange(100, 32, 80, 32);
        tally.exchange(100, 0, 70, 2);
        tally.latencies = vec![3.0, 1.0, 2.0, 10.0];
        let row = Row::new(Method::Http, &tally, String::new());
        assert_eq!((row.requests, row.bytes, row.messages), (2, 244 + 172, 4));
        assert_eq!((row.median_ms, row.max_ms), (2.0, 10.0));
        let empty = Row::new(Method::WebSocket, &Tally::default(), String::new());
        assert_eq!((empty.messages, empty.median_ms, empty.max_ms), (0, 0.0, 0.0));
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
    fn bars_are_shares_of_the_largest() {
        assert_eq!(percent_of(50.0, 200.0), 25.0);
        assert_eq!(percent_of(5.0, 0.0), 0.0);
        assert_eq!(percent_of(300.0, 200.0), 100.0);
    }
}
