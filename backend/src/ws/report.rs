//! What the server says about itself on a socket, as opposed to echoing: text
//! messages holding one JSON object whose first key is `"server"`. Only clients
//! that ask get them (`?inspect`, or a command on `/ws/lab`).
//!
//! The handshake report shows a request as the server received it, and any
//! page on any site may open a socket with `?inspect`: a browser attaches the
//! user's cookies and credentials for this host to that request. So the report
//! never carries the value of a header that is a secret or that identifies the
//! user; it names the header, gives its size and says why the value is hidden,
//! which keeps the lesson (what the browser sent) without the leak.

use hyper::header::{HeaderMap, HeaderName};
use hyper::Request;

use super::frame::{write_header, OP_TEXT};

/// The largest handshake report, in bytes of JSON. Request heads may be far
/// larger (hyper accepts about 400 KiB); the report lists what fits.
pub(crate) const MAX_REPORT_BYTES: usize = 12 * 1024;
/// The longest header value shown whole; longer ones are cut with a note.
const MAX_VALUE_SHOWN: usize = 512;

/// Headers whose values are hidden: credentials, and what proxies add to say
/// who the user is or where they connect from.
const SECRET_HEADERS: [&str; 22] = [
    "cookie",
    "authorization",
    "proxy-authorization",
    "x-forwarded-for",
    "x-real-ip",
    "forwarded",
    "x-client-ip",
    "x-cluster-client-ip",
    "true-client-ip",
    "cf-connecting-ip",
    "fastly-client-ip",
    "x-forwarded-user",
    "x-forwarded-email",
    "x-forwarded-preferred-username",
    "x-forwarded-access-token",
    "x-remote-user",
    "remote-user",
    "x-amzn-oidc-data",
    "x-amzn-oidc-identity",
    "x-amzn-oidc-accesstoken",
    "cf-access-jwt-assertion",
    "x-ms-token-aad-id-token",
];
/// Name fragments that mark a header as secret wherever they appear.
const SECRET_FRAGMENTS: [&str; 9] =
    ["auth", "token", "secret", "session", "cookie", "password", "api-key", "apikey", "jwt"];

/// JSON for a value (strings escaped as JSON requires).
pub(crate) fn json_value(value: impl Into<serde_json::Value>) -> String {
    value.into().to_string()
}

/// The handshake report: the upgrade request as the server received it (secret
/// values hidden) and the `101` response it sends, as one text frame. Header
/// names are lowercase because that is how hyper hands them over (HTTP/1 names
/// are case-insensitive), and come in the order they were received or set.
pub(crate) fn handshake<B>(request: &Request<B>, response: &str, response_headers: &HeaderMap) -> Vec<u8> {
    let mut request_line = format!("{} {} {:?}", request.method(), request.uri(), request.version());
    cut(&mut request_line, MAX_VALUE_SHOWN);
    // The response is the server's own and small; what is left goes to the request.
    let response = head(response, response_headers, MAX_REPORT_BYTES / 2);
    let room = MAX_REPORT_BYTES - response.len() - 64;
    let json = format!(
        r#"{{"server":"handshake","request":{},"response":{response}}}"#,
        head(&request_line, request.headers(), room)
    );
    let mut frame = Vec::with_capacity(json.len() + 4);
    write_header(&mut frame, true, OP_TEXT, json.len() as u64);
    frame.extend_from_slice(json.as_bytes());
    frame
}

/// `{"line": …, "headers": [[name, value], …]}` within about `room` bytes: the
/// headers that do not fit are counted in a last pair instead of listed.
fn head(line: &str, headers: &HeaderMap, room: usize) -> String {
    let mut json = format!(r#"{{"line":{},"headers":["#, json_value(line));
    let mut left_out = 0;
    for (index, (name, value)) in headers.iter().enumerate() {
        let shown = shown_value(name, value.as_bytes());
        let pair = json_value(vec![name.as_str().to_owned(), shown]);
        // Keep room for the note about what was left out.
        if left_out > 0 || json.len() + pair.len() + 80 > room {
            left_out += 1;
            continue;
        }
        if index > 0 {
            json.push(',');
        }
        json.push_str(&pair);
    }
    if left_out > 0 {
        let note = format!("{left_out} more headers not shown: the report is limited to {MAX_REPORT_BYTES} bytes");
        if !json.ends_with('[') {
            json.push(',');
        }
        json.push_str(&json_value(vec!["…".to_owned(), note]));
    }
    json.push_str("]}");
    json
}

/// A header's value as the report shows it.
fn shown_value(name: &HeaderName, value: &[u8]) -> String {
    if is_secret(name.as_str()) {
        return format!(
            "[hidden: {} bytes; the server never shows this header's value, because a page on any site may \
             open this socket and read the report]",
            value.len()
        );
    }
    let mut shown = String::from_utf8_lossy(value).into_owned();
    cut(&mut shown, MAX_VALUE_SHOWN);
    shown
}

/// Whether a header (named in lower case) may hold a secret or identify the user.
fn is_secret(name: &str) -> bool {
    name != "sec-websocket-key"
        && (SECRET_HEADERS.contains(&name) || SECRET_FRAGMENTS.iter().any(|fragment| name.contains(fragment)))
}

/// Cuts `text` to about `limit` bytes at a character boundary, saying how long it was.
fn cut(text: &mut String, limit: usize) {
    if text.len() <= limit {
        return;
    }
    let total = text.len();
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push_str(&format!("… ({total} bytes in all)"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn report(request: &Request<()>) -> serde_json::Value {
        let mut headers = HeaderMap::new();
        headers.insert("sec-websocket-accept", HeaderValue::from_static("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
        let frame = handshake(request, "HTTP/1.1 101 Switching Protocols", &headers);
        assert_eq!(frame[0], 0x81);
        let start = if frame[1] == 126 { 4 } else { 2 };
        assert!(frame.len() - start <= MAX_REPORT_BYTES, "{} bytes", frame.len() - start);
        serde_json::from_slice(&frame[start..]).unwrap()
    }

    #[test]
    fn the_handshake_report_is_one_text_frame_of_json_with_server_first() {
        let request = Request::get("/ws?inspect")
            .header("host", "127.0.0.1:3000")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("user-agent", "a \"quoted\" agent")
            .body(())
            .unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("sec-websocket-accept", HeaderValue::from_static("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
        let frame = handshake(&request, "HTTP/1.1 101 Switching Protocols", &headers);
        assert_eq!(frame[0], 0x81);
        let json = std::str::from_utf8(&frame[4..]).unwrap();
        assert_eq!(usize::from(u16::from_be_bytes([frame[2], frame[3]])), json.len());
        assert!(json.starts_with(r#"{"server":"handshake","request":{"line":"GET /ws?inspect HTTP/1.1","headers":[["host","127.0.0.1:3000"]"#), "{json}");
        assert!(json.contains(r#"["user-agent","a \"quoted\" agent"]"#), "{json}");
        assert!(json.ends_with(r#""response":{"line":"HTTP/1.1 101 Switching Protocols","headers":[["sec-websocket-accept","s3pPLMBiTxaQ9kYGzzhZRbK+xOo="]]}}"#), "{json}");
        let parsed: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(parsed["request"]["headers"][1][1], "dGhlIHNhbXBsZSBub25jZQ==");
    }

    #[test]
    fn secret_and_identifying_values_are_hidden_with_their_size() {
        let request = Request::get("/ws?inspect")
            .header("cookie", "session=abc")
            .header("authorization", "Bearer xyz")
            .header("x-forwarded-for", "203.0.113.7")
            .header("x-my-session-id", "42")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("origin", "http://evil.example")
            .body(())
            .unwrap();
        let parsed = report(&request);
        let headers = parsed["request"]["headers"].as_array().unwrap();
        let value = |name: &str| headers.iter().find(|pair| pair[0] == name).unwrap()[1].as_str().unwrap().to_owned();
        assert!(value("cookie").starts_with("[hidden: 11 bytes;"), "{}", value("cookie"));
        assert!(value("authorization").starts_with("[hidden: 10 bytes;"));
        assert!(value("x-forwarded-for").starts_with("[hidden: 11 bytes;"));
        assert!(value("x-my-session-id").starts_with("[hidden: 2 bytes;"));
        assert_eq!(value("sec-websocket-key"), "dGhlIHNhbXBsZSBub25jZQ==");
        assert_eq!(value("origin"), "http://evil.example");
    }

    #[test]
    fn a_huge_request_head_gives_a_bounded_report_that_says_what_it_left_out() {
        let mut request = Request::get(format!("/ws?inspect&{}", "q".repeat(5000))).body(()).unwrap();
        for index in 0..90 {
            let name = HeaderName::try_from(format!("x-filler-{index}")).unwrap();
            request.headers_mut().insert(name, HeaderValue::try_from("v".repeat(4000)).unwrap());
        }
        let parsed = report(&request);
        assert!(parsed["request"]["line"].as_str().unwrap().ends_with(" bytes in all)"));
        let headers = parsed["request"]["headers"].as_array().unwrap();
        let last = headers.last().unwrap();
        assert_eq!(last[0], "…");
        assert!(last[1].as_str().unwrap().contains("more headers not shown"), "{last}");
        assert!(headers[0][1].as_str().unwrap().ends_with("(4000 bytes in all)"));
        assert_eq!(parsed["response"]["headers"][0][0], "sec-websocket-accept");
    }
}
