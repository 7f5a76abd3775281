//! What the server says about itself on a socket, as opposed to echoing: text
//! messages holding one JSON object whose first key is `"server"`. Only clients
//! that ask get them (`?inspect`, or a command on `/ws/lab`).

use hyper::header::HeaderMap;
use hyper::Request;

use super::protocol::{write_header, OP_TEXT};

/// JSON for a value (strings escaped as JSON requires).
pub(crate) fn json_value(value: impl Into<serde_json::Value>) -> String {
    value.into().to_string()
}

/// Appends a text frame holding `json`.
pub(crate) fn report(out: &mut Vec<u8>, json: &str) {
    write_header(out, true, OP_TEXT, json.len() as u64);
    out.extend_from_slice(json.as_bytes());
}

/// The handshake report: the upgrade request as the server received it and the
/// `101` response it sends, as one text frame. Header names are lowercase
/// because that is how hyper hands them over (HTTP/1 names are case-insensitive),
/// and come in the order they were received or set.
pub(crate) fn handshake<B>(request: &Request<B>, response: &str, response_headers: &HeaderMap) -> Vec<u8> {
    let request_line = format!("{} {} {:?}", request.method(), request.uri(), request.version());
    let json = format!(
        r#"{{"server":"handshake","request":{},"response":{}}}"#,
        head(&request_line, request.headers()),
        head(response, response_headers)
    );
    let mut frame = Vec::with_capacity(json.len() + 4);
    report(&mut frame, &json);
    frame
}

/// `{"line": …, "headers": [[name, value], …]}`.
fn head(line: &str, headers: &HeaderMap) -> String {
    let pairs: Vec<Vec<String>> = headers
        .iter()
        .map(|(name, value)| vec![name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned()])
        .collect();
    format!(r#"{{"line":{},"headers":{}}}"#, json_value(line), json_value(pairs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

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
}
